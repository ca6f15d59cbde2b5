/**
 * Group commit: write operations queued in the same turn of the event loop run in ONE SQLite transaction,
 * and the WAL file is then synced (fdatasync) on a thread of its own, so the event loop never blocks on the
 * disk. One failing operation is rolled back alone: each runs in its own savepoint, except in a batch of
 * one and in a batch of operations marked re-runnable (their only effects are their SQL), which run
 * without: a failure there rolls the whole transaction back and the batch runs again with savepoints. A
 * savepoint costs a copy of every page an operation changes that the batch had changed before it. A
 * failing COMMIT or sync fails its whole batch. A promise resolves only after a sync that began after its
 * COMMIT returned: that is the durability point. One sync runs at a time; the writes that arrive during it
 * share the next transaction, except writes whose caller asked to hear of the COMMIT (`committed`, an IMAP
 * session's next pipelined command needs the effects, not yet the durability): those commit during the sync,
 * in transactions of their own, and the next sync covers them.
 */
import { closeSync, fsyncSync, fstatSync, openSync, statSync } from 'node:fs';
import { dirname } from 'node:path';
import type { SqliteDatabase } from './database.ts';
import { StorageError } from '../../core/errors.ts';
import { Checkpointer } from './checkpointer.ts';
import { SyncThread } from './sync-thread.ts';

interface PendingWrite {
  work: () => unknown;
  /** Safe to run again after a rollback of the whole transaction (no effect but its SQL). */
  rerunnable: boolean;
  /** Settles at the durability point (for a `committed` write: its sync's promise). */
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  /** The caller hears of the COMMIT (see run()): may commit while a sync runs. */
  committed?: (durable: Promise<void>) => void;
  result?: unknown;
  error?: unknown;
  failed?: boolean;
  firstTriedAt?: number;
}

const BUSY_RETRY_MS = 25;

function isBusy(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === 'SQLITE_BUSY' || code === 'SQLITE_LOCKED';
}

export interface GroupCommitStats {
  batches: number;
  writes: number;
  largestBatch: number;
  fsyncs: number;
  /** Batches run again with a savepoint per write after one of their writes failed without. */
  reruns: number;
}

export type FaultStage = 'begin' | 'commit' | 'fsync';

export class GroupCommit {
  private readonly db: SqliteDatabase;
  private readonly walPath: string;
  private pending: PendingWrite[] = [];
  private scheduled = false;
  /** Committed, waiting for the sync that makes them durable. */
  private unsynced: PendingWrite[] = [];
  /**
   * A WAL sync runs on the thread pool; no transaction starts meanwhile. One sync at a time: a second one
   * in flight split SMTP batches in two and cost acceptance a fifth (docs/performance.md, ADR 0002).
   */
  private syncing = false;
  /** Another process holds the write lock: batches wait for the retry (retryBusy). */
  private busyWaiting = false;
  private walFd: number | null = null;
  private walIno = 0;
  private dirSynced = false;
  private readonly statements;
  /** Test hook: called at each stage; throwing simulates a storage failure there. */
  faultInjector: ((stage: FaultStage) => void) | null = null;
  readonly stats: GroupCommitStats = { batches: 0, writes: 0, largestBatch: 0, fsyncs: 0, reruns: 0 };
  private idleWaiters: (() => void)[] = [];
  /** WAL checkpoints in a worker thread instead of inside COMMIT (checkpointer.ts). */
  readonly checkpointer: Checkpointer;
  /** WAL syncs on a thread of their own, not behind password hashes on the shared thread pool. */
  private readonly syncThread = new SyncThread();
  /** The next transaction waits for the checkpoint worker's final pass (checkpointer.ts). */
  private holding = false;

  private readonly busyWaitMs: number;

  constructor(db: SqliteDatabase, options: { busyWaitMs?: number } = {}) {
    this.db = db;
    this.busyWaitMs = options.busyWaitMs ?? 10_000;
    this.walPath = `${db.name}-wal`;
    this.checkpointer = new Checkpointer(db);
    this.statements = {
      begin: db.prepare('BEGIN IMMEDIATE'),
      commit: db.prepare('COMMIT'),
      rollback: db.prepare('ROLLBACK'),
      savepoint: db.prepare('SAVEPOINT w'),
      release: db.prepare('RELEASE w'),
      rollbackTo: db.prepare('ROLLBACK TO w'),
    };
  }

  private readonly beforeCommitHooks: (() => void)[] = [];

  /** Runs `hook` (synchronous SQL) at the end of every batch, inside its transaction, before COMMIT. */
  beforeCommit(hook: () => void): void {
    this.beforeCommitHooks.push(hook);
  }

  private readonly rollbackHooks: (() => void)[] = [];

  /** Runs `hook` when a batch's transaction is rolled back whole, so in-memory state of the batch is dropped. */
  onRollback(hook: () => void): void {
    this.rollbackHooks.push(hook);
  }

  /**
   * Queues `work` (synchronous SQL) for the next batch; resolves with its result once durable. `rerunnable`:
   * `work` has no effect but its SQL (nothing in memory that a rollback would leave behind), so it may run
   * again after its transaction was rolled back; such writes share a batch without a savepoint each.
   */
  run<T>(work: () => T, options: { rerunnable?: boolean; committed?: (durable: Promise<void>) => void } = {}): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const item: PendingWrite = { work, rerunnable: options.rerunnable === true, resolve: resolve as (v: unknown) => void, reject };
      if (options.committed !== undefined) {
        // `committed`: the returned promise resolves at COMMIT, and the caller gets the promise of the sync
        // that covers it, which rejects if that sync fails. Acknowledging the write is the caller's to hold.
        item.committed = options.committed;
        this.earlyPending++;
      }
      this.pending.push(item);
      this.kick();
    });
  }

  /** Writes waiting in `pending` that may commit while a sync runs. */
  private earlyPending = 0;

  /**
   * Schedules the next transaction. While a sync runs no transaction starts: everything that arrives
   * meanwhile goes into ONE transaction after it returns, so under load there is one COMMIT and one sync
   * per batch however many sessions commit (fewer WAL frames, locks and syscalls than a COMMIT per turn).
   */
  private kick(): void {
    if (this.scheduled || this.busyWaiting || this.holding || this.pending.length === 0) return;
    if (this.syncing && this.earlyPending === 0) return;
    this.scheduled = true;
    setImmediate(() => {
      this.scheduled = false;
      this.flush();
    });
  }

  private endHold(): void {
    this.holding = false;
    this.kick();
  }

  /** Resolves when nothing is pending or waiting for an fsync (used at close). */
  idle(): Promise<void> {
    if (this.pending.length === 0 && this.unsynced.length === 0 && !this.syncing && !this.scheduled) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  private flush(): void {
    if (this.pending.length > 0 && this.checkpointer.holdForFinalPass(() => this.endHold())) {
      this.holding = true;
      return;
    }
    let batch = this.pending;
    if (this.syncing) {
      // During a sync only the writes that asked to hear of their COMMIT: the others (deliveries) keep
      // sharing one transaction per sync, as one sync at a time is for (ADR 0002).
      batch = batch.filter((item) => item.committed !== undefined);
      this.pending = this.pending.filter((item) => item.committed === undefined);
    } else this.pending = [];
    for (const item of batch) if (item.committed !== undefined) this.earlyPending--;
    if (batch.length === 0) return;
    this.stats.batches++;
    this.stats.writes += batch.length;
    if (batch.length > this.stats.largestBatch) this.stats.largestBatch = batch.length;
    const s = this.statements;
    try {
      this.faultInjector?.('begin');
      s.begin.run();
    } catch (err) {
      if (isBusy(err) && this.retryBusy(batch)) return;
      for (const item of batch) item.reject(asStorageError(err));
      this.notifyIdle();
      return;
    }
    if (batch.length === 1 || batch.every((item) => item.rerunnable)) {
      if (!this.runWithoutSavepoints(batch)) return;
    } else this.runWithSavepoints(batch);
    try {
      // Work of the whole batch (the change log's one row), in the transaction; a failure fails the batch.
      for (const hook of this.beforeCommitHooks) hook();
      this.faultInjector?.('commit');
      s.commit.run();
    } catch (err) {
      try {
        if (this.db.inTransaction) s.rollback.run();
      } catch {
        // nothing more to do: the connection rolls back on its own
      }
      for (const item of batch) item.reject(asStorageError(err));
      this.notifyIdle();
      return;
    }
    this.checkpointer.noteCommit();
    for (const item of batch) {
      if (item.failed) item.reject(item.error);
      else {
        if (item.committed !== undefined) this.answerCommit(item);
        this.unsynced.push(item);
      }
    }
    this.syncSoon();
  }

  /** A `committed` write: its promise resolves now; the one its caller was handed settles with the sync. */
  private answerCommit(item: PendingWrite): void {
    const answer = item.resolve;
    const durable = new Promise<void>((resolve, reject) => {
      item.resolve = () => resolve();
      item.reject = reject;
    });
    item.committed!(durable);
    answer(item.result);
  }

  /**
   * Runs the batch with no savepoint. A batch of one that fails is rolled back whole (the same outcome as its
   * savepoint); a failure in a larger batch (all re-runnable) rolls everything back and puts the batch back
   * at the head of the queue, each write no longer re-runnable, so the next transaction (flush(): BEGIN,
   * waiting out another process's lock) runs each in its savepoint. False when the batch left this one.
   */
  private runWithoutSavepoints(batch: PendingWrite[]): boolean {
    let failure: unknown = null;
    let failed = false;
    for (const item of batch) {
      try {
        item.result = item.work();
      } catch (err) {
        failed = true;
        failure = err;
        break;
      }
    }
    if (!failed) return true;
    try {
      this.statements.rollback.run();
    } catch {
      // the connection rolls back on its own
    }
    for (const hook of this.rollbackHooks) hook();
    for (const item of batch) item.result = undefined;
    if (batch.length === 1) {
      batch[0]!.reject(failure);
      this.notifyIdle();
      this.kick();
      return false;
    }
    this.stats.reruns++;
    for (const item of batch) item.rerunnable = false;
    this.requeue(batch);
    this.kick();
    return false;
  }

  /** Runs each write of the batch in its own savepoint: a failing one is rolled back alone. */
  private runWithSavepoints(batch: PendingWrite[]): void {
    const s = this.statements;
    for (const item of batch) {
      s.savepoint.run();
      try {
        item.result = item.work();
        s.release.run();
      } catch (err) {
        item.failed = true;
        item.error = err;
        try {
          s.rollbackTo.run();
          s.release.run();
        } catch {
          // the outer transaction is broken; COMMIT below will fail and reject everything
        }
      }
    }
  }

  /**
   * Another process holds the write lock (the CLI, a backup). The server opens the database with no busy
   * timeout, because SQLite's busy wait would stop the event loop; instead the batch waits here, off the
   * event loop, and tries again, until `busyWaitMs` after its oldest write; then it fails (clients get 4xx).
   */
  private retryBusy(batch: PendingWrite[]): boolean {
    const now = Date.now();
    const oldest = Math.min(...batch.map((item) => (item.firstTriedAt ??= now)));
    if (now - oldest >= this.busyWaitMs) return false;
    this.requeue(batch);
    this.busyWaiting = true;
    setTimeout(() => {
      this.busyWaiting = false;
      this.kick();
    }, BUSY_RETRY_MS).unref();
    return true;
  }

  /** Puts a batch that did not commit back at the head of the queue. */
  private requeue(batch: PendingWrite[]): void {
    for (const item of batch) if (item.committed !== undefined) this.earlyPending++;
    this.pending = batch.concat(this.pending);
  }

  private syncSoon(): void {
    // A batch committed during the sync (committed writes): the next sync, once this one returns, covers it.
    if (this.syncing) return;
    if (this.unsynced.length === 0) {
      this.kick();
      this.notifyIdle();
      return;
    }
    this.syncing = true;
    const covered = this.unsynced;
    this.unsynced = [];
    const done = (err: unknown): void => {
      this.syncing = false;
      if (err) for (const item of covered) item.reject(asStorageError(err));
      else for (const item of covered) item.resolve(item.result);
      this.kick();
      // Writes committed during this sync wait for the next one; writes still queued commit first and
      // share it (flush() ends in syncSoon()), unless that flush does not happen: then it starts alone.
      if (this.unsynced.length > 0 && this.scheduled) setImmediate(() => this.syncSoon());
      else this.syncSoon();
    };
    let fd: number;
    try {
      this.faultInjector?.('fsync');
      fd = this.walDescriptor();
    } catch (err) {
      done(err);
      return;
    }
    this.stats.fsyncs++;
    // fdatasync, as SQLite syncs its WAL: the data and the file size, without a journal commit for mtime.
    this.syncThread.fdatasync(fd, (err) => done(err));
  }

  /** The WAL file's descriptor, reopened if SQLite replaced the file; the directory is synced once. */
  private walDescriptor(): number {
    const ino = statSync(this.walPath).ino;
    if (this.walFd === null || ino !== this.walIno) {
      // No sync runs on the old descriptor: this is called only to start the one sync.
      if (this.walFd !== null) closeSync(this.walFd);
      this.walFd = openSync(this.walPath, 'r');
      this.walIno = fstatSync(this.walFd).ino;
      this.dirSynced = false;
    }
    if (!this.dirSynced) {
      // The WAL file's directory entry must be durable too (a new file after a crash must be found).
      const dirFd = openSync(dirname(this.walPath), 'r');
      try {
        fsyncSync(dirFd);
      } finally {
        closeSync(dirFd);
      }
      this.dirSynced = true;
    }
    return this.walFd;
  }

  private notifyIdle(): void {
    if (this.pending.length || this.unsynced.length || this.syncing || this.scheduled) return;
    const waiters = this.idleWaiters;
    this.idleWaiters = [];
    for (const w of waiters) w();
  }

  close(): void {
    this.checkpointer.close();
    this.syncThread.close();
    if (this.walFd !== null) closeSync(this.walFd);
    this.walFd = null;
  }
}

export function asStorageError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StorageError(`storage failure: ${message}`, err);
}
