/**
 * JMAP uploads and login-session access tokens on PostgreSQL (the SQLite backend's uploads.ts, table for
 * table, the logic shared in ../upload-rows.ts): shared by every node, so an upload made through one node is
 * read through another.
 */
import type pg from 'pg';
import type { AccessTokenStore, StoredUpload, UploadStore } from '../types.ts';
import { accessTokenFromRow, readUploadChunks, writeUploadChunks, type AccessTokenRow } from '../upload-rows.ts';
import type { PgChangeFeed } from './change-feed.ts';

export function pgUploadStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): UploadStore & AccessTokenStore {
  const { pool, changes } = deps;
  return {
    async addUpload(input) {
      const { accountId, blobId, type } = input;
      const now = Date.now();
      const size = await writeUploadChunks(input.body, {
        write: ({ seq, chunk, isLast, size: total }) => changes.write(async (c) => {
          if (seq === 0) {
            await c.query('INSERT INTO uploads (account_id, blob_id, type, size, complete, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
              [accountId, blobId, type, isLast ? total : 0, isLast, now, input.expiresAt.getTime()]);
          } else if (isLast) {
            await c.query('UPDATE uploads SET size = $1, complete = true WHERE account_id = $2 AND blob_id = $3', [total, accountId, blobId]);
          }
          if (chunk) await c.query({ name: 'pg-upload-chunk', text: 'INSERT INTO upload_chunks (account_id, blob_id, seq, data) VALUES ($1, $2, $3, $4)', values: [accountId, blobId, seq, chunk] });
        }),
        remove: async () => {
          await changes.write((c) => c.query('DELETE FROM uploads WHERE account_id = $1 AND blob_id = $2', [accountId, blobId]));
        },
      });
      return { accountId, blobId, type, size, createdAt: new Date(now), expiresAt: input.expiresAt };
    },
    async getUpload(accountId, blobId, now) {
      const r = await pool.query<{ type: string; size: number; created_at: number; expires_at: number }>(
        'SELECT type, size, created_at, expires_at FROM uploads WHERE account_id = $1 AND blob_id = $2 AND complete AND expires_at >= $3', [accountId, blobId, now.getTime()]);
      const row = r.rows[0];
      if (!row) return null;
      const size = Number(row.size);
      const stored: StoredUpload = {
        accountId, blobId, type: row.type, size, createdAt: new Date(Number(row.created_at)), expiresAt: new Date(Number(row.expires_at)),
        stream: () => readUploadChunks(blobId, size, {
          storedBytes: async () => Number((await pool.query<{ bytes: string }>('SELECT coalesce(sum(octet_length(data)), 0) AS bytes FROM upload_chunks WHERE account_id = $1 AND blob_id = $2', [accountId, blobId])).rows[0]!.bytes),
          chunk: async (seq) => (await pool.query<{ data: Buffer }>({ name: 'pg-upload-read', text: 'SELECT data FROM upload_chunks WHERE account_id = $1 AND blob_id = $2 AND seq = $3', values: [accountId, blobId, seq] })).rows[0]?.data,
        }),
      };
      return stored;
    },
    async removeExpiredUploads(now) {
      return changes.write(async (c) => (await c.query('DELETE FROM uploads WHERE expires_at < $1', [now.getTime()])).rowCount ?? 0);
    },
    async addAccessToken(record) {
      await changes.write((c) => c.query('INSERT INTO access_tokens (token_hash, account_id, label, credential, app_password_id, created_at, expires_at, scope) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)',
        [record.tokenHash, record.accountId, record.label, record.credential, record.appPasswordId, record.createdAt.getTime(), record.expiresAt.getTime(), record.scope]));
    },
    async getAccessToken(tokenHash) {
      const row = (await pool.query<AccessTokenRow>('SELECT * FROM access_tokens WHERE token_hash = $1', [tokenHash])).rows[0];
      return row ? accessTokenFromRow(row) : null;
    },
    async listAccessTokens(accountId) {
      return (await pool.query<AccessTokenRow>('SELECT * FROM access_tokens WHERE account_id = $1 ORDER BY created_at', [accountId])).rows.map(accessTokenFromRow);
    },
    async removeAccessToken(accountId, tokenHash) {
      return changes.write(async (c, log) => {
        const removed = ((await c.query('DELETE FROM access_tokens WHERE account_id = $1 AND token_hash = $2', [accountId, tokenHash])).rowCount ?? 0) > 0;
        if (removed) log.push({ kind: 'account', accountId, event: 'credentials' });
        return removed;
      });
    },
    async removeExpiredAccessTokens(now) {
      return changes.write(async (c) => (await c.query('DELETE FROM access_tokens WHERE expires_at < $1', [now.getTime()])).rowCount ?? 0);
    },
  };
}
