/**
 * JMAP uploads and login-session access tokens on PostgreSQL (the SQLite backend's uploads.ts, table for
 * table): shared by every node, so an upload made through one node is read through another. An upload is
 * written chunk by chunk as it arrives, each chunk its own short write, and read back the same way.
 */
import type pg from 'pg';
import { StorageError } from '../../core/errors.ts';
import type { AccessTokenRecord, AccessTokenStore, StoredUpload, UploadStore } from '../types.ts';
import { uploadChunks } from '../upload-chunks.ts';
import type { PgChangeFeed } from './change-feed.ts';

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

function toToken(row: TokenRow): AccessTokenRecord {
  return {
    tokenHash: row.token_hash,
    accountId: Number(row.account_id),
    label: row.label,
    credential: row.credential,
    appPasswordId: row.app_password_id === null ? null : Number(row.app_password_id),
    createdAt: new Date(Number(row.created_at)),
    expiresAt: new Date(Number(row.expires_at)),
    scope: row.scope === 'admin' ? 'admin' : 'session',
  };
}

export function pgUploadStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): UploadStore & AccessTokenStore {
  const { pool, changes } = deps;
  return {
    async addUpload(input) {
      const { accountId, blobId, type } = input;
      const now = Date.now();
      const chunks = uploadChunks(input.body)[Symbol.asyncIterator]();
      let next = await chunks.next();
      let seq = 0;
      let size = 0;
      try {
        // As on SQLite: a write per chunk (no transaction held open while the client sends), the row with
        // the first chunk, complete with the last.
        for (;;) {
          const chunk = next.done ? null : next.value;
          const after = next.done ? next : await chunks.next();
          const isLast = after.done === true;
          const at = seq;
          if (chunk) size += chunk.length;
          await changes.write(async (c) => {
            if (at === 0) {
              await c.query('INSERT INTO uploads (account_id, blob_id, type, size, complete, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)',
                [accountId, blobId, type, isLast ? size : 0, isLast, now, input.expiresAt.getTime()]);
            } else if (isLast) {
              await c.query('UPDATE uploads SET size = $1, complete = true WHERE account_id = $2 AND blob_id = $3', [size, accountId, blobId]);
            }
            if (chunk) await c.query({ name: 'pg-upload-chunk', text: 'INSERT INTO upload_chunks (account_id, blob_id, seq, data) VALUES ($1, $2, $3, $4)', values: [accountId, blobId, at, chunk] });
          });
          seq++;
          if (isLast) break;
          next = after;
        }
      } catch (err) {
        await chunks.return(undefined).catch(() => undefined);
        // Nothing half stored: the chunks go with their row (or with the expiry sweep if this fails too).
        if (seq > 0) await changes.write((c) => c.query('DELETE FROM uploads WHERE account_id = $1 AND blob_id = $2', [accountId, blobId])).catch(() => undefined);
        throw err;
      }
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
        async *stream() {
          // Fail before the first byte when chunks are missing, so a download can still answer an error.
          const totals = (await pool.query<{ bytes: string }>('SELECT coalesce(sum(octet_length(data)), 0) AS bytes FROM upload_chunks WHERE account_id = $1 AND blob_id = $2', [accountId, blobId])).rows[0]!;
          if (Number(totals.bytes) !== size) throw new StorageError(`upload ${blobId} is truncated`);
          for (let seq = 0, read = 0; read < size; seq++) {
            const chunk = (await pool.query<{ data: Buffer }>({ name: 'pg-upload-read', text: 'SELECT data FROM upload_chunks WHERE account_id = $1 AND blob_id = $2 AND seq = $3', values: [accountId, blobId, seq] })).rows[0];
            if (!chunk) throw new StorageError(`upload ${blobId} is truncated`);
            read += chunk.data.length;
            yield chunk.data;
          }
        },
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
      const row = (await pool.query<TokenRow>('SELECT * FROM access_tokens WHERE token_hash = $1', [tokenHash])).rows[0];
      return row ? toToken(row) : null;
    },
    async listAccessTokens(accountId) {
      return (await pool.query<TokenRow>('SELECT * FROM access_tokens WHERE account_id = $1 ORDER BY created_at', [accountId])).rows.map(toToken);
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
