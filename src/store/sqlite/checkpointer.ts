/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside a COMMIT on the committing
 * connection: with 100 KB messages that is a copy of ~16 MiB into the database file plus two fsyncs, every
 * ~160 messages, on the event loop. Instead a worker thread with its own connection copies committed frames
 * (PRAGMA wal_checkpoint(PASSIVE), which never blocks the writer) while the main thread keeps serving.
 *
 * SQLite starts the WAL over only when a write transaction begins with every frame already copied. Frames
 * keep arriving while the worker copies, so after each worker pass the main connection copies the few
 * frames written meanwhile itself, between two transactions (GroupCommit calls `catchUp`); the next
 * transaction then reuses the WAL from its start and the file stays bounded. A large wal_autocheckpoint
 * stays on the main connection as a backstop should the worker fall behind or fail.
 *
 * Durability is SQLite's own: a checkpoint fsyncs the WAL before copying and the database after, whichever
 * connection runs it. Processes that write only briefly (the CLI, most tests) never start the worker.
 */
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './database.ts';

/** The worker starts once commits have gone on for this long. */
const START_AFTER_MS = 250;
/** Least time between two worker runs (each run copies what was committed since the last one). */
const INTERVAL_MS = 50;
/** SQLite's default autocheckpoint, used while no worker runs. */
const DEFAULT_AUTOCHECKPOINT_FRAMES = 1000;
/** The backstop while the worker runs: 8192 frames (128 MiB of 16 KiB pages). */
const BACKSTOP_AUTOCHECKPOINT_FRAMES = 8192;
const CLOSE_WAIT_MS = 5000;

interface PassReport {
  passes: number;
  frames: number;
  busy: boolean;
  ms: number;
}

export interface CheckpointStats {
  workerRuns: number;
  workerFrames: number;
  catchUps: number;
  failed: boolean;
}

export class Checkpointer {
  private readonly db: SqliteDatabase;
  private worker: Worker | null = null;
  private firstCommitAt = 0;
  private running = false;
  private lastRunAt = 0;
  private catchUpDue = false;
  private readonly closeFlag = new SharedArrayBuffer(4);
  readonly stats: CheckpointStats = { workerRuns: 0, workerFrames: 0, catchUps: 0, failed: false };

  constructor(db: SqliteDatabase) {
    this.db = db;
    if (db.memory || db.readonly) this.stats.failed = true;
  }

  /** After each COMMIT of the main connection. */
  noteCommit(now = Date.now()): void {
    if (this.stats.failed || this.running) return;
    if (!this.worker) {
      if (this.firstCommitAt === 0) this.firstCommitAt = now;
      if (now - this.firstCommitAt < START_AFTER_MS) return;
      this.start();
      if (!this.worker) return;
    }
    if (now - this.lastRunAt < INTERVAL_MS) return;
    this.running = true;
    this.lastRunAt = now;
    this.worker.postMessage('checkpoint');
  }

  /**
   * Between two transactions of the main connection (never inside one): copies what was committed while
   * the worker ran, so the next transaction can start the WAL over.
   */
  catchUp(): void {
    if (!this.catchUpDue || this.running) return;
    this.catchUpDue = false;
    this.stats.catchUps++;
    try {
      this.db.pragma('wal_checkpoint(PASSIVE)');
    } catch {
      // Nothing lost: the frames stay in the WAL and the next checkpoint copies them.
    }
  }

  private start(): void {
    try {
      const worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), {
        workerData: { path: this.db.name, closeFlag: this.closeFlag },
      });
      worker.on('message', (message: PassReport | 'ready') => {
        if (message === 'ready') return;
        this.running = false;
        this.stats.workerRuns++;
        this.stats.workerFrames += message.frames;
        this.catchUpDue = true;
      });
      worker.on('error', () => this.fail());
      worker.on('exit', () => {
        if (this.worker === worker) this.fail();
      });
      // After the listeners (adding one refs the port again): the worker never keeps the process alive.
      worker.unref();
      this.worker = worker;
      this.db.pragma(`wal_autocheckpoint = ${BACKSTOP_AUTOCHECKPOINT_FRAMES}`);
    } catch {
      this.fail();
    }
  }

  /** The worker is gone: SQLite's own checkpoints on the main connection take over again. */
  private fail(): void {
    this.stats.failed = true;
    this.worker = null;
    this.running = false;
    this.catchUpDue = false;
    try {
      if (this.db.open) this.db.pragma(`wal_autocheckpoint = ${DEFAULT_AUTOCHECKPOINT_FRAMES}`);
    } catch {
      // the connection is closing
    }
  }

  /**
   * Closes the worker's connection before the main one closes, waiting for it (synchronously, a few ms at
   * most: a pass in progress finishes first), so the main connection closes last and removes the WAL.
   */
  close(): void {
    const worker = this.worker;
    if (!worker) return;
    this.worker = null;
    this.stats.failed = true;
    worker.postMessage('close');
    Atomics.wait(new Int32Array(this.closeFlag), 0, 0, CLOSE_WAIT_MS);
    void worker.terminate();
  }
}
