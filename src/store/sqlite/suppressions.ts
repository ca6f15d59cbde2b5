/**
 * The suppression list (addresses that bounced permanently, from VERP bounce processing): later sends skip them.
 */
import type { SqliteDatabase } from './database.ts';
import type { GroupCommit } from './group-commit.ts';
import type { SuppressionRecord, SuppressionStore } from '../types.ts';

export function sqliteSuppressionStore(deps: { db: SqliteDatabase; commits: GroupCommit }): SuppressionStore {
  const { db, commits } = deps;
  const q = {
    add: db.prepare('INSERT INTO suppressions (address, reason, created_at) VALUES (?, ?, ?) ON CONFLICT(address) DO UPDATE SET reason = excluded.reason'),
    get: db.prepare('SELECT 1 FROM suppressions WHERE address = ?'),
    list: db.prepare('SELECT address, reason, created_at FROM suppressions ORDER BY address'),
    remove: db.prepare('DELETE FROM suppressions WHERE address = ?'),
  };
  return {
    async addSuppression(address, reason) {
      await commits.run(() => q.add.run(address.toLowerCase(), reason, Date.now()));
    },
    async isSuppressed(address) {
      return q.get.get(address.toLowerCase()) !== undefined;
    },
    async listSuppressions() {
      return (q.list.all() as { address: string; reason: string | null; created_at: number }[]).map((r): SuppressionRecord => ({ address: r.address, reason: r.reason ?? '', createdAt: new Date(r.created_at) }));
    },
    async removeSuppression(address) {
      return commits.run(() => q.remove.run(address.toLowerCase()).changes > 0);
    },
  };
}
