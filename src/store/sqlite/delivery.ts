/**
 * The write side of message acceptance (maddy's StartDelivery → Body → Commit | Abort): body bytes are
 * held in memory, spilled to a temp file past a threshold so memory per message stays bounded, and become
 * persistent only in `commit`, which stores the body once and adds every mailbox copy and the queue entry
 * in one group-committed transaction.
 */
import { closeSync, mkdirSync, openSync, readSync, unlinkSync, writeSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import type { CommitResult, DeliveryPlan, DeliveryTransaction, WriteOptions } from '../types.ts';
import { CHUNK_BYTES, type BlobSource } from './blobs.ts';

/** Bytes of a message kept in memory before it moves to a spool file: many stalled transfers stay cheap. */
export const SPOOL_THRESHOLD_BYTES = 256 * 1024;

/** A body being received: memory first, then a temp file. */
export class SpooledBody implements BlobSource {
  private chunks: Buffer[] = [];
  private fd: number | null = null;
  private path: string | null = null;
  size = 0;
  private readonly tmpDir: string;

  constructor(tmpDir: string) {
    this.tmpDir = tmpDir;
  }

  write(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.size += chunk.length;
    if (this.fd !== null) {
      writeAll(this.fd, chunk);
      return;
    }
    this.chunks.push(chunk);
    if (this.size > SPOOL_THRESHOLD_BYTES) {
      mkdirSync(this.tmpDir, { recursive: true, mode: 0o700 });
      this.path = join(this.tmpDir, `spool-${process.pid}-${randomBytes(8).toString('hex')}`);
      this.fd = openSync(this.path, 'w+', 0o600);
      for (const c of this.chunks) writeAll(this.fd, c);
      this.chunks = [];
    }
  }

  /** The bytes so far: in memory (joined once) or in the spool file. */
  ref(): { data: Buffer } | { path: string; size: number } {
    if (this.fd !== null && this.path !== null) return { path: this.path, size: this.size };
    if (this.chunks.length !== 1) this.chunks = [Buffer.concat(this.chunks, this.size)];
    return { data: this.chunks[0]! };
  }

  /** The first `maxBytes` bytes (or all when shorter): where the header is, for indexing at commit. */
  head(maxBytes: number): Buffer {
    const n = Math.min(maxBytes, this.size);
    if (this.fd === null) {
      const out: Buffer[] = [];
      let got = 0;
      for (const c of this.chunks) {
        if (got >= n) break;
        const part = c.subarray(0, n - got);
        out.push(part);
        got += part.length;
      }
      return out.length === 1 ? out[0]! : Buffer.concat(out, got);
    }
    const buf = Buffer.allocUnsafe(n);
    let got = 0;
    while (got < n) {
      const r = readSync(this.fd, buf, got, n - got, got);
      if (r <= 0) break;
      got += r;
    }
    return buf.subarray(0, got);
  }

  forEachChunk(emit: (chunk: Buffer) => void): void {
    if (this.fd === null) {
      for (const c of this.chunks) {
        for (let off = 0; off < c.length; off += CHUNK_BYTES) emit(c.subarray(off, off + CHUNK_BYTES));
      }
      return;
    }
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let position = 0;
    while (position < this.size) {
      const n = readSync(this.fd, buf, 0, Math.min(CHUNK_BYTES, this.size - position), position);
      if (n <= 0) throw new Error('spool file shorter than expected');
      emit(Buffer.from(buf.subarray(0, n)));
      position += n;
    }
  }

  dispose(): void {
    this.chunks = [];
    if (this.fd !== null) {
      try { closeSync(this.fd); } catch { /* already closed */ }
      this.fd = null;
    }
    if (this.path) {
      try { unlinkSync(this.path); } catch { /* already gone */ }
      this.path = null;
    }
  }
}

function writeAll(fd: number, chunk: Buffer): void {
  let off = 0;
  while (off < chunk.length) off += writeSync(fd, chunk, off, chunk.length - off);
}

export type CommitDelivery = (plan: DeliveryPlan, body: SpooledBody, options: { committed?: WriteOptions['committed'] }) => Promise<CommitResult>;

export class SqliteDeliveryTransaction implements DeliveryTransaction {
  private readonly body: SpooledBody;
  private readonly commitDelivery: CommitDelivery;
  private state: 'open' | 'committing' | 'done' = 'open';

  constructor(options: { tmpDir: string; commitDelivery: CommitDelivery }) {
    this.body = new SpooledBody(options.tmpDir);
    this.commitDelivery = options.commitDelivery;
  }

  get size(): number {
    return this.body.size;
  }

  write(chunk: Buffer): void {
    if (this.state !== 'open') throw new Error('delivery transaction is not open');
    this.body.write(chunk);
  }

  spooled(): { data: Buffer } | { path: string; size: number } {
    return this.body.ref();
  }

  async commit(plan: DeliveryPlan, options: { committed?: WriteOptions['committed'] } = {}): Promise<CommitResult> {
    if (this.state !== 'open') throw new Error('delivery transaction is not open');
    this.state = 'committing';
    try {
      return await this.commitDelivery(plan, this.body, options);
    } finally {
      this.state = 'done';
      this.body.dispose();
    }
  }

  /**
   * Hands the body to a commit of several transactions at once (MultiDelivery): the caller commits it
   * and then calls `done`, which disposes of the body whatever happened.
   */
  takeBody(): { body: SpooledBody; done: () => void } {
    if (this.state !== 'open') throw new Error('delivery transaction is not open');
    this.state = 'committing';
    return {
      body: this.body,
      done: () => {
        this.state = 'done';
        this.body.dispose();
      },
    };
  }

  abort(): void {
    if (this.state === 'done') return;
    this.state = 'done';
    this.body.dispose();
  }
}
