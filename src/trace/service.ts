/**
 * Reading the message trace, for every front end (`postamt trace`, the admin UI and API, the webmail):
 * timelines of the messages a search finds within what the reader may see, and the dashboard's counts.
 */
import type { TraceEventKind, TraceEventRecord, TraceQuery, TraceStore } from '../store/types.ts';

/** One message's timeline: its events oldest first, with what identifies it. */
export interface MessageTimeline {
  queueId: string;
  messageId: string | null;
  sender: string | null;
  recipients: string[];
  firstAt: Date;
  lastAt: Date;
  events: Omit<TraceEventRecord, 'queueId'>[];
}

/**
 * What a reader may see: everything (the local operator, a server admin), the messages from or to their
 * domains (a domain admin), or the messages they submitted themselves (a user).
 */
export type TraceScope =
  | { kind: 'everything' }
  | { kind: 'domains'; domains: readonly string[] }
  | { kind: 'submitted-by'; address: string };

/** A search as a front end asks it: the reader's scope is given apart and cannot be widened by the query. */
export type TraceSearch = Omit<TraceQuery, 'domains' | 'submitter'>;

export interface TraceSummary {
  since: Date;
  accepted: number;
  /** Refusals (at any command, temporary or not), by the rule that decided. */
  rejected: Record<string, number>;
  delivered: number;
  deferred: number;
  bounced: number;
  dsn: number;
}

export class TraceService {
  readonly #store: Pick<TraceStore, 'searchTrace' | 'traceCounts'>;

  constructor(options: { store: Pick<TraceStore, 'searchTrace' | 'traceCounts'> }) {
    this.#store = options.store;
  }

  /**
   * The timelines of the messages that match and that `scope` lets the reader see, newest first. The scope is
   * part of the store's query, so that the limit counts only visible messages.
   */
  async search(scope: TraceScope, search: TraceSearch): Promise<MessageTimeline[]> {
    const { domains: _d, submitter: _s, ...criteria } = search as TraceQuery;
    const query: TraceQuery = scope.kind === 'domains' ? { ...criteria, domains: scope.domains }
      : scope.kind === 'submitted-by' ? { ...criteria, submitter: scope.address }
        : criteria;
    const events = await this.#store.searchTrace(query);
    const byQueue = new Map<string, MessageTimeline>();
    for (const { queueId, ...event } of events) {
      let t = byQueue.get(queueId);
      if (!t) {
        t = { queueId, messageId: null, sender: null, recipients: [], firstAt: event.at, lastAt: event.at, events: [] };
        byQueue.set(queueId, t);
      }
      t.events.push(event);
      t.messageId ??= event.messageId;
      t.sender ??= event.sender;
      if (event.event === 'received' || event.event === 'rejected') for (const r of event.recipients) if (!t.recipients.includes(r)) t.recipients.push(r);
      if (event.at < t.firstAt) t.firstAt = event.at;
      if (event.at > t.lastAt) t.lastAt = event.at;
    }
    return [...byQueue.values()];
  }

  /** What happened since `since` (the dashboard shows the last hour and the last day). */
  async summary(since: Date): Promise<TraceSummary> {
    const out: TraceSummary = { since, accepted: 0, rejected: {}, delivered: 0, deferred: 0, bounced: 0, dsn: 0 };
    const add = (kind: TraceEventKind, n: number): void => {
      if (kind === 'received') out.accepted += n;
      else if (kind === 'delivered' || kind === 'deferred' || kind === 'dsn') out[kind] += n;
      else if (kind === 'bounced' || kind === 'expired' || kind === 'suppressed') out.bounced += n;
    };
    for (const c of await this.#store.traceCounts(since)) {
      if (c.event === 'rejected') out.rejected[c.reason ?? 'unknown'] = (out.rejected[c.reason ?? 'unknown'] ?? 0) + c.count;
      else add(c.event, c.count);
    }
    return out;
  }
}
