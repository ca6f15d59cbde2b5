/**
 * What both stores do alike for JMAP uploads and access tokens, over each backend's own SQL: an upload written one
 * short write per chunk as it arrives, read back chunk by chunk after a size check; the token row as its record.
 */
import { StorageError } from '../core/errors.ts';
import type { AccessTokenRecord } from './types.ts';
import { uploadChunks } from './upload-chunks.ts';

export interface UploadChunkWriter {
  /**
   * One write of its own (no transaction held open while the client sends): with `seq` 0 the upload's row
   * (complete when `isLast`), else with `isLast` the row marked complete with its `size`; then the chunk, if any.
   */
  write(step: { seq: number; chunk: Buffer | null; isLast: boolean; size: number }): Promise<void>;
  /** Removes the upload's row and the chunks written so far. */
  remove(): Promise<void>;
}

/** Writes `body` through `writer`; returns its size. On failure nothing is left half stored. */
export async function writeUploadChunks(body: AsyncIterable<Buffer> | Buffer, writer: UploadChunkWriter): Promise<number> {
  const chunks = uploadChunks(body)[Symbol.asyncIterator]();
  let next = await chunks.next();
  let seq = 0;
  let size = 0;
  try {
    // One look-ahead: the write of the last chunk also marks the upload complete.
    for (;;) {
      const chunk = next.done ? null : next.value;
      const after = next.done ? next : await chunks.next();
      const isLast = after.done === true;
      if (chunk) size += chunk.length;
      await writer.write({ seq, chunk, isLast, size });
      seq++;
      if (isLast) return size;
      next = after;
    }
  } catch (err) {
    await chunks.return(undefined).catch(() => undefined);
    // The chunks go with their row (or with the expiry sweep if this fails too).
    if (seq > 0) await writer.remove().catch(() => undefined);
    throw err;
  }
}

export interface UploadChunkReader {
  /** The bytes of every chunk stored for the upload (read without reading the chunks where the backend can). */
  storedBytes(): Promise<number>;
  chunk(seq: number): Promise<Buffer | undefined>;
}

/** The upload's bytes in order; fails before the first byte when chunks are missing, so a download can still answer an error. */
export async function* readUploadChunks(blobId: string, size: number, reader: UploadChunkReader): AsyncGenerator<Buffer> {
  if ((await reader.storedBytes()) !== size) throw new StorageError(`upload ${blobId} is truncated`);
  for (let seq = 0, read = 0; read < size; seq++) {
    const data = await reader.chunk(seq);
    if (data === undefined) throw new StorageError(`upload ${blobId} is truncated`);
    read += data.length;
    yield data;
  }
}

/** An access_tokens row as both backends return it (PostgreSQL's BIGINTs may come as strings). */
export interface AccessTokenRow {
  token_hash: string;
  account_id: number | string;
  label: string;
  credential: string;
  app_password_id: number | string | null;
  created_at: number | string;
  expires_at: number | string;
  scope: string;
}

export function accessTokenFromRow(row: AccessTokenRow): AccessTokenRecord {
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
