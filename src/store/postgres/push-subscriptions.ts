/**
 * JMAP push subscriptions (RFC 8620 §7.2) on PostgreSQL (the SQLite backend's push-subscriptions.ts, table
 * for table): removed with the account or app password they were made with, and when they expire.
 */
import type pg from 'pg';
import type { PushSubscriptionStore } from '../types.ts';
import { PUSH_SUBSCRIPTION_COLUMNS, pushSubscriptionValues, toPushSubscription, type PushSubscriptionRow } from '../sqlite/push-subscriptions.ts';

export function pgPushSubscriptionStore(deps: { pool: pg.Pool }): PushSubscriptionStore {
  const { pool } = deps;
  return {
    async listPushSubscriptions(accountId) {
      return (await pool.query<PushSubscriptionRow>('SELECT * FROM push_subscriptions WHERE account_id = $1 ORDER BY created_at, id', [accountId])).rows.map(toPushSubscription);
    },
    async listAllPushSubscriptions() {
      return (await pool.query<PushSubscriptionRow>('SELECT * FROM push_subscriptions ORDER BY created_at, id')).rows.map(toPushSubscription);
    },
    async addPushSubscription(record) {
      await pool.query(`INSERT INTO push_subscriptions (${PUSH_SUBSCRIPTION_COLUMNS}) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14)`, pushSubscriptionValues(record));
    },
    async updatePushSubscription(id, patch) {
      const sets: string[] = [];
      const values: unknown[] = [id];
      if (patch.verified !== undefined) sets.push(`verified = $${values.push(patch.verified)}`);
      if (patch.expires !== undefined) sets.push(`expires = $${values.push(patch.expires.getTime())}`);
      if (patch.types !== undefined) sets.push(`types = $${values.push(patch.types === null ? null : JSON.stringify(patch.types))}`);
      if (sets.length === 0) return ((await pool.query('SELECT 1 FROM push_subscriptions WHERE id = $1', [id])).rowCount ?? 0) > 0;
      return ((await pool.query(`UPDATE push_subscriptions SET ${sets.join(', ')} WHERE id = $1`, values)).rowCount ?? 0) > 0;
    },
    async removePushSubscription(id) {
      return ((await pool.query('DELETE FROM push_subscriptions WHERE id = $1', [id])).rowCount ?? 0) > 0;
    },
    async removeExpiredPushSubscriptions(now) {
      return (await pool.query<{ id: string }>('DELETE FROM push_subscriptions WHERE expires <= $1 RETURNING id', [now.getTime()])).rows.map((r) => r.id);
    },
  };
}
