/**
 * JMAP uploads and login-session access tokens on PostgreSQL (the SQLite backend's uploads.ts, table for
 * table): shared by every node, so an upload made through one node is read through another.
 */
import type pg from 'pg';
import type { AccessTokenRecord, AccessTokenStore, UploadStore } from '../types.ts';
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
      const now = Date.now();
      await changes.write((c) => c.query('INSERT INTO uploads (account_id, blob_id, type, size, data, created_at, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7)', [input.accountId, input.blobId, input.type, input.data.length, input.data, now, input.expiresAt.getTime()]));
      return { accountId: input.accountId, blobId: input.blobId, type: input.type, size: input.data.length, createdAt: new Date(now), expiresAt: input.expiresAt };
    },
    async getUpload(accountId, blobId, now) {
      const r = await pool.query<{ type: string; size: number; data: Buffer; created_at: number; expires_at: number }>(
        'SELECT type, size, data, created_at, expires_at FROM uploads WHERE account_id = $1 AND blob_id = $2 AND expires_at >= $3', [accountId, blobId, now.getTime()]);
      const row = r.rows[0];
      return row ? { accountId, blobId, type: row.type, size: Number(row.size), data: row.data, createdAt: new Date(Number(row.created_at)), expiresAt: new Date(Number(row.expires_at)) } : null;
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
