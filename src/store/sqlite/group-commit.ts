/**
 * Group commit: write operations queued in the same turn of the event loop run in ONE SQLite transaction,
 * so concurrent SMTP/IMAP sessions share one WAL fsync. Each operation runs in its own savepoint: one
 * failing operation is rolled back alone; a failing COMMIT (disk full, I/O error) fails the whole batch.
 * A promise resolves only after the COMMIT (and its fsync) returned.
 */
import type { SqliteDatabase } from './database.ts';
import { StorageError } from '../../core/errors.ts';

interface PendingWrite {
  work: () => unknown;
  resolve: (value: unknown) => void;
  reject: (err: unknown) => void;
  result?: unknown;
  error?: unknown;
  failed?: boolean;
}

export interface GroupCommitStats {
  batches: number;
  writes: number;
  largestBatch: number;
}

export class GroupCommit {
  private readonly db: SqliteDatabase;
  private pending: PendingWrite[] = [];
  private scheduled = false;
  /** Test hook: called before each batch; throwing simulates a storage failure. */
  faultInjector: ((stage: 'begin' | 'commit') => void) | null = null;
  readonly stats: GroupCommitStats = { batches: 0, writes: 0, largestBatch: 0 };
  private readonly afterCommitListeners: (() => void)[] = [];

  constructor(db: SqliteDatabase) {
    this.db = db;
  }

  /** Queues `work` (synchronous SQL) for the next batch; resolves with its result once durable. */
  run<T>(work: () => T): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      this.pending.push({ work, resolve: resolve as (v: unknown) => void, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const batch = this.pending;
    this.pending = [];
    if (batch.length === 0) return;
    this.stats.batches++;
    this.stats.writes += batch.length;
    if (batch.length > this.stats.largestBatch) this.stats.largestBatch = batch.length;
    try {
      this.faultInjector?.('begin');
      this.db.exec('BEGIN IMMEDIATE');
    } catch (err) {
      for (const item of batch) item.reject(asStorageError(err));
      return;
    }
    for (const item of batch) {
      this.db.exec('SAVEPOINT w');
      try {
        item.result = item.work();
        this.db.exec('RELEASE w');
      } catch (err) {
        item.failed = true;
        item.error = err;
        try {
          this.db.exec('ROLLBACK TO w');
          this.db.exec('RELEASE w');
        } catch {
          // the outer transaction is broken; COMMIT below will fail and reject everything
        }
      }
    }
    try {
      this.faultInjector?.('commit');
      this.db.exec('COMMIT');
    } catch (err) {
      try {
        if (this.db.inTransaction) this.db.exec('ROLLBACK');
      } catch {
        // nothing more to do: the connection rolls back on its own
      }
      for (const item of batch) item.reject(asStorageError(err));
      return;
    }
    for (const item of batch) {
      if (item.failed) item.reject(item.error);
      else item.resolve(item.result);
    }
    for (const listener of this.afterCommitListeners) listener();
  }

  onCommit(listener: () => void): void {
    this.afterCommitListeners.push(listener);
  }
}

export function asStorageError(err: unknown): StorageError {
  if (err instanceof StorageError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new StorageError(`storage failure: ${message}`, err);
}
