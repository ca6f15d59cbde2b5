/**
 * JMAP uploads (RFC 8620 §6.1) and login-session access tokens on SQLite: both belong to one account (gone
 * with it) and expire. Uploads are kept whole in their row, up to `http.max_upload_size`.
 */
import type { AccessTokenRecord, AccessTokenStore, UploadRecord, UploadStore } from '../types.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';

interface UploadRow {
  account_id: number;
  blob_id: string;
  type: string;
  size: number;
  data: Buffer;
  created_at: number;
  expires_at: number;
}

interface TokenRow {
  token_hash: string;
  account_id: number;
  label: string;
  credential: string;
  app_password_id: number | null;
  created_at: number;
  expires_at: number;
  scope: string;
}

function toUpload(row: Omit<UploadRow, 'data'>): UploadRecord {
  return { accountId: row.account_id, blobId: row.blob_id, type: row.type, size: row.size, createdAt: new Date(row.created_at), expiresAt: new Date(row.expires_at) };
}

function toToken(row: TokenRow): AccessTokenRecord {
  return {
    tokenHash: row.token_hash,
    accountId: row.account_id,
    label: row.label,
    credential: row.credential,
    appPasswordId: row.app_password_id,
    createdAt: new Date(row.created_at),
    expiresAt: new Date(row.expires_at),
    scope: row.scope === 'admin' ? 'admin' : 'session',
  };
}

export function sqliteUploadStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed }): UploadStore & AccessTokenStore {
  const { db, changes } = deps;
  const q = {
    addUpload: db.prepare('INSERT INTO uploads (account_id, blob_id, type, size, data, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    getUpload: db.prepare('SELECT * FROM uploads WHERE account_id = ? AND blob_id = ? AND expires_at >= ?'),
    expireUploads: db.prepare('DELETE FROM uploads WHERE expires_at < ?'),
    addToken: db.prepare('INSERT INTO access_tokens (token_hash, account_id, label, credential, app_password_id, created_at, expires_at, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    getToken: db.prepare('SELECT * FROM access_tokens WHERE token_hash = ?'),
    listTokens: db.prepare('SELECT * FROM access_tokens WHERE account_id = ? ORDER BY created_at'),
    removeToken: db.prepare('DELETE FROM access_tokens WHERE account_id = ? AND token_hash = ?'),
    expireTokens: db.prepare('DELETE FROM access_tokens WHERE expires_at < ?'),
  };
  return {
    async addUpload(input) {
      const now = Date.now();
      await changes.write(() => q.addUpload.run(input.accountId, input.blobId, input.type, input.data.length, input.data, now, input.expiresAt.getTime()));
      return { accountId: input.accountId, blobId: input.blobId, type: input.type, size: input.data.length, createdAt: new Date(now), expiresAt: input.expiresAt };
    },
    async getUpload(accountId, blobId, now) {
      const row = q.getUpload.get(accountId, blobId, now.getTime()) as UploadRow | undefined;
      return row ? { ...toUpload(row), data: row.data } : null;
    },
    async removeExpiredUploads(now) {
      return changes.write(() => q.expireUploads.run(now.getTime()).changes);
    },
    async addAccessToken(record) {
      await changes.write(() => q.addToken.run(record.tokenHash, record.accountId, record.label, record.credential, record.appPasswordId, record.createdAt.getTime(), record.expiresAt.getTime(), record.scope));
    },
    async getAccessToken(tokenHash) {
      const row = q.getToken.get(tokenHash) as TokenRow | undefined;
      return row ? toToken(row) : null;
    },
    async listAccessTokens(accountId) {
      return (q.listTokens.all(accountId) as TokenRow[]).map(toToken);
    },
    async removeAccessToken(accountId, tokenHash) {
      return changes.write((log) => {
        const removed = q.removeToken.run(accountId, tokenHash).changes > 0;
        // Push connections opened with the token are ended by whoever watches the account's logins.
        if (removed) log.push({ kind: 'account', accountId, event: 'credentials' });
        return removed;
      });
    },
    async removeExpiredAccessTokens(now) {
      return changes.write(() => q.expireTokens.run(now.getTime()).changes);
    },
  };
}
