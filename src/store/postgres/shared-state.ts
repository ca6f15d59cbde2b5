/**
 * SharedStateStore on PostgreSQL: the small state nodes must agree on (greylisting, DKIM keys, login
 * failures) as JSON rows by namespace and key with an optional expiry. Plain writes are one autocommit
 * upsert; announced writes go through the group commit with a `shared` change every node hears.
 */
import type pg from 'pg';
import type { SharedStateStore } from '../types.ts';
import type { PgChangeFeed } from './change-feed.ts';

const PRUNE_EVERY_MS = 60_000;

export function pgSharedStateStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): SharedStateStore & { stopPruning(): void } {
  const { pool, changes } = deps;
  const upsert = 'INSERT INTO shared_state (namespace, key, value, expires_at) VALUES ($1, $2, $3, $4) ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at';
  const timer = setInterval(() => {
    pool.query('DELETE FROM shared_state WHERE expires_at < $1', [Date.now()]).catch(() => undefined);
  }, PRUNE_EVERY_MS);
  timer.unref();
  return {
    async getShared(namespace, key) {
      const row = (await pool.query<{ value: unknown }>({
        name: 'pg-shared-get',
        text: 'SELECT value FROM shared_state WHERE namespace = $1 AND key = $2 AND (expires_at IS NULL OR expires_at > $3)',
        values: [namespace, key, Date.now()],
      })).rows[0];
      return row?.value;
    },
    async putShared(namespace, key, value, options = {}) {
      const values = [namespace, key, JSON.stringify(value), options.expiresAt ? options.expiresAt.getTime() : null];
      if (!options.announce) {
        await pool.query({ name: 'pg-shared-put', text: upsert, values });
        return;
      }
      await changes.write(async (c, log) => {
        await c.query({ name: 'pg-shared-put', text: upsert, values });
        log.push({ kind: 'shared', namespace, key, value });
      });
    },
    async deleteShared(namespace, key, options = {}) {
      if (!options.announce) {
        await pool.query('DELETE FROM shared_state WHERE namespace = $1 AND key = $2', [namespace, key]);
        return;
      }
      await changes.write(async (c, log) => {
        await c.query('DELETE FROM shared_state WHERE namespace = $1 AND key = $2', [namespace, key]);
        log.push({ kind: 'shared', namespace, key });
      });
    },
    async listShared(namespace) {
      return (await pool.query<{ key: string; value: unknown }>(
        'SELECT key, value FROM shared_state WHERE namespace = $1 AND (expires_at IS NULL OR expires_at > $2) ORDER BY key',
        [namespace, Date.now()],
      )).rows;
    },
    stopPruning() {
      clearInterval(timer);
    },
  };
}
