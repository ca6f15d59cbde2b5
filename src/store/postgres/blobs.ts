/**
 * Message bodies in PostgreSQL: one `blobs` row (size, reference count) and `blob_chunks` rows of at most
 * CHUNK_BYTES, so writes, reads and streams never hold a whole big body. Shared by every mailbox copy and
 * queue entry of a message; triggers keep `refs` and drop a body with its last reference. This file is
 * the only one that knows where bytes live (the PostgreSQL store ADR in docs/decisions says how they would move to an object store).
 */
import { open } from 'node:fs/promises';
import type pg from 'pg';
import { StorageError } from '../../core/errors.ts';

export const CHUNK_BYTES = 512 * 1024;

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

/** A body to store: in memory, or the first `size` bytes of a spool file. */
export type BodySource = { data: Buffer } | { path: string; size: number };

/** The bytes of `prefix` then `body`, in pieces of exactly CHUNK_BYTES (the last one shorter). */
async function* chunksOf(prefix: Buffer[], body: BodySource): AsyncGenerator<Buffer> {
  let chunk = Buffer.allocUnsafe(CHUNK_BYTES);
  let filled = 0;
  function* add(part: Buffer): Generator<Buffer> {
    for (let at = 0; at < part.length; ) {
      const n = part.copy(chunk, filled, at, Math.min(part.length, at + CHUNK_BYTES - filled));
      filled += n;
      at += n;
      if (filled === CHUNK_BYTES) {
        yield chunk;
        chunk = Buffer.allocUnsafe(CHUNK_BYTES);
        filled = 0;
      }
    }
  }
  for (const part of prefix) yield* add(part);
  if ('data' in body) {
    yield* add(body.data);
  } else {
    const file = await open(body.path, 'r');
    try {
      const buf = Buffer.allocUnsafe(CHUNK_BYTES);
      for (let position = 0; position < body.size; ) {
        const { bytesRead } = await file.read(buf, 0, Math.min(CHUNK_BYTES, body.size - position), position);
        if (bytesRead <= 0) throw new Error('spool file shorter than expected');
        yield* add(buf.subarray(0, bytesRead));
        position += bytesRead;
      }
    } finally {
      await file.close();
    }
  }
  if (filled > 0) yield chunk.subarray(0, filled);
}

/** Stores a body inside the caller's transaction; returns the new blob id. One round trip up to one chunk. */
export async function insertBlob(client: pg.PoolClient, prefix: Buffer[], body: BodySource): Promise<number> {
  const size = prefix.reduce((n, b) => n + b.length, 0) + ('data' in body ? body.data.length : body.size);
  if (size <= CHUNK_BYTES) {
    const data = 'data' in body && prefix.every((p) => p.length === 0) ? body.data : await onePiece(prefix, body, size);
    const res = await client.query<{ id: number }>({
      name: 'pg-insert-blob1',
      text: 'WITH b AS (INSERT INTO blobs (size) VALUES ($1) RETURNING id) INSERT INTO blob_chunks (blob_id, seq, data) SELECT id, 0, $2 FROM b RETURNING blob_id AS id',
      values: [size, data],
    });
    return res.rows[0]!.id;
  }
  const id = (await client.query<{ id: number }>({ name: 'pg-insert-blob', text: 'INSERT INTO blobs (size) VALUES ($1) RETURNING id', values: [size] })).rows[0]!.id;
  let seq = 0;
  for await (const chunk of chunksOf(prefix, body)) {
    await client.query({ name: 'pg-insert-chunk', text: 'INSERT INTO blob_chunks (blob_id, seq, data) VALUES ($1, $2, $3)', values: [id, seq++, chunk] });
  }
  return id;
}

/** The bytes of `prefix` then `body` as one buffer: only for bodies of at most one chunk. */
export async function wholeBody(prefix: Buffer[], body: BodySource, size: number): Promise<Buffer> {
  return 'data' in body && prefix.every((p) => p.length === 0) ? body.data : onePiece(prefix, body, size);
}

async function onePiece(prefix: Buffer[], body: BodySource, size: number): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of chunksOf(prefix, body)) parts.push(c);
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts, size);
}

/**
 * Bytes [start, end) of a blob of `blobSize` bytes (the caller read the size with the row that points at
 * it). A missing or short chunk fails loudly, never returns fewer bytes than announced.
 */
export async function readBlob(db: Queryable, blobId: number, blobSize: number, start: number, end: number): Promise<Buffer> {
  end = Math.min(end, blobSize);
  if (start >= end) return Buffer.alloc(0);
  const first = Math.floor(start / CHUNK_BYTES);
  const last = Math.floor((end - 1) / CHUNK_BYTES);
  const rows = (await db.query<{ seq: number; data: Buffer }>({ name: 'pg-read-chunks', text: 'SELECT seq, data FROM blob_chunks WHERE blob_id = $1 AND seq BETWEEN $2 AND $3 ORDER BY seq', values: [blobId, first, last] })).rows;
  if (rows.length !== last - first + 1) throw new StorageError(`blob ${blobId} is truncated`);
  const parts = rows.map((r) => {
    const data = checkChunk(blobId, blobSize, r);
    const base = r.seq * CHUNK_BYTES;
    return data.subarray(Math.max(0, start - base), Math.min(data.length, end - base));
  });
  return parts.length === 1 ? Buffer.from(parts[0]!) : Buffer.concat(parts, end - start);
}

/** Streams bytes [start, end) one chunk (one query) at a time. */
export async function* streamBlob(db: Queryable, blobId: number, blobSize: number, start: number, end: number): AsyncGenerator<Buffer> {
  end = Math.min(end, blobSize);
  if (start >= end) return;
  // Fail before the first byte, so a caller that has not answered yet can still say NO / -ERR.
  const totals = (await db.query<{ n: number; bytes: number }>({ name: 'pg-chunk-totals', text: 'SELECT count(*) AS n, coalesce(sum(octet_length(data)), 0) AS bytes FROM blob_chunks WHERE blob_id = $1', values: [blobId] })).rows[0]!;
  if (totals.bytes !== blobSize || totals.n !== Math.ceil(blobSize / CHUNK_BYTES)) throw new StorageError(`blob ${blobId} is truncated`);
  const first = Math.floor(start / CHUNK_BYTES);
  const last = Math.floor((end - 1) / CHUNK_BYTES);
  for (let seq = first; seq <= last; seq++) {
    const row = (await db.query<{ seq: number; data: Buffer }>({ name: 'pg-read-chunk', text: 'SELECT seq, data FROM blob_chunks WHERE blob_id = $1 AND seq = $2', values: [blobId, seq] })).rows[0];
    if (!row) throw new StorageError(`blob ${blobId} is truncated`);
    const data = checkChunk(blobId, blobSize, row);
    const base = seq * CHUNK_BYTES;
    yield data.subarray(Math.max(0, start - base), Math.min(data.length, end - base));
  }
}

function checkChunk(blobId: number, size: number, chunk: { seq: number; data: Buffer }): Buffer {
  const expected = Math.min(CHUNK_BYTES, size - chunk.seq * CHUNK_BYTES);
  if (chunk.data.length !== expected) throw new StorageError(`blob ${blobId} is truncated`);
  return chunk.data;
}
