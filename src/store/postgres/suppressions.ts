/**
 * The suppression list on PostgreSQL (addresses that bounced permanently, from VERP bounce processing):
 * shared by every node, so a bounce seen by one stops the sends of all.
 */
import type pg from 'pg';
import type { SuppressionRecord, SuppressionStore } from '../types.ts';
import type { PgChangeFeed } from './change-feed.ts';

export function pgSuppressionStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): SuppressionStore {
  const { pool, changes } = deps;
  return {
    async addSuppression(address, reason) {
      await changes.write((c) => c.query('INSERT INTO suppressions (address, reason, created_at) VALUES ($1, $2, $3) ON CONFLICT (address) DO UPDATE SET reason = excluded.reason', [address.toLowerCase(), reason, Date.now()]));
    },
    async isSuppressed(address) {
      return (await pool.query('SELECT 1 FROM suppressions WHERE address = $1', [address.toLowerCase()])).rows.length > 0;
    },
    async listSuppressions() {
      return (await pool.query<{ address: string; reason: string | null; created_at: number }>('SELECT address, reason, created_at FROM suppressions ORDER BY address')).rows
        .map((r): SuppressionRecord => ({ address: r.address, reason: r.reason ?? '', createdAt: new Date(r.created_at) }));
    },
    async removeSuppression(address) {
      return changes.write(async (c) => ((await c.query('DELETE FROM suppressions WHERE address = $1', [address.toLowerCase()])).rowCount ?? 0) > 0);
    },
  };
}
