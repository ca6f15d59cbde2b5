/**
 * The server's Prometheus metrics (prom-client, one registry per server, no global state). Counters are
 * incremented where the event already happens, through children bound to their labels once (no label
 * hashing per message); gauges of state (open connections, queue depth, WAL size) are read at scrape time.
 */
import { Counter, Gauge, Histogram, Registry } from 'prom-client';

/** What the gauges read at scrape time; set by the composition root once the listeners are up. */
export interface MetricsSources {
  /** Open connections by listener name (smtp, imaps, http, ...). */
  connections(): Record<string, number>;
  /** Open JMAP push connections (EventSource and WebSocket). */
  jmapSessions(): number;
  queue(): Promise<{ messages: number; pendingRecipients: number; oldestCreatedAt: Date | null }>;
  /** Bytes of the SQLite write-ahead log; null on backends without one. */
  walBytes(): number | null;
}

export type SmtpResult = 'accepted' | 'tempfail' | 'rejected';
export type DeliveryOutcome = 'delivered' | 'deferred' | 'bounced';

const SESSION_PROTOCOLS: Record<string, string> = { imap: 'imap', imaps: 'imap', pop3: 'pop3', pop3s: 'pop3', smtp: 'smtp', submission: 'submission', submissions: 'submission' };

export class Metrics {
  readonly registry = new Registry();
  #sources: MetricsSources | null = null;
  readonly #connectionsTotal: Counter<'listener'>;
  readonly #smtpTransactions: Counter<'role' | 'result'>;
  readonly #smtpRefusals: Counter<'role' | 'command'>;
  readonly #messages: Counter<'outcome'>;
  readonly #deliveryLatency: Histogram<'outcome'>;
  readonly #authFailures: Counter<'protocol'>;
  readonly #commitSeconds: Histogram;
  readonly #imapCommandSeconds: Histogram<'command'>;
  /** Bound children by metric and label values, made at first use of each label set (a handful each; IMAP commands: the command table's names only). */
  readonly #bound = new Map<Counter<string> | Histogram<string>, Map<string, Map<string, Counter.Internal | Histogram.Internal<string>>>>();

  constructor() {
    const registers = [this.registry];
    this.#connectionsTotal = new Counter({ name: 'postamt_connections_total', help: 'Connections accepted, by listener.', labelNames: ['listener'], registers });
    new Gauge({
      name: 'postamt_connections_open', help: 'Connections open now, by listener.', labelNames: ['listener'], registers,
      collect: collectInto((g) => { for (const [listener, n] of Object.entries(this.#sources?.connections() ?? {})) g.set({ listener }, n); }),
    });
    new Gauge({
      name: 'postamt_sessions_open', help: 'Sessions open now, by protocol (IMAP and POP3 connections, JMAP push connections).', labelNames: ['protocol'], registers,
      collect: collectInto((g) => {
        const sums: Record<string, number> = { imap: 0, pop3: 0, jmap: this.#sources?.jmapSessions() ?? 0 };
        for (const [listener, n] of Object.entries(this.#sources?.connections() ?? {})) {
          const protocol = SESSION_PROTOCOLS[listener];
          if (protocol === 'imap' || protocol === 'pop3') sums[protocol] = (sums[protocol] ?? 0) + n;
        }
        for (const [protocol, n] of Object.entries(sums)) g.set({ protocol }, n);
      }),
    });
    this.#smtpTransactions = new Counter({ name: 'postamt_smtp_transactions_total', help: 'SMTP transactions that reached the end of DATA, by role (mx, submission) and result (accepted, tempfail, rejected).', labelNames: ['role', 'result'], registers });
    this.#smtpRefusals = new Counter({ name: 'postamt_smtp_refusals_total', help: 'SMTP commands refused by a check, by role and command (CONNECT, MAIL, RCPT).', labelNames: ['role', 'command'], registers });
    this.#messages = new Counter({ name: 'postamt_messages_total', help: 'Messages accepted (stored or queued, by any front end), and recipients delivered, deferred or bounced by the queue.', labelNames: ['outcome'], registers });
    for (const outcome of ['accepted', 'delivered', 'deferred', 'bounced']) this.#messages.inc({ outcome }, 0);
    this.#deliveryLatency = new Histogram({
      name: 'postamt_delivery_latency_seconds', help: 'From queueing to the final result of a recipient (delivered or bounced).', labelNames: ['outcome'], registers,
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600, 4 * 3600, 24 * 3600, 5 * 24 * 3600],
    });
    this.#authFailures = new Counter({ name: 'postamt_auth_failures_total', help: 'Failed logins, by protocol (smtp, imap, pop3, http).', labelNames: ['protocol'], registers });
    this.#commitSeconds = new Histogram({
      name: 'postamt_store_commit_seconds', help: 'Time for a received message to become durable (the store commit, group commit and fsync included).', registers,
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    });
    this.#imapCommandSeconds = new Histogram({
      name: 'postamt_imap_command_seconds', help: 'Time from the start of an IMAP command (or from the answer before it, if later) to its tagged response (a write: until it is durable), by command (FETCH, UID STORE, APPEND, ...).', labelNames: ['command'], registers,
      buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    });
    new Gauge({
      name: 'postamt_queue_messages', help: 'Messages in the outbound queue.', registers,
      collect: async function () { this.set((await queueOf())?.messages ?? 0); },
    });
    new Gauge({
      name: 'postamt_queue_recipients_pending', help: 'Queued recipients still to be delivered (queued, deferred or held).', registers,
      collect: async function () { this.set((await queueOf())?.pendingRecipients ?? 0); },
    });
    new Gauge({
      name: 'postamt_queue_oldest_age_seconds', help: 'Age of the oldest entry in the outbound queue (0 when empty).', registers,
      collect: async function () {
        const oldest = (await queueOf())?.oldestCreatedAt;
        this.set(oldest ? Math.max(0, (Date.now() - oldest.getTime()) / 1000) : 0);
      },
    });
    new Gauge({
      name: 'postamt_store_wal_bytes', help: 'Size of the SQLite write-ahead log (absent on PostgreSQL).', registers,
      collect: collectInto((g) => {
        const bytes = this.#sources?.walBytes() ?? null;
        if (bytes !== null) g.set(bytes);
      }),
    });
    // The three queue gauges of one scrape share one read of the store.
    let pending: Promise<Awaited<ReturnType<MetricsSources['queue']>> | null> | null = null;
    const queueOf = () => {
      pending ??= (this.#sources?.queue() ?? Promise.resolve(null)).finally(() => setImmediate(() => { pending = null; }));
      return pending;
    };
  }

  setSources(sources: MetricsSources): void {
    this.#sources = sources;
  }

  /** The child of `metric` for these label values, bound at first use: no label hashing or string building per event. */
  #child(metric: Counter<string>, a: string, b?: string): Counter.Internal;
  #child(metric: Histogram<string>, a: string, b?: string): Histogram.Internal<string>;
  #child(metric: Counter<string> | Histogram<string>, a: string, b?: string): Counter.Internal | Histogram.Internal<string> {
    let byA = this.#bound.get(metric);
    if (!byA) this.#bound.set(metric, (byA = new Map()));
    let byB = byA.get(a);
    if (!byB) byA.set(a, (byB = new Map()));
    const key = b ?? '';
    let child = byB.get(key);
    if (!child) byB.set(key, (child = b === undefined ? metric.labels(a) : metric.labels(a, b)));
    return child;
  }

  connectionAccepted(listener: string): void {
    this.#child(this.#connectionsTotal, listener).inc();
  }

  smtpTransaction(role: string, code: number): void {
    const result: SmtpResult = code < 400 ? 'accepted' : code < 500 ? 'tempfail' : 'rejected';
    this.#child(this.#smtpTransactions, role, result).inc();
  }

  smtpRefusal(role: string, command: string): void {
    this.#child(this.#smtpRefusals, role, command).inc();
  }

  /** messageAccepted bound once, for the commit's callback (no closure per message). */
  readonly onAccepted = (commitMs: number): void => this.messageAccepted(commitMs);

  /** A received message became durable after `commitMs` (stored in mailboxes and/or queued). */
  messageAccepted(commitMs: number): void {
    this.#child(this.#messages, 'accepted').inc();
    this.#commitSeconds.observe(commitMs / 1000);
  }

  /** The result of one delivery attempt for one recipient; `ageMs` since the message was queued. */
  deliveryResult(outcome: DeliveryOutcome, ageMs: number): void {
    this.#child(this.#messages, outcome).inc();
    if (outcome !== 'deferred') this.#deliveryLatency.observe({ outcome }, Math.max(0, ageMs) / 1000);
  }

  /** An IMAP command answered after `ms` (see ImapSessionOptions.commandTimed). */
  imapCommand(command: string, ms: number): void {
    this.#child(this.#imapCommandSeconds, command).observe(ms / 1000);
  }

  authFailure(protocol: string): void {
    this.#child(this.#authFailures, protocol).inc();
  }

  /** The Prometheus text exposition. */
  async text(): Promise<string> {
    return this.registry.metrics();
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  /** The current values as plain numbers (for the admin dashboard): name{labels} → value. */
  async figures(): Promise<Record<string, number>> {
    const out: Record<string, number> = {};
    for (const metric of await this.registry.getMetricsAsJSON()) {
      if ((metric.type as unknown) === 'histogram') continue; // typed as an enum, a string at run time
      for (const v of metric.values) {
        const labels = Object.entries(v.labels).map(([k, l]) => `${k}="${String(l)}"`).join(',');
        out[labels ? `${metric.name}{${labels}}` : metric.name] = v.value;
      }
    }
    return out;
  }
}

/** A gauge collect callback that resets the gauge first (label sets that went away disappear). */
function collectInto(fill: (g: Gauge<string>) => void): (this: Gauge<string>) => void {
  return function (this: Gauge<string>) {
    this.reset();
    fill(this);
  };
}
