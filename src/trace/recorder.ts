/**
 * Records message trace events off the acceptance path: events are gathered in memory and written in one
 * batch (one store write joining the backend's group commit) every FLUSH_MS or MAX_BATCH events; events of
 * an accepted message go with its own commit instead (trace/events.ts). Prunes events past trace.retention.
 */
import type { Logger } from '../core/log.ts';
import type { TraceEventInput, TraceStore } from '../store/types.ts';

const FLUSH_MS = 200;
const MAX_BATCH = 500;
/** Events held at most while the store is failing; older ones are dropped (and counted in the log). */
const MAX_HELD = 20_000;
const PRUNE_EVERY_MS = 60 * 60_000;
const PRUNE_CHUNK = 5000;

/** Where events are recorded; `enabled` false makes every call a no-op (trace.enabled). */
export interface TraceSink {
  readonly enabled: boolean;
  record(event: TraceEventInput): void;
}

export const NO_TRACE: TraceSink = { enabled: false, record: () => undefined };

export class TraceRecorder implements TraceSink {
  readonly enabled: boolean;
  readonly #store: Pick<TraceStore, 'appendTrace' | 'pruneTrace'>;
  readonly #logger: Logger;
  readonly #retentionMs: number;
  #pending: TraceEventInput[] = [];
  #timer: NodeJS.Timeout | null = null;
  #pruneTimer: NodeJS.Timeout | null = null;
  #writing: Promise<void> = Promise.resolve();

  constructor(options: { store: Pick<TraceStore, 'appendTrace' | 'pruneTrace'>; logger: Logger; enabled: boolean; retentionMs: number }) {
    this.#store = options.store;
    this.#logger = options.logger;
    this.enabled = options.enabled;
    this.#retentionMs = options.retentionMs;
  }

  record(event: TraceEventInput): void {
    if (!this.enabled) return;
    if (this.#pending.length >= MAX_HELD) this.#pending.shift();
    this.#pending.push(event);
    if (this.#pending.length >= MAX_BATCH) void this.flush();
    else this.#timer ??= setTimeout(() => void this.flush(), FLUSH_MS);
  }

  /** Writes what is gathered; resolves when it (and every earlier batch) is stored or failed. */
  flush(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    const batch = this.#pending;
    this.#pending = [];
    if (batch.length > 0) {
      this.#writing = this.#writing.then(() => this.#store.appendTrace(batch)).catch((err: unknown) => {
        this.#logger.warn({ event: 'trace.write_failed', events: batch.length, err }, 'message trace events could not be stored');
      });
    }
    return this.#writing;
  }

  /** Prunes now and every hour (only the server does: one process per data dir is enough). */
  startPruning(): void {
    if (!this.enabled || this.#pruneTimer) return;
    void this.prune();
    this.#pruneTimer = setInterval(() => void this.prune(), PRUNE_EVERY_MS);
    this.#pruneTimer.unref();
  }

  /** Deletes events older than the retention in small transactions; returns how many. */
  async prune(now = new Date()): Promise<number> {
    const before = new Date(now.getTime() - this.#retentionMs);
    let total = 0;
    try {
      for (;;) {
        const n = await this.#store.pruneTrace(before, PRUNE_CHUNK);
        total += n;
        if (n < PRUNE_CHUNK) break;
      }
      if (total > 0) this.#logger.info({ event: 'trace.pruned', events: total, before: before.toISOString() }, 'old message trace events deleted');
    } catch (err) {
      this.#logger.warn({ event: 'trace.prune_failed', err }, 'pruning the message trace failed');
    }
    return total;
  }

  /** Stops pruning and writes what is pending (before the store closes). */
  async close(): Promise<void> {
    if (this.#pruneTimer) clearInterval(this.#pruneTimer);
    this.#pruneTimer = null;
    await this.flush();
  }
}
