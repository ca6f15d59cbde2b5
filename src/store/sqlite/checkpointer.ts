/**
 * WAL checkpoints off the event loop. SQLite's automatic checkpoint runs inside a COMMIT on the committing
 * connection: with 100 KB messages that is a copy of ~16 MiB into the database file plus two fsyncs, every
 * ~160 messages, on the event loop. Instead a worker thread with its own connection copies committed frames
 * (PRAGMA wal_checkpoint(PASSIVE), which never blocks the writer) while the main thread keeps serving.
 *
 * SQLite starts the WAL over only when a write transaction begins with every frame already copied. Frames
 * keep arriving while the worker copies, so once the WAL holds HOLD_FRAMES, GroupCommit holds its next
 * transaction back after a worker run (`holdForFinalPass`) while the worker copies the few frames written
 * meanwhile; the next transaction then reuses the WAL from its start and the file stays bounded. The event
 * loop is never blocked: only that one batch waits (a final pass syncs the WAL and the database file, a
 * few ms, more on a busy disk), and only once per HOLD_FRAMES of writes, not after every run. A large
 * wal_autocheckpoint stays on the main connection as a backstop should the worker fall behind or fail.
 *
 * Durability is SQLite's own: a checkpoint fsyncs the WAL before copying and the database after, whichever
 * connection runs it. Processes that write only briefly (the CLI, most tests) never start the worker.
 */
import { Worker } from 'node:worker_threads';
import type { SqliteDatabase } from './database.ts';

/** The worker starts once commits have gone on for this long without a pause as long. */
const START_AFTER_MS = 250;
/** Least time between two worker runs (each run copies what was committed since the last one). */
const INTERVAL_MS = 50;
/** SQLite's default autocheckpoint, used while no worker runs. */
const DEFAULT_AUTOCHECKPOINT_FRAMES = 1000;
/** The backstop while the worker runs: 8192 frames (64 MiB of 8 KiB pages). */
const BACKSTOP_AUTOCHECKPOINT_FRAMES = 8192;
const CLOSE_WAIT_MS = 5000;
/**
 * WAL frames (8 MiB of 8 KiB pages) from which the writer holds back for a final pass. Below it the WAL just
 * grows: each hold delays the writes of one batch, so it is paid once per this many frames, not per run.
 */
const HOLD_FRAMES = 1024;
/** A final pass that takes longer than this means the worker is stuck: writes go on without it. */
const FINAL_PASS_LIMIT_MS = 2000;
/** A normal run (a few passes over at most the backstop's 128 MiB) that takes longer means the same. */
const RUN_LIMIT_MS = 60_000;

interface PassReport {
  final: boolean;
  /** Frames in the WAL when the pass began. */
  frames: number;
}

export interface CheckpointStats {
  workerRuns: number;
  finalPasses: number;
  failed: boolean;
}

export class Checkpointer {
  private readonly db: SqliteDatabase;
  private worker: Worker | null = null;
  private firstCommitAt = 0;
  private lastCommitAt = 0;
  private running = false;
  private lastRunAt = 0;
  /** A run finished; the frames written during it are still to be copied by a final pass. */
  private finalPassDue = false;
  /** Frames in the WAL as the worker's last run saw them. */
  private walFrames = 0;
  /** Called when the held-back writer may go on. */
  private resume: (() => void) | null = null;
  /** Declares the worker stuck when a run does not report in time. */
  private runTimer: NodeJS.Timeout | null = null;
  private readonly closeFlag = new SharedArrayBuffer(4);
  readonly stats: CheckpointStats = { workerRuns: 0, finalPasses: 0, failed: false };

  constructor(db: SqliteDatabase) {
    this.db = db;
    if (db.memory || db.readonly) this.stats.failed = true;
  }

  /** After each COMMIT of the main connection. */
  noteCommit(now = Date.now()): void {
    if (this.stats.failed || this.running) return;
    if (!this.worker) {
      // A pause as long as the start delay begins the count again: brief or sparse writers never start it.
      if (this.firstCommitAt === 0 || now - this.lastCommitAt > START_AFTER_MS) this.firstCommitAt = now;
      this.lastCommitAt = now;
      if (now - this.firstCommitAt < START_AFTER_MS) return;
      this.start();
      if (!this.worker) return;
    }
    if (now - this.lastRunAt < INTERVAL_MS) return;
    this.running = true;
    this.lastRunAt = now;
    this.armRunTimer(RUN_LIMIT_MS);
    this.worker.postMessage('checkpoint');
  }

  /**
   * Called by GroupCommit before it begins a transaction. True when the worker is now copying the frames
   * written during its last run and the transaction must wait: `resume` is called when it may begin.
   */
  holdForFinalPass(resume: () => void): boolean {
    if (!this.finalPassDue || this.running || !this.worker || this.walFrames < HOLD_FRAMES) return false;
    this.finalPassDue = false;
    this.running = true;
    this.resume = resume;
    this.armRunTimer(FINAL_PASS_LIMIT_MS);
    // Writes wait for this reply: the worker keeps the process alive until it comes.
    this.worker.ref();
    this.worker.postMessage('final');
    return true;
  }

  private armRunTimer(ms: number): void {
    this.runTimer = setTimeout(() => this.fail(), ms);
    this.runTimer.unref();
  }

  private onReport(report: PassReport): void {
    this.running = false;
    if (this.runTimer) clearTimeout(this.runTimer);
    this.runTimer = null;
    if (!report.final) {
      this.walFrames = report.frames;
      this.stats.workerRuns++;
      this.finalPassDue = true;
      return;
    }
    this.stats.finalPasses++;
    this.release();
  }

  private release(): void {
    this.worker?.unref();
    if (this.runTimer) clearTimeout(this.runTimer);
    this.runTimer = null;
    const resume = this.resume;
    this.resume = null;
    resume?.();
  }

  private start(): void {
    try {
      const worker = new Worker(new URL('./checkpoint-worker.mjs', import.meta.url), {
        workerData: { path: this.db.name, closeFlag: this.closeFlag },
      });
      worker.on('message', (message: PassReport | 'ready') => {
        if (message !== 'ready') this.onReport(message);
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
    const worker = this.worker;
    this.release();
    this.stats.failed = true;
    this.worker = null;
    this.running = false;
    this.finalPassDue = false;
    if (worker) void worker.terminate();
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
