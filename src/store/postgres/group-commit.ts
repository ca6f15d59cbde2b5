/**
 * Group commit on PostgreSQL: writes that arrive while a transaction is committing wait, then share the
 * next transaction, so N concurrent deliveries cost one COMMIT (one WAL flush) instead of N. One batch is
 * in flight per store; the account sequences, mailbox rows and queue messages a batch will change are
 * locked up front in id order, so batches of two nodes never wait on each other in a cycle. A write that fails is taken out
 * and the others are run again in a fresh transaction: a failed write changes nothing, the others are
 * unaffected. Deliveries (deliver-batch.ts) waiting together are one statement that is the whole
 * transaction: one round trip per batch, locks held only while PostgreSQL runs it and flushes.
 */
import type pg from 'pg';
import { StorageError } from '../../core/errors.ts';
import type { StoreChange } from '../types.ts';
import { isRetryable, statementRefused } from './database.ts';
import { deliverBatch, type BatchDelivery, type BatchOutcome } from './deliver-batch.ts';

export type PgWork<T> = (client: pg.PoolClient, log: StoreChange[]) => Promise<T>;

export interface PgWriteOptions {
  /** Mailbox rows the write changes (UIDNEXT, HIGHESTMODSEQ), locked before any write of the batch. */
  lockMailboxes?: readonly number[];
  /** Accounts whose change sequence the write advances without naming a mailbox (create, rename). */
  lockAccounts?: readonly number[];
  /** Queue messages the write changes (their recipients' results, their removal), locked after the mailboxes. */
  lockQueueMessages?: readonly string[];
}

interface Pending {
  work: PgWork<unknown>;
  locks: readonly number[];
  accounts: readonly number[];
  queueMessages: readonly string[];
  changes: StoreChange[];
  resolve: (value: { value: unknown; changes: StoreChange[] }) => void;
  reject: (err: unknown) => void;
}

/** Deliveries of one caller: stored together or not at all. */
interface PendingDeliveries {
  deliveries: BatchDelivery[];
  resolve: (value: BatchOutcome[]) => void;
  reject: (err: unknown) => void;
}

export interface PgGroupCommitStats {
  /** Transactions committed. */
  batches: number;
  /** Writes committed (in those transactions). */
  writes: number;
  /** Batches run again after a deadlock or serialization failure. */
  retries: number;
  /** Of the batches, those that were deliveries only, each one statement. */
  deliveryBatches: number;
}

const MAX_BATCH = 256;
/** Bytes of bodies one delivery statement carries at most (unless one caller's deliveries alone are more). */
const MAX_BATCH_BYTES = 8 * 1024 * 1024;
const MAX_RETRIES = 5;

export class PgGroupCommit {
  readonly stats: PgGroupCommitStats = { batches: 0, writes: 0, retries: 0, deliveryBatches: 0 };
  private readonly pool: pg.Pool;
  private readonly beforeCommit: (client: pg.PoolClient, changes: StoreChange[]) => Promise<void>;
  private readonly origin: string;
  private pending: Pending[] = [];
  private pendingDeliveries: PendingDeliveries[] = [];
  private running: Promise<void> | null = null;
  private closed = false;

  constructor(pool: pg.Pool, options: { origin: string; beforeCommit: (client: pg.PoolClient, changes: StoreChange[]) => Promise<void> }) {
    this.pool = pool;
    this.origin = options.origin;
    this.beforeCommit = options.beforeCommit;
  }

  /** Stores `deliveries` together in the next batch of deliveries; resolves once it committed. */
  deliver(deliveries: BatchDelivery[]): Promise<BatchOutcome[]> {
    if (this.closed) return Promise.reject(new StorageError('the store is closed'));
    if (deliveries.length === 0) return Promise.resolve([]);
    return new Promise((resolve, reject) => {
      this.pendingDeliveries.push({ deliveries, resolve, reject });
      this.running ??= this.drain();
    });
  }

  /** Runs `work` in the next shared transaction; resolves once that transaction committed. */
  run<T>(work: PgWork<T>, options: PgWriteOptions = {}): Promise<{ value: T; changes: StoreChange[] }> {
    if (this.closed) return Promise.reject(new StorageError('the store is closed'));
    return new Promise((resolve, reject) => {
      this.pending.push({ work, locks: options.lockMailboxes ?? [], accounts: options.lockAccounts ?? [], queueMessages: options.lockQueueMessages ?? [], changes: [], resolve: resolve as Pending['resolve'], reject });
      this.running ??= this.drain();
    });
  }

  /** Resolves when every write handed in so far has been committed or failed. */
  async idle(): Promise<void> {
    while (this.running) await this.running;
  }

  close(): void {
    this.closed = true;
  }

  /** A pooled connection; without one, every waiter is rejected (null). */
  private async connect(waiters: readonly { reject: (err: unknown) => void }[]): Promise<pg.PoolClient | null> {
    try {
      return await this.pool.connect();
    } catch (err) {
      for (const p of waiters) p.reject(new StorageError(`database unavailable: ${(err as Error).message}`, err));
      return null;
    }
  }

  private async drain(): Promise<void> {
    // Let the writes started in this turn of the event loop join the first batch.
    await new Promise<void>((r) => setImmediate(r));
    try {
      while (this.pending.length > 0 || this.pendingDeliveries.length > 0) {
        if (this.pending.length > 0) await this.commitBatch(this.pending.splice(0, MAX_BATCH));
        if (this.pendingDeliveries.length > 0) await this.commitDeliveries(this.takeDeliveries());
      }
    } finally {
      this.running = null;
    }
  }

  /**
   * Callers' deliveries up to MAX_BATCH deliveries and MAX_BATCH_BYTES of bodies (a caller's are never
   * split): the bodies travel as one bytea parameter, so the count alone would let 256 bodies of a chunk
   * each make a parameter of 128 MiB (twice that as hex text).
   */
  private takeDeliveries(): PendingDeliveries[] {
    let count = 0;
    let bytes = 0;
    let n = 0;
    while (n < this.pendingDeliveries.length) {
      const next = this.pendingDeliveries[n]!.deliveries;
      const size = next.reduce((sum, d) => sum + d.data.length, 0);
      if (n > 0 && (count + next.length > MAX_BATCH || bytes + size > MAX_BATCH_BYTES)) break;
      count += next.length;
      bytes += size;
      n++;
    }
    return this.pendingDeliveries.splice(0, n);
  }

  /**
   * One statement outside BEGIN, so PostgreSQL commits it when it returns. If it fails for one caller's
   * deliveries (a mailbox deleted meanwhile), nothing was stored: each caller's are run again alone. If
   * the connection broke, the outcome is unknown and every caller gets the error.
   */
  private async commitDeliveries(batch: PendingDeliveries[]): Promise<void> {
    for (let retries = 0; ; retries++) {
      const client = await this.connect(batch);
      if (!client) return;
      try {
        const outcomes = await deliverBatch(client, batch.flatMap((p) => p.deliveries), this.origin);
        client.release();
        this.stats.batches++;
        this.stats.deliveryBatches++;
        this.stats.writes += batch.length;
        let at = 0;
        for (const p of batch) {
          p.resolve(outcomes.slice(at, at + p.deliveries.length));
          at += p.deliveries.length;
        }
        return;
      } catch (err) {
        const refused = statementRefused(err);
        client.release(refused ? undefined : (err as Error));
        if (isRetryable(err) && retries < MAX_RETRIES) {
          this.stats.retries++;
          continue;
        }
        if (refused && batch.length > 1) {
          for (const p of batch) await this.commitDeliveries([p]);
          return;
        }
        const reason = refused ? err : new StorageError(`database write failed: ${(err as Error).message}`, err);
        for (const p of batch) p.reject(reason);
        return;
      }
    }
  }

  private async commitBatch(batch: Pending[]): Promise<void> {
    let remaining = batch;
    let retries = 0;
    while (remaining.length > 0) {
      const client = await this.connect(remaining);
      if (!client) return;
      let failed: Pending | null = null;
      let stage: 'begin' | 'work' | 'commit' = 'begin';
      try {
        await client.query('BEGIN');
        // Always in this order: account sequences, then mailboxes, then queue messages, each by id (every
        // write takes them so, whichever node runs it).
        const locks = [...new Set(remaining.flatMap((p) => p.locks))].sort((a, b) => a - b);
        const accounts = [...new Set(remaining.flatMap((p) => p.accounts))];
        if (locks.length > 0 || accounts.length > 0) {
          await client.query({
            name: 'pg-lock-accounts',
            text: 'SELECT account_id FROM account_seq WHERE account_id = ANY($2::bigint[]) OR account_id IN (SELECT account_id FROM mailboxes WHERE id = ANY($1::bigint[])) ORDER BY account_id FOR UPDATE',
            values: [locks, accounts],
          });
        }
        if (locks.length > 0) await client.query({ name: 'pg-lock-mailboxes', text: 'SELECT id FROM mailboxes WHERE id = ANY($1::bigint[]) ORDER BY id FOR UPDATE', values: [locks] });
        const queueMessages = [...new Set(remaining.flatMap((p) => p.queueMessages))];
        if (queueMessages.length > 0) await client.query({ name: 'pg-lock-queue-messages', text: 'SELECT id FROM queue_messages WHERE id = ANY($1::text[]) ORDER BY id FOR UPDATE', values: [queueMessages] });
        stage = 'work';
        const values: unknown[] = [];
        for (const p of remaining) {
          failed = p;
          p.changes = [];
          values.push(await p.work(client, p.changes));
        }
        failed = null;
        stage = 'commit';
        await this.beforeCommit(client, remaining.flatMap((p) => p.changes));
        await client.query('COMMIT');
        client.release();
        this.stats.batches++;
        this.stats.writes += remaining.length;
        remaining.forEach((p, i) => p.resolve({ value: values[i], changes: p.changes }));
        return;
      } catch (err) {
        const broken = !(await rollback(client));
        client.release(broken ? (err as Error) : undefined);
        if (isRetryable(err) && retries < MAX_RETRIES) {
          retries++;
          this.stats.retries++;
          continue;
        }
        if (stage === 'work' && failed !== null && !broken) {
          // That write alone fails; the others are run again without it.
          failed.reject(err);
          remaining = remaining.filter((p) => p !== failed);
          continue;
        }
        // BEGIN or COMMIT failed, or the connection broke: the outcome of the batch is unknown or lost.
        const reason = err instanceof StorageError ? err : new StorageError(`database write failed: ${(err as Error).message}`, err);
        for (const p of remaining) p.reject(reason);
        return;
      }
    }
  }
}

/** Rolls back the open transaction; false when the connection itself is unusable. */
async function rollback(client: pg.PoolClient): Promise<boolean> {
  try {
    await client.query('ROLLBACK');
    return true;
  } catch {
    return false;
  }
}
