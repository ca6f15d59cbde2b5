/**
 * The background search indexer: after messages are committed (heard on the change feed, from this process
 * or another), it turns each new email into its search document and list properties and writes them in
 * batches, off the delivery path. It catches up at start and after a feed reset, and prunes documents of
 * removed emails. Queries never wait for it: what it has not reached yet is read by the query itself.
 * Indexing is background work and yields to the server's clients: while the event loop is busy (a burst of
 * deliveries) it waits, indexing one batch now and then, and catches up when the load falls.
 */
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { Logger } from '../core/log.ts';
import { emailBlobId } from '../protocols/jmap/mail/blobs.ts';
import { EmailView } from '../protocols/jmap/mail/email-view.ts';
import { searchDocumentOf, summaryOf } from '../protocols/jmap/mail/search-document.ts';
import { isMailboxChange, type Store } from '../store/types.ts';

export interface SearchIndexerOptions {
  store: Pick<Store, 'unindexedEmails' | 'writeSearchDocuments' | 'pruneSearchDocuments' | 'emailLocation' | 'readMessage' | 'subscribe'>;
  logger: Logger;
  /** search.index_delay: wait after a change, so messages arriving together share a batch. */
  delayMs: number;
  /** search.index_batch. */
  batchSize: number;
  /** search.index_busy_utilization: above this share of the event loop the indexer waits. */
  busyUtilization: number;
  /** search.index_busy_wait: how long it waits at most before indexing one batch anyway. */
  busyWaitMs: number;
}

/** Mail heard of within this long means deliveries are still arriving: the indexer waits for a pause. */
const ARRIVAL_QUIET_MS = 1000;
/** Messages indexed at most in a batch taken while the server is busy. */
const FORCED_BATCH = 10;
/** Event-loop utilization is measured over at least this long (a shorter window is noise). */
const UTILIZATION_WINDOW_MS = 500;

/** Ids below the cursor looked at again on each run: on PostgreSQL ids are drawn before commit, so they may commit out of order. */
const LOOK_BACK_IDS = 1000;
/** Every so often the whole id range is looked at again (a transaction that stayed open longer than the look-back). */
const FULL_PASS_MS = 10 * 60_000;
/** Documents of removed emails are pruned at most this often. */
const PRUNE_MS = 60_000;

export class SearchIndexer {
  private readonly options: SearchIndexerOptions;
  private cursor = 0;
  private fullPassAt = 0;
  private prunedAt = 0;
  private pruneWanted = true;
  private timer: NodeJS.Timeout | null = null;
  private running: Promise<void> | null = null;
  private again = false;
  /** The last run stopped because the server was busy: the next one waits for a new utilization reading. */
  private deferNext = false;
  private stopped = false;
  private unsubscribe: (() => void) | null = null;
  /** Emails whose message could not be read or parsed: left to the queries, not tried again by this process. */
  private readonly failed = new Set<number>();
  private idleWaiters: (() => void)[] = [];
  private utilizationMark: EventLoopUtilization = performance.eventLoopUtilization();
  private utilizationAt = Date.now();
  private utilization = 0;
  /** Time the indexer's own batches took since the last utilization reading. */
  private ownMs = 0;
  /** When the indexer last indexed a batch although the server was busy. */
  private forcedAt = Date.now();
  /** When the last new message was heard of. */
  private lastAppendAt = 0;
  readonly stats = { indexed: 0, batches: 0, failed: 0, pruned: 0, deferred: 0 };

  constructor(options: SearchIndexerOptions) {
    this.options = options;
  }

  start(): void {
    this.unsubscribe = this.options.store.subscribe((change) => {
      if (change.kind === 'reset') {
        this.fullPassAt = 0;
        this.pruneWanted = true;
      } else if (isMailboxChange(change)) {
        if (change.kind === 'expunge' || change.kind === 'mailbox') this.pruneWanted = true;
        if (change.kind !== 'append') return;
        this.lastAppendAt = Date.now();
      } else return;
      this.kick();
    });
    this.kick(0);
  }

  /** Resolves once nothing is left to index (tests, benchmarks). */
  idle(): Promise<void> {
    if (this.running === null && this.timer === null) return Promise.resolve();
    // The indexer's timer is unref'd (it must not keep a stopping server alive); a caller awaiting idle()
    // holds the process open with a handle of its own until the wait ends.
    const keepAlive = setInterval(() => {}, 60_000);
    return new Promise((resolve) =>
      this.idleWaiters.push(() => {
        clearInterval(keepAlive);
        resolve();
      }),
    );
  }

  private kick(delayMs = this.options.delayMs): void {
    if (this.stopped) return;
    if (this.running !== null) {
      this.again = true;
      return;
    }
    if (this.timer !== null) return;
    this.timer = setTimeout(() => {
      this.timer = null;
      this.running = this.run().finally(() => {
        this.running = null;
        if (this.again && !this.stopped) {
          this.again = false;
          const wait = this.deferNext ? Math.max(this.options.delayMs, UTILIZATION_WINDOW_MS) : this.options.delayMs;
          this.deferNext = false;
          this.kick(wait);
        } else if (this.timer === null) {
          for (const w of this.idleWaiters.splice(0)) w();
        }
      });
    }, delayMs);
    this.timer.unref();
  }

  /** The share of the event loop spent working lately (0..1), over a window of at least UTILIZATION_WINDOW_MS. */
  private recentUtilization(now: number): number {
    if (now - this.utilizationAt >= UTILIZATION_WINDOW_MS) {
      const current = performance.eventLoopUtilization();
      const window = performance.eventLoopUtilization(current, this.utilizationMark);
      // The indexer's own batches do not count: it waits for the clients' load, not for itself.
      const others = Math.max(0, window.active - this.ownMs);
      this.utilization = window.idle + window.active > 0 ? others / (window.idle + window.active) : 0;
      this.utilizationMark = current;
      this.utilizationAt = now;
      this.ownMs = 0;
    }
    return this.utilization;
  }

  /**
   * How many messages the next batch may take: 0 leaves it for later (the server is busy and a batch was
   * indexed lately anyway), a small batch when the longest wait is over, else a full one.
   */
  private batchLimit(): number {
    const now = Date.now();
    const { batchSize, busyUtilization, busyWaitMs } = this.options;
    // Mail arriving lately counts as busy too (except with busyUtilization 1, which never waits): a burst of
    // large messages leaves the event loop waiting on disks and sockets, yet indexing them (a parse and a
    // trigram insert per body) costs more than taking them did.
    const arriving = busyUtilization < 1 && now - this.lastAppendAt < ARRIVAL_QUIET_MS;
    if (!arriving && this.recentUtilization(now) <= busyUtilization) return batchSize;
    if (now - this.forcedAt >= busyWaitMs) {
      this.forcedAt = now;
      // Indexed although the server is busy: a small batch, so no client waits long.
      return Math.min(batchSize, FORCED_BATCH);
    }
    return 0;
  }

  private async run(): Promise<void> {
    const started = Date.now();
    const before = this.stats.indexed;
    try {
      const full = Date.now() - this.fullPassAt > FULL_PASS_MS;
      if (full) this.fullPassAt = Date.now();
      let after = full ? 0 : Math.max(0, this.cursor - LOOK_BACK_IDS);
      while (!this.stopped) {
        const limit = this.batchLimit();
        if (limit === 0) {
          // Looked at again after the utilization window; `again` keeps the run going when it ends.
          this.stats.deferred++;
          this.again = true;
          this.deferNext = true;
          break;
        }
        const rows = await this.options.store.unindexedEmails({ afterEmailId: after, limit });
        if (rows.length === 0) break;
        after = rows[rows.length - 1]!.emailId;
        const batchStarted = performance.now();
        await this.indexBatch(rows.filter((r) => !this.failed.has(r.emailId)));
        this.ownMs += performance.now() - batchStarted;
        this.cursor = Math.max(this.cursor, after);
        // Yield between batches: parsing runs on the event loop, beside the sessions.
        await new Promise((resolve) => setImmediate(resolve));
      }
      if (this.pruneWanted && Date.now() - this.prunedAt > PRUNE_MS && !this.stopped) {
        this.pruneWanted = false;
        this.prunedAt = Date.now();
        this.stats.pruned += await this.options.store.pruneSearchDocuments();
      }
    } catch (err) {
      this.options.logger.warn({ event: 'search.index_failed', err }, 'the search indexer stopped this run; queries read unindexed messages meanwhile');
    }
    const indexed = this.stats.indexed - before;
    if (indexed > 0) this.options.logger.info({ event: 'search.indexed', emails: indexed, ms: Date.now() - started }, 'search index caught up');
  }

  private async indexBatch(rows: { emailId: number; accountId: number }[]): Promise<void> {
    const { store, logger } = this.options;
    const documents = [];
    for (const { emailId, accountId } of rows) {
      try {
        const at = await store.emailLocation(accountId, emailId);
        if (at === null) continue; // removed since
        const view = new EmailView(await store.readMessage(at.mailboxId, at.uid), emailBlobId(emailId));
        documents.push({ emailId, accountId, ...searchDocumentOf(view), summary: JSON.stringify(summaryOf(view)) });
      } catch (err) {
        this.failed.add(emailId);
        this.stats.failed++;
        logger.warn({ event: 'search.index_failed', emailId, accountId, err }, 'a message could not be indexed; queries read it instead');
      }
    }
    await store.writeSearchDocuments(documents);
    this.stats.indexed += documents.length;
    this.stats.batches++;
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = null;
    await this.running;
    for (const w of this.idleWaiters.splice(0)) w();
  }
}
