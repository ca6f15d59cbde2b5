/**
 * Run-time administration settings and admins' TOTP second factors on PostgreSQL (as SQLite's
 * admin-settings.ts), shared by every node.
 */
import type pg from 'pg';
import type { AdminSettingsStore } from '../types.ts';
import type { PgChangeFeed } from './change-feed.ts';

interface FactorRow {
  account_id: string;
  secret: string;
  confirmed: boolean;
  last_step: string;
  created_at: string;
}

export function pgAdminSettingsStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): AdminSettingsStore {
  const { pool, changes } = deps;
  return {
    async getSetting(key) {
      return (await pool.query<{ value: string }>('SELECT value FROM admin_settings WHERE key = $1', [key])).rows[0]?.value ?? null;
    },
    async setSetting(key, value) {
      await changes.write((c) => (value === null
        ? c.query('DELETE FROM admin_settings WHERE key = $1', [key])
        : c.query('INSERT INTO admin_settings (key, value, updated_at) VALUES ($1, $2, $3) ON CONFLICT (key) DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at', [key, value, Date.now()])));
    },
    async getSecondFactor(accountId) {
      const row = (await pool.query<FactorRow>('SELECT * FROM second_factors WHERE account_id = $1', [accountId])).rows[0];
      return row ? { accountId: Number(row.account_id), secret: row.secret, confirmed: row.confirmed, lastStep: Number(row.last_step), createdAt: new Date(Number(row.created_at)) } : null;
    },
    async putSecondFactor(r) {
      await changes.write((c) => c.query(
        'INSERT INTO second_factors (account_id, secret, confirmed, last_step, created_at) VALUES ($1, $2, $3, $4, $5) ON CONFLICT (account_id) DO UPDATE SET secret = excluded.secret, confirmed = excluded.confirmed, last_step = excluded.last_step, created_at = excluded.created_at',
        [r.accountId, r.secret, r.confirmed, r.lastStep, r.createdAt.getTime()]));
    },
    async useSecondFactorStep(accountId, step) {
      return changes.write(async (c) => ((await c.query('UPDATE second_factors SET last_step = $1 WHERE account_id = $2 AND last_step < $1', [step, accountId])).rowCount ?? 0) > 0);
    },
    async removeSecondFactor(accountId) {
      return changes.write(async (c) => ((await c.query('DELETE FROM second_factors WHERE account_id = $1', [accountId])).rowCount ?? 0) > 0);
    },
  };
}
