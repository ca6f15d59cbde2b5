/**
 * Run-time administration settings (JSON text under a key) and admins' TOTP second factors on SQLite.
 */
import type { AdminSettingsStore, SecondFactorRecord } from '../types.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';

interface FactorRow {
  account_id: number;
  secret: string;
  confirmed: number;
  last_step: number;
  created_at: number;
}

export function sqliteAdminSettingsStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed }): AdminSettingsStore {
  const { db, changes } = deps;
  const q = {
    get: db.prepare('SELECT value FROM admin_settings WHERE key = ?'),
    put: db.prepare('INSERT INTO admin_settings (key, value, updated_at) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at'),
    remove: db.prepare('DELETE FROM admin_settings WHERE key = ?'),
    getFactor: db.prepare('SELECT * FROM second_factors WHERE account_id = ?'),
    putFactor: db.prepare('INSERT OR REPLACE INTO second_factors (account_id, secret, confirmed, last_step, created_at) VALUES (?, ?, ?, ?, ?)'),
    useStep: db.prepare('UPDATE second_factors SET last_step = ? WHERE account_id = ? AND last_step < ?'),
    removeFactor: db.prepare('DELETE FROM second_factors WHERE account_id = ?'),
  };
  return {
    async getSetting(key) {
      return (q.get.get(key) as { value: string } | undefined)?.value ?? null;
    },
    async setSetting(key, value) {
      await changes.write(() => (value === null ? q.remove.run(key) : q.put.run(key, value, Date.now())));
    },
    async getSecondFactor(accountId) {
      const row = q.getFactor.get(accountId) as FactorRow | undefined;
      return row ? { accountId: row.account_id, secret: row.secret, confirmed: row.confirmed === 1, lastStep: row.last_step, createdAt: new Date(row.created_at) } satisfies SecondFactorRecord : null;
    },
    async putSecondFactor(r) {
      await changes.write(() => q.putFactor.run(r.accountId, r.secret, r.confirmed ? 1 : 0, r.lastStep, r.createdAt.getTime()));
    },
    async useSecondFactorStep(accountId, step) {
      return changes.write(() => q.useStep.run(step, accountId, step).changes > 0);
    },
    async removeSecondFactor(accountId) {
      return changes.write(() => q.removeFactor.run(accountId).changes > 0);
    },
  };
}
