/**
 * JMAP uploads (RFC 8620 §6.1) and login-session access tokens on SQLite: both belong to one account (gone
 * with it) and expire. An upload is written chunk by chunk as it arrives and read back the same way
 * (../upload-rows.ts, shared with PostgreSQL).
 */
import type { AccessTokenStore, StoredUpload, UploadRecord, UploadStore } from '../types.ts';
import { accessTokenFromRow, readUploadChunks, writeUploadChunks, type AccessTokenRow } from '../upload-rows.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';

interface UploadRow {
  account_id: number;
  blob_id: string;
  type: string;
  size: number;
  created_at: number;
  expires_at: number;
}

function toUpload(row: UploadRow): UploadRecord {
  return { accountId: row.account_id, blobId: row.blob_id, type: row.type, size: row.size, createdAt: new Date(row.created_at), expiresAt: new Date(row.expires_at) };
}

export function sqliteUploadStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed }): UploadStore & AccessTokenStore {
  const { db, changes } = deps;
  const q = {
    addUpload: db.prepare('INSERT INTO uploads (account_id, blob_id, type, size, complete, created_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?)'),
    completeUpload: db.prepare('UPDATE uploads SET size = ?, complete = 1 WHERE account_id = ? AND blob_id = ?'),
    addChunk: db.prepare('INSERT INTO upload_chunks (account_id, blob_id, seq, data) VALUES (?, ?, ?, ?)'),
    removeUpload: db.prepare('DELETE FROM uploads WHERE account_id = ? AND blob_id = ?'),
    getUpload: db.prepare('SELECT account_id, blob_id, type, size, created_at, expires_at FROM uploads WHERE account_id = ? AND blob_id = ? AND complete = 1 AND expires_at >= ?'),
    // length() of a BLOB reads no bytes: a few page reads however big the upload is.
    chunkTotals: db.prepare('SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS bytes FROM upload_chunks WHERE account_id = ? AND blob_id = ?'),
    getChunk: db.prepare('SELECT data FROM upload_chunks WHERE account_id = ? AND blob_id = ? AND seq = ?').pluck(),
    expireUploads: db.prepare('DELETE FROM uploads WHERE expires_at < ?'),
    addToken: db.prepare('INSERT INTO access_tokens (token_hash, account_id, label, credential, app_password_id, created_at, expires_at, scope) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
    getToken: db.prepare('SELECT * FROM access_tokens WHERE token_hash = ?'),
    listTokens: db.prepare('SELECT * FROM access_tokens WHERE account_id = ? ORDER BY created_at'),
    removeToken: db.prepare('DELETE FROM access_tokens WHERE account_id = ? AND token_hash = ?'),
    expireTokens: db.prepare('DELETE FROM access_tokens WHERE expires_at < ?'),
  };
  return {
    async addUpload(input) {
      const { accountId, blobId, type } = input;
      const now = Date.now();
      // Each write a short transaction of the group commit: a slow client never holds the writer.
      const size = await writeUploadChunks(input.body, {
        write: ({ seq, chunk, isLast, size: total }) => changes.write(() => {
          if (seq === 0) q.addUpload.run(accountId, blobId, type, isLast ? total : 0, isLast ? 1 : 0, now, input.expiresAt.getTime());
          else if (isLast) q.completeUpload.run(total, accountId, blobId);
          if (chunk) q.addChunk.run(accountId, blobId, seq, chunk);
        }),
        remove: async () => {
          await changes.write(() => q.removeUpload.run(accountId, blobId));
        },
      });
      return { accountId, blobId, type, size, createdAt: new Date(now), expiresAt: input.expiresAt };
    },
    async getUpload(accountId, blobId, now) {
      const row = q.getUpload.get(accountId, blobId, now.getTime()) as UploadRow | undefined;
      if (!row) return null;
      const record = toUpload(row);
      const stored: StoredUpload = {
        ...record,
        stream: () => readUploadChunks(blobId, record.size, {
          storedBytes: async () => (q.chunkTotals.get(accountId, blobId) as { bytes: number }).bytes,
          chunk: async (seq) => q.getChunk.get(accountId, blobId, seq) as Buffer | undefined,
        }),
      };
      return stored;
    },
    async removeExpiredUploads(now) {
      return changes.write(() => q.expireUploads.run(now.getTime()).changes);
    },
    async addAccessToken(record) {
      await changes.write(() => q.addToken.run(record.tokenHash, record.accountId, record.label, record.credential, record.appPasswordId, record.createdAt.getTime(), record.expiresAt.getTime(), record.scope));
    },
    async getAccessToken(tokenHash) {
      const row = q.getToken.get(tokenHash) as AccessTokenRow | undefined;
      return row ? accessTokenFromRow(row) : null;
    },
    async listAccessTokens(accountId) {
      return (q.listTokens.all(accountId) as AccessTokenRow[]).map(accessTokenFromRow);
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
