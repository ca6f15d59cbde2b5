/**
 * Message bodies in SQLite: a body up to one chunk is stored inline in `blobs.data`; a larger one in
 * `blob_chunks` rows of CHUNK_BYTES each, so reads and streams never need the whole body in memory.
 * Blobs are shared (one body, many mailbox copies and queue entries); triggers keep `refs`.
 */
import type { SqliteDatabase } from './database.ts';
import { StorageError } from '../../core/errors.ts';

export const CHUNK_BYTES = 512 * 1024;

/** A body source: buffers in order, read inside the write transaction. */
export interface BlobSource {
  size: number;
  /** Calls `emit` with consecutive pieces; each piece at most CHUNK_BYTES. */
  forEachChunk(emit: (chunk: Buffer) => void): void;
}

export class BlobTable {
  private readonly insertInline;
  private readonly insertEmpty;
  private readonly lastId;
  private readonly insertChunk;
  private readonly selectBlob;
  private readonly selectChunks;
  private readonly selectChunkRange;
  private readonly selectChunkTotals;
  private scratch: Buffer = Buffer.alloc(0);

  constructor(db: SqliteDatabase) {
    this.insertInline = db.prepare('INSERT INTO blobs (id, size, refs, data) VALUES (?, ?, ?, ?)');
    this.insertEmpty = db.prepare('INSERT INTO blobs (id, size, refs, data) VALUES (?, ?, ?, NULL)');
    this.lastId = db.prepare('SELECT max(id) FROM blobs').pluck();
    this.insertChunk = db.prepare('INSERT INTO blob_chunks (blob_id, seq, data) VALUES (?, ?, ?)');
    this.selectBlob = db.prepare('SELECT size, data FROM blobs WHERE id = ?');
    this.selectChunks = db.prepare('SELECT seq, data FROM blob_chunks WHERE blob_id = ? ORDER BY seq');
    // length() of a BLOB does not read its bytes, so this costs a few page reads however big the body is.
    this.selectChunkTotals = db.prepare('SELECT count(*) AS n, coalesce(sum(length(data)), 0) AS bytes FROM blob_chunks WHERE blob_id = ?');
    this.selectChunkRange = db.prepare('SELECT seq, data FROM blob_chunks WHERE blob_id = ? AND seq BETWEEN ? AND ? ORDER BY seq');
  }

  /**
   * The id the next blob gets: one past the largest, as SQLite picks a new rowid. Inside a write
   * transaction it is the caller's until its insert: the rows that will reference the blob can be written
   * first (see `insert`).
   */
  nextId(): number {
    return ((this.lastId.get() as number | null) ?? 0) + 1;
  }

  /**
   * Must run inside a write transaction. Returns the new blob id. `reserved`: the blob takes the id from
   * `nextId` and starts with `refs` references, the rows already written that point to it. A delivery writes
   * its message and queue rows first: their insert triggers then find no blob to count them on, and the
   * blob is written once with its count, instead of written and then rewritten whole (body included) by a
   * trigger per row.
   */
  insert(prefix: Buffer[], source: BlobSource, reserved?: { id: number; refs: number }): number {
    const prefixBytes = prefix.reduce((n, b) => n + b.length, 0);
    const size = prefixBytes + source.size;
    const given = reserved?.id ?? null;
    const refs = reserved?.refs ?? 0;
    if (size <= CHUNK_BYTES) {
      const parts = [...prefix];
      source.forEachChunk((c) => parts.push(c));
      return Number(this.insertInline.run(given, size, refs, this.assemble(parts, size)).lastInsertRowid);
    }
    const id = Number(this.insertEmpty.run(given, size, refs).lastInsertRowid);
    // Chunks are filled in the one scratch buffer (SQLite copies each bound blob), never concatenated.
    const chunk = this.scratchOf(CHUNK_BYTES).subarray(0, CHUNK_BYTES);
    let seq = 0;
    let filled = 0;
    const add = (part: Buffer): void => {
      for (let at = 0; at < part.length; ) {
        const n = part.copy(chunk, filled, at, Math.min(part.length, at + CHUNK_BYTES - filled));
        filled += n;
        at += n;
        if (filled === CHUNK_BYTES) {
          this.insertChunk.run(id, seq++, chunk);
          filled = 0;
        }
      }
    };
    prefix.forEach(add);
    source.forEachChunk(add);
    if (filled > 0) this.insertChunk.run(id, seq++, chunk.subarray(0, filled));
    return id;
  }

  /**
   * The parts as one contiguous buffer for a bind. SQLite copies a bound blob (better-sqlite3 binds with
   * SQLITE_TRANSIENT), so one scratch buffer is reused instead of a new allocation per message: fewer
   * external allocations means fewer garbage collections under load.
   */
  private assemble(parts: Buffer[], size: number): Buffer {
    if (parts.length === 1) return parts[0]!;
    const scratch = this.scratchOf(size);
    let offset = 0;
    for (const part of parts) offset += part.copy(scratch, offset);
    return scratch.subarray(0, size);
  }

  /** The scratch buffer, at least `size` bytes (it grows by doubling up to one chunk). */
  private scratchOf(size: number): Buffer {
    if (this.scratch.length < size) this.scratch = Buffer.allocUnsafe(Math.max(size, Math.min(2 * this.scratch.length, CHUNK_BYTES)));
    return this.scratch;
  }

  /** Bytes [start, end) of the blob. */
  read(blobId: number, start: number, end: number): Buffer {
    const row = this.selectBlob.get(blobId) as { size: number; data: Buffer | null } | undefined;
    if (!row) throw new StorageError(`blob ${blobId} is missing`);
    end = Math.min(end, row.size);
    if (start >= end) return Buffer.alloc(0);
    if (row.data) {
      // better-sqlite3 hands out a fresh copy of the column: the whole body is returned as it is; a part is
      // copied so that it does not keep the rest of the body alive.
      const data = checkedInline(blobId, row);
      return start === 0 && end === data.length ? data : Buffer.from(data.subarray(start, end));
    }
    const first = Math.floor(start / CHUNK_BYTES);
    const last = Math.floor((end - 1) / CHUNK_BYTES);
    const rows = this.selectChunkRange.all(blobId, first, last) as { seq: number; data: Buffer }[];
    if (rows.length !== last - first + 1) throw new StorageError(`blob ${blobId} is truncated`);
    rows.forEach((r) => checkChunk(blobId, row.size, r));
    const parts = rows.map((r) => {
      const base = r.seq * CHUNK_BYTES;
      return r.data.subarray(Math.max(0, start - base), Math.min(r.data.length, end - base));
    });
    return Buffer.concat(parts, end - start);
  }

  /** Streams bytes [start, end) chunk by chunk. */
  async *stream(blobId: number, start: number, end: number): AsyncGenerator<Buffer> {
    const row = this.selectBlob.get(blobId) as { size: number; data: Buffer | null } | undefined;
    if (!row) throw new StorageError(`blob ${blobId} is missing`);
    end = Math.min(end, row.size);
    if (row.data) {
      if (start < end) yield checkedInline(blobId, row).subarray(start, end);
      return;
    }
    // Fail before the first byte, so a caller that has not answered yet can still say NO / -ERR.
    const totals = this.selectChunkTotals.get(blobId) as { n: number; bytes: number };
    if (totals.bytes !== row.size || totals.n !== Math.ceil(row.size / CHUNK_BYTES)) throw new StorageError(`blob ${blobId} is truncated`);
    const first = Math.floor(start / CHUNK_BYTES);
    const last = Math.floor((end - 1) / CHUNK_BYTES);
    for (let seq = first; seq <= last; seq++) {
      const rows = this.selectChunkRange.all(blobId, seq, seq) as { seq: number; data: Buffer }[];
      if (rows.length !== 1) throw new StorageError(`blob ${blobId} is truncated`);
      const base = seq * CHUNK_BYTES;
      const data = checkChunk(blobId, row.size, rows[0]!);
      yield data.subarray(Math.max(0, start - base), Math.min(data.length, end - base));
    }
  }

  /** Verifies the chunks of a blob add up to its size (used by the start-up check). */
  isIntact(blobId: number): boolean {
    const row = this.selectBlob.get(blobId) as { size: number; data: Buffer | null } | undefined;
    if (!row) return false;
    if (row.data) return row.data.length === row.size;
    const rows = this.selectChunks.all(blobId) as { seq: number; data: Buffer }[];
    let total = 0;
    for (let i = 0; i < rows.length; i++) {
      if (rows[i]!.seq !== i) return false;
      total += rows[i]!.data.length;
    }
    return total === row.size;
  }
}

// A damaged body must fail loudly, never come back short (a short read would desynchronise a literal or a
// POP3 transfer whose length was announced from `size`).
function checkedInline(blobId: number, row: { size: number; data: Buffer | null }): Buffer {
  if (row.data!.length !== row.size) throw new StorageError(`blob ${blobId} is truncated`);
  return row.data!;
}

function checkChunk(blobId: number, size: number, chunk: { seq: number; data: Buffer }): Buffer {
  const expected = Math.min(CHUNK_BYTES, size - chunk.seq * CHUNK_BYTES);
  if (chunk.data.length !== expected) throw new StorageError(`blob ${blobId} is truncated`);
  return chunk.data;
}
