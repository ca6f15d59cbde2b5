/**
 * JMAP push subscriptions (RFC 8620 §7.2) on SQLite: one row each, removed with the account or the app
 * password they were made with (foreign keys), and when they expire.
 */
import type { PushSubscriptionRecord, PushSubscriptionStore } from '../types.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';

export interface PushSubscriptionRow {
  id: string;
  account_id: number | string;
  app_password_id: number | string | null;
  credential: string | null;
  access_token: string | null;
  device_client_id: string;
  url: string;
  key_p256dh: string | null;
  key_auth: string | null;
  verification_code: string;
  verified: number | boolean;
  expires: number | string;
  types: string | null;
  created_at: number | string;
}

export function toPushSubscription(row: PushSubscriptionRow): PushSubscriptionRecord {
  return {
    id: row.id,
    accountId: Number(row.account_id),
    appPasswordId: row.app_password_id === null ? null : Number(row.app_password_id),
    credential: row.credential,
    accessToken: row.access_token,
    deviceClientId: row.device_client_id,
    url: row.url,
    keys: row.key_p256dh !== null && row.key_auth !== null ? { p256dh: row.key_p256dh, auth: row.key_auth } : null,
    verificationCode: row.verification_code,
    verified: row.verified === true || row.verified === 1,
    expires: new Date(Number(row.expires)),
    types: row.types === null ? null : (JSON.parse(row.types) as string[]),
    createdAt: new Date(Number(row.created_at)),
  };
}

/** The row's values in column order (INSERT below). */
export function pushSubscriptionValues(r: PushSubscriptionRecord): unknown[] {
  return [r.id, r.accountId, r.appPasswordId, r.credential, r.deviceClientId, r.url, r.keys?.p256dh ?? null, r.keys?.auth ?? null, r.verificationCode, r.verified, r.expires.getTime(), r.types === null ? null : JSON.stringify(r.types), r.createdAt.getTime(), r.accessToken];
}

export const PUSH_SUBSCRIPTION_COLUMNS = 'id, account_id, app_password_id, credential, device_client_id, url, key_p256dh, key_auth, verification_code, verified, expires, types, created_at, access_token';

export function sqlitePushSubscriptionStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed }): PushSubscriptionStore {
  const { db, changes } = deps;
  const q = {
    list: db.prepare('SELECT * FROM push_subscriptions WHERE account_id = ? ORDER BY created_at, id'),
    all: db.prepare('SELECT * FROM push_subscriptions ORDER BY created_at, id'),
    add: db.prepare(`INSERT INTO push_subscriptions (${PUSH_SUBSCRIPTION_COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
    get: db.prepare('SELECT * FROM push_subscriptions WHERE id = ?'),
    update: db.prepare('UPDATE push_subscriptions SET verified = ?, expires = ?, types = ? WHERE id = ?'),
    remove: db.prepare('DELETE FROM push_subscriptions WHERE id = ?'),
    expired: db.prepare('DELETE FROM push_subscriptions WHERE expires <= ? RETURNING id'),
  };
  return {
    async listPushSubscriptions(accountId) {
      return (q.list.all(accountId) as PushSubscriptionRow[]).map(toPushSubscription);
    },
    async listAllPushSubscriptions() {
      return (q.all.all() as PushSubscriptionRow[]).map(toPushSubscription);
    },
    async addPushSubscription(record) {
      const values = pushSubscriptionValues(record);
      values[9] = record.verified ? 1 : 0;
      await changes.write(() => q.add.run(...values));
    },
    async updatePushSubscription(id, patch) {
      return changes.write(() => {
        const row = q.get.get(id) as PushSubscriptionRow | undefined;
        if (!row) return false;
        const r = toPushSubscription(row);
        const verified = patch.verified ?? r.verified;
        const types = patch.types === undefined ? r.types : patch.types;
        q.update.run(verified ? 1 : 0, (patch.expires ?? r.expires).getTime(), types === null ? null : JSON.stringify(types), id);
        return true;
      });
    },
    async removePushSubscription(id) {
      return changes.write(() => q.remove.run(id).changes > 0);
    },
    async removeExpiredPushSubscriptions(now) {
      return changes.write(() => (q.expired.all(now.getTime()) as { id: string }[]).map((r) => r.id));
    },
  };
}
