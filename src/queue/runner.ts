/**
 * The delivery scheduler: picks due recipients from the QueueStore, groups them by message and destination,
 * delivers with per-destination and global connection limits (reusing connections), backs off dead
 * destinations, hands local domains to the app's hook, and records every result right after the reply.
 * Crash safety: state changes only when a result is recorded, so recipients in flight at a crash are due again.
 * Several nodes on one store: recipients are claimed under a lease (renewed while the attempt runs), so each is
 * attempted by one node at a time; a dead node's recipients are claimed by another once its leases expire.
 */
import { TLSRPT_ORIGIN } from './tls-report-origin.ts';
import { randomBytes } from 'node:crypto';
import { hostname as osHostname } from 'node:os';
import type { Logger } from '../core/log.ts';
import { errorMessage } from '../core/errors.ts';
import type { Resolver } from '../dns/resolver.ts';
import type { QueueMessageRecord, QueueRecipientRecord, QueueStore } from '../store/types.ts';
import type { SuppressionStore } from '../store/types.ts';
import { hasEightBit } from '../protocols/smtp/client-data.ts';
import { makeReply, type SmtpReply } from '../protocols/smtp/client-reply.ts';
import type { ClientTimeouts, ClientTlsMode, TransactionResult } from '../protocols/smtp/client-session.ts';
import { DEFAULT_RETRY_POLICY, isExpired, nextAttemptAt, queuedSince, type RetryPolicy } from './backoff.ts';
import type { TlsAttemptRecorder } from '../outbound-tls/attempt.ts';
import type { DomainTls, OutboundTlsPolicy } from '../outbound-tls/policy.ts';
import { connectRoute, type RouteConnection } from './connect-route.ts';
import { DeliveryThreads, ThreadConnection as ThreadConnectionClass } from './delivery-threads.ts';
import { countReceivedHeaders } from './dsn.ts';
import { recordOutcomes, type OutcomeObserver, type RecipientOutcome } from './outcomes.ts';
import { resolveRoute, type Route, type RoutingOptions } from './route.ts';

/** Internal errors on one message before it is quarantined (held). */
export const POISON_LIMIT = 5;

const KICK_COALESCE_MS = 5;

export interface LocalDelivery {
  isLocalDomain(domain: string): boolean | Promise<boolean>;
  /** Delivers into the mailbox; answers like an SMTP server would (250, 4xx, 5xx). */
  deliver(recipient: QueueRecipientRecord, message: QueueMessageRecord, body: Buffer): Promise<SmtpReply>;
}

export interface QueueRunnerOptions {
  store: QueueStore;
  resolver: Resolver;
  logger: Logger;
  /** Our host name: EHLO, Reporting-MTA, MAILER-DAEMON@. */
  hostname: string;
  routing?: RoutingOptions;
  retry?: Partial<RetryPolicy>;
  local?: LocalDelivery | null;
  suppression?: SuppressionStore | null;
  /** Where a DSN for mail from `sender` goes: our own SRS addresses are reversed here instead of looping through our MX. */
  dsnRecipient?: (sender: string) => string;
  maxConnections?: number; // default 50
  maxConnectionsPerDestination?: number; // default 5
  /**
   * How long a connection with nothing left to send waits for the next message to its destination before it
   * says QUIT (default 2 s; 0: at once). Saves a connect, greeting and EHLO per message when mail trickles in.
   */
  connectionCacheMs?: number;
  /** RFC 5321 §4.5.3.1.8: servers take at least 100 recipients per transaction. */
  maxRecipientsPerTransaction?: number;
  /** RFC 5321 §6.3: more Received fields than this is a loop (default 50). */
  maxHops?: number;
  /**
   * After every host of a destination failed, leave its mail alone this long (default 60 s), unless an
   * administrator asks for a retry of some of it after the failure (QueueRecipientRecord.retryRequestedAt).
   */
  destinationBackoffMs?: number;
  pollIntervalMs?: number; // default 30 s
  /** How long a claim on a recipient lasts without renewal (default 60 s; renewed every third of it while in flight). */
  leaseMs?: number;
  /** This runner's name in leases (default: host name, pid and a random part). */
  leaseOwner?: string;
  batchSize?: number; // default 500
  mxTlsMode?: ClientTlsMode;
  allowPlainFallback?: boolean;
  ca?: string | Buffer | (string | Buffer)[];
  connectTimeoutMs?: number;
  timeouts?: Partial<ClientTimeouts>;
  /** DANE and MTA-STS for MX delivery; null: opportunistic TLS only. */
  outboundTls?: OutboundTlsPolicy | null;
  /** Every TLS negotiation with an MX host, for TLS-RPT. */
  tlsReport?: TlsAttemptRecorder | null;
  now?: () => Date;
  random?: () => number;
  /** Told of every result and DSN (the message trace, metrics). */
  observer?: OutcomeObserver | null;
  /**
   * Worker threads that run the outbound SMTP sessions (connect, client engine, body read, socket writes);
   * 0 or a store without queueBodySource() (PostgreSQL): all in the main thread. Default 0.
   */
  deliveryThreads?: number;
}

interface Job {
  message: QueueMessageRecord;
  recipients: QueueRecipientRecord[];
  route: Route;
}

/** A destination none of whose hosts could be reached: when that was found, and until when it is left alone. */
interface DownMark {
  since: number;
  until: number;
}

interface Destination {
  key: string;
  jobs: Job[];
  /** Workers of this destination, busy or waiting with an open connection; not those closing theirs. */
  workers: number;
  /** Workers waiting with an open connection: called with true for a new job, false to close. */
  waiting: ((go: boolean) => void)[];
}

export class QueueRunner {
  readonly #o: QueueRunnerOptions;
  readonly #policy: RetryPolicy;
  /**
   * Recipients being attempted, by queue id and recipient id: a recipient id alone can come back (SQLite
   * reuses the row id of a deleted message's last recipient), and a new recipient that got the id of one
   * whose result is still being written must not be taken for it.
   */
  readonly #inFlight = new Map<string, number>();
  readonly #destinations = new Map<string, Destination>();
  /**
   * Dead destinations by key, kept apart from #destinations (whose entries go when their last worker ends) so
   * that mail arriving later is left alone too; an expired mark goes when the next one is set.
   */
  readonly #down = new Map<string, DownMark>();
  #connections = 0;
  /** Workers waiting with an open connection (no delivery in progress). */
  #waiting = 0;
  #closedWaiters: (() => void)[] = [];
  #running = false;
  #timer: NodeJS.Timeout | null = null;
  #ticking: Promise<void> | null = null;
  #kicked = false;
  /** The last pass found the in-flight limit reached: the next release kicks a pass. */
  #full = false;
  #kickTimer: NodeJS.Timeout | null = null;
  #idleWaiters: (() => void)[] = [];
  readonly #leaseOwner: string;
  readonly #leaseMs: number;
  #renewTimer: NodeJS.Timeout | null = null;
  readonly #threads: DeliveryThreads | null;

  constructor(options: QueueRunnerOptions) {
    this.#o = options;
    this.#policy = { ...DEFAULT_RETRY_POLICY, ...options.retry };
    const source = (options.deliveryThreads ?? 0) > 0 ? options.store.queueBodySource?.() ?? null : null;
    this.#threads = source ? new DeliveryThreads({ size: options.deliveryThreads!, source, logger: options.logger }) : null;
    this.#leaseOwner = options.leaseOwner ?? `${osHostname()}:${process.pid}:${randomBytes(4).toString('hex')}`;
    this.#leaseMs = options.leaseMs ?? 60_000;
  }

  /** The delivery threads, when outbound sessions run on them (status, tests). */
  get deliveryThreads(): DeliveryThreads | null {
    return this.#threads;
  }

  /** The name this runner's leases carry. */
  get leaseOwner(): string {
    return this.#leaseOwner;
  }

  #lease(now: Date): { owner: string; until: Date } {
    return { owner: this.#leaseOwner, until: new Date(now.getTime() + this.#leaseMs) };
  }

  /** While attempts are in flight, their leases are extended every third of the lease time. */
  #keepLeases(): void {
    if (this.#renewTimer || this.#inFlight.size === 0) return;
    this.#renewTimer = setInterval(() => {
      if (this.#inFlight.size === 0) {
        clearInterval(this.#renewTimer!);
        this.#renewTimer = null;
        return;
      }
      const ids = [...this.#inFlight.values()];
      this.#o.store.renewLeases(ids, this.#lease(this.#now())).then((held) => {
        if (held.length < ids.length) {
          const still = new Set(this.#inFlight.values());
          const lost = ids.filter((id) => !held.includes(id) && still.has(id));
          if (lost.length > 0) this.#o.logger.warn({ event: 'queue.lease_lost', recipients: lost }, 'leases on recipients in flight were lost (expired or recorded elsewhere)');
        }
      }, (err: unknown) => this.#o.logger.warn({ event: 'queue.lease_lost', err }, 'could not renew the leases of recipients in flight'));
    }, Math.max(50, Math.floor(this.#leaseMs / 3)));
    this.#renewTimer.unref?.();
  }

  #now(): Date {
    return this.#o.now?.() ?? new Date();
  }

  start(): void {
    if (this.#running) return;
    this.#running = true;
    this.#threads?.start();
    this.kick();
  }

  /** Stops scheduling and waits for deliveries in progress to finish. */
  async stop(): Promise<void> {
    this.#running = false;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    if (this.#kickTimer) clearTimeout(this.#kickTimer);
    this.#kickTimer = null;
    for (const dest of this.#destinations.values()) dest.waiting.splice(0).forEach((close) => close(false));
    await this.#ticking;
    await this.idle();
    if (this.#connections > 0) await new Promise<void>((resolve) => this.#closedWaiters.push(resolve));
    if (this.#renewTimer) clearInterval(this.#renewTimer);
    this.#renewTimer = null;
    await this.#threads?.close();
  }

  /** New mail was queued or an admin asked for a retry: look for due work now. */
  /**
   * Looks for due work soon. Kicks come after every accepted message; those of one burst are coalesced
   * (KICK_COALESCE_MS) into one scan of the queue instead of one scan each.
   */
  kick(): void {
    if (!this.#running) return;
    if (this.#ticking) {
      this.#kicked = true;
      return;
    }
    if (this.#kickTimer) return;
    this.#kickTimer = setTimeout(() => {
      this.#kickTimer = null;
      this.#tick();
    }, KICK_COALESCE_MS);
  }

  #tick(): void {
    if (!this.#running) return;
    if (this.#ticking) {
      this.#kicked = true;
      return;
    }
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    this.#ticking = this.runOnce()
      .catch((err) => this.#o.logger.error({ event: 'queue.error', err }, 'queue run failed'))
      .finally(() => {
        this.#ticking = null;
        if (this.#kicked) {
          this.#kicked = false;
          this.kick();
        } else if (!this.#full) void this.#schedule();
      });
  }

  async #schedule(): Promise<void> {
    if (!this.#running) return;
    const poll = this.#o.pollIntervalMs ?? 30_000;
    let wait = poll;
    try {
      const next = await this.#o.store.nextDueAt();
      if (next) wait = Math.min(poll, Math.max(0, next.getTime() - this.#now().getTime()));
    } catch {
      /* keep the poll interval */
    }
    if (!this.#running || this.#ticking) return;
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = setTimeout(() => this.kick(), Math.max(wait, 10));
    this.#timer.unref?.();
  }

  /** Resolves when no delivery is in progress (connections kept open for the next message may remain). */
  idle(): Promise<void> {
    if (this.#isIdle()) return Promise.resolve();
    return new Promise((resolve) => this.#idleWaiters.push(resolve));
  }

  /**
   * One scheduling pass: picks due recipients and starts their deliveries (tests await idle() after).
   * At most four recipients per connection are held in flight: each claim walks past those already claimed
   * (they stay due in the store until their result is recorded), so an unbounded backlog in memory would
   * make every pass slower while mail arrives faster than it leaves. The rest wait in the store; a
   * recorded result kicks the next pass.
   */
  async runOnce(): Promise<void> {
    const now = this.#now();
    const room = 4 * (this.#o.maxConnections ?? 50) - this.#inFlight.size;
    this.#full = room <= 0;
    if (this.#full) return;
    const due = (await this.#o.store.claimRecipients(now, Math.min(this.#o.batchSize ?? 500, room), this.#lease(now))).filter((r) => !this.#inFlight.has(inFlightKey(r)));
    const byMessage = new Map<string, QueueRecipientRecord[]>();
    for (const r of due) {
      const list = byMessage.get(r.queueId) ?? [];
      list.push(r);
      byMessage.set(r.queueId, list);
    }
    const routes = new Map<string, Promise<Route>>();
    for (const [queueId, recipients] of byMessage) {
      const message = await this.#o.store.getQueueMessage(queueId);
      if (!message) continue;
      recipients.forEach((r) => this.#inFlight.set(inFlightKey(r), r.id));
      this.#keepLeases();
      void this.#dispatchMessage(message, recipients, now, routes).catch((err) => this.#failed(message, recipients, err));
    }
  }

  async #dispatchMessage(message: QueueMessageRecord, recipients: QueueRecipientRecord[], now: Date, routes: Map<string, Promise<Route>>): Promise<void> {
    const immediate: RecipientOutcome[] = [];
    const local: QueueRecipientRecord[] = [];
    const byDomain = new Map<string, QueueRecipientRecord[]>();
    for (const r of recipients) {
      if (isExpired(this.#policy, queuedSince(message), now)) {
        const last = r.lastResult ? ` (last result: ${r.lastResult})` : '';
        immediate.push({ recipient: r, reply: makeReply(451, '4.4.7', `message expired after ${Math.round(this.#policy.maxAgeMs / 3_600_000)} hours in the queue${last}`, { local: true }), cause: 'expired' });
      } else if (this.#o.suppression && (await this.#o.suppression.isSuppressed(r.address.toLowerCase()))) {
        immediate.push({ recipient: r, reply: makeReply(550, '5.7.1', 'recipient address is on the suppression list', { local: true }), cause: 'suppressed' });
      } else if (this.#o.local && (await this.#o.local.isLocalDomain(r.domain))) {
        local.push(r);
      } else {
        const list = byDomain.get(r.domain) ?? [];
        list.push(r);
        byDomain.set(r.domain, list);
      }
    }
    if (immediate.length > 0) await this.#record(message, immediate, null);
    if (local.length > 0) await this.#deliverLocal(message, local);
    for (const [domain, list] of byDomain) {
      let route = routes.get(domain);
      if (!route) {
        route = resolveRoute(domain, this.#o.resolver, this.#o.routing);
        routes.set(domain, route);
      }
      const resolved = await route;
      if (resolved.kind === 'fail') {
        await this.#record(message, list.map((recipient) => ({ recipient, reply: resolved.reply })), null);
        continue;
      }
      this.#enqueueJob({ message, recipients: list, route: resolved });
    }
  }

  async #deliverLocal(message: QueueMessageRecord, recipients: QueueRecipientRecord[]): Promise<void> {
    const body = await this.#o.store.readQueueMessage(message.id);
    const outcomes: RecipientOutcome[] = [];
    for (const recipient of recipients) {
      let reply: SmtpReply;
      try {
        reply = await this.#o.local!.deliver(recipient, message, body);
      } catch (err) {
        reply = makeReply(451, '4.3.0', `local delivery failed: ${errorMessage(err)}`, { local: true });
      }
      outcomes.push({ recipient, reply, local: true, remoteMta: this.#o.hostname });
    }
    await this.#record(message, outcomes, body);
  }

  #enqueueJob(job: Job): void {
    const key = job.route.destination;
    let dest = this.#destinations.get(key);
    if (!dest) {
      dest = { key, jobs: [], workers: 0, waiting: [] };
      this.#destinations.set(key, dest);
    }
    dest.jobs.push(job);
    const waiting = dest.waiting.shift();
    if (waiting) waiting(true);
    else this.#pump();
  }

  #pump(): void {
    const perDest = this.#o.maxConnectionsPerDestination ?? 5;
    const global = this.#o.maxConnections ?? 50;
    for (const dest of this.#destinations.values()) {
      while (dest.jobs.length > dest.workers && dest.workers < perDest && this.#connections < global) {
        dest.workers++;
        this.#connections++;
        void this.#worker(dest);
      }
    }
    if (this.#connections < global || this.#waiting === 0) return;
    // Every connection is taken: those waiting for more mail to their destination make room for mail waiting.
    const starved = [...this.#destinations.values()].some((d) => d.jobs.length > d.workers && d.workers < perDest);
    if (starved) for (const dest of this.#destinations.values()) dest.waiting.splice(0).forEach((close) => close(false));
  }

  /** Waits up to connectionCacheMs for another job for this destination: true when one came. */
  #waitForJob(dest: Destination): Promise<boolean> {
    const ms = this.#o.connectionCacheMs ?? 2000;
    if (ms <= 0 || !this.#running) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.#waiting++;
      const done = (go: boolean): void => {
        clearTimeout(timer);
        const at = dest.waiting.indexOf(done);
        if (at >= 0) dest.waiting.splice(at, 1);
        this.#waiting--;
        resolve(go);
      };
      const timer = setTimeout(() => done(false), ms);
      timer.unref?.();
      dest.waiting.push(done);
      this.#checkIdle();
    });
  }

  async #worker(dest: Destination): Promise<void> {
    // The worker owns the connection from the moment a job opens it: a job that throws after opening one
    // (a body that cannot be read, a thread lost mid-send) must not leave it open, or its socket keeps the
    // process alive after a stop (and the peer's session open) until the peer gives up.
    const held: { conn: RouteConnection | null } = { conn: null };
    try {
      do {
        for (let job = dest.jobs.shift(); job; job = dest.jobs.shift()) {
          try {
            held.conn = await this.#runJob(dest, job, held);
          } catch (err) {
            // After an internal error the connection's state is not known: it is not reused.
            const lost = held.conn;
            held.conn = null;
            await Promise.all([this.#failed(job.message, job.recipients, err), lost?.close().catch(() => undefined)]);
          }
        }
        // Like Postfix's connection cache: an open connection waits a little for the next message to its
        // destination (mail arriving one by one would otherwise cost a connect, greeting and EHLO each).
      } while (held.conn?.isUsable && (await this.#waitForJob(dest)));
    } finally {
      // A closing connection no longer counts towards the destination's limit: a new one may open meanwhile.
      dest.workers--;
      if (dest.workers === 0 && dest.jobs.length === 0) this.#destinations.delete(dest.key);
      this.#pump();
      await held.conn?.close().catch(() => undefined);
      this.#connections--;
      this.#pump();
      this.#checkIdle();
    }
  }

  /**
   * One job on the worker's connection (`held.conn`, reused when usable). Returns the connection to keep for
   * the next job, or null; a connection it opens is put in `held` at once, so the worker closes it even when
   * the job throws.
   */
  async #runJob(dest: Destination, job: Job, held: { conn: RouteConnection | null }): Promise<RouteConnection | null> {
    const reuse = held.conn;
    const now = this.#now();
    const { message } = job;
    const down = this.#down.get(dest.key);
    if (down && down.until > now.getTime() && !this.#retryLifts(dest.key, down, job)) {
      // Per-destination backoff: do not hammer a dead destination; no attempt is counted.
      await this.#o.store.updateRecipients(job.recipients.map((r) => ({ id: r.id, state: r.state === 'queued' && r.attempts === 0 ? 'queued' : 'deferred', nextAttemptAt: new Date(down.until), keepHeld: true, leaseOwner: this.#leaseOwner })));
      this.#release(job.recipients);
      return reuse;
    }
    const maxHops = this.#o.maxHops ?? 50;
    const loopReply = (): SmtpReply => makeReply(554, '5.4.6', `too many hops (more than ${maxHops} Received header fields): mail loop`, { local: true });
    // With delivery threads the body is read, and its hops counted, by the thread that sends it.
    let body: Buffer | null = null;
    if (!this.#threads) {
      body = await this.#o.store.readQueueMessage(message.id);
      if (countReceivedHeaders(body) > maxHops) {
        await this.#record(message, job.recipients.map((recipient) => ({ recipient, reply: loopReply() })), body);
        return reuse;
      }
    }
    if (job.route.kind !== 'hosts') return reuse;
    // RFC 8460 §5.3: a TLS report is delivered despite any TLS failure (the failures it may be reporting),
    // and its own session is not counted in the next report. Its connection, opened without the domain's
    // MTA-STS or DANE demands, is never handed on to other mail.
    const tlsReport = message.origin === TLSRPT_ORIGIN;
    let conn = reuse && reuse.isUsable ? reuse : null;
    if (!conn) {
      await reuse?.close().catch(() => undefined);
      held.conn = null;
      const fromMx = job.route.hosts.some((h) => h.source === 'mx' || h.source === 'implicit-mx');
      let domainTls: DomainTls | null = null;
      if (fromMx && this.#o.outboundTls && !tlsReport) domainTls = await this.#o.outboundTls.forDomain(job.recipients[0]!.domain);
      const opened = await connectRoute(job.route, {
        outboundTls: domainTls && this.#o.outboundTls ? { policy: this.#o.outboundTls, domain: domainTls } : null,
        tlsReport: tlsReport ? null : this.#o.tlsReport,
        resolver: this.#o.resolver,
        heloName: this.#o.hostname,
        routing: this.#o.routing,
        mxTlsMode: tlsReport ? 'opportunistic' : this.#o.mxTlsMode,
        allowPlainFallback: tlsReport ? true : this.#o.allowPlainFallback,
        ca: this.#o.ca,
        connectTimeoutMs: this.#o.connectTimeoutMs,
        timeouts: this.#o.timeouts,
        threads: this.#threads,
      });
      if (!opened.ok) {
        if (!opened.permanent) this.#markDown(dest.key);
        const reply = opened.permanent || opened.reply.code >= 400 ? opened.reply : makeReply(451, '4.4.1', 'connection failed', { local: true });
        await this.#record(message, job.recipients.map((recipient) => ({ recipient, reply, remoteMta: opened.host, ip: opened.ip })), body);
        return null;
      }
      conn = opened.connection;
      held.conn = conn;
      this.#down.delete(dest.key);
    }
    const mta = conn.options.hostname;
    const max = this.#o.maxRecipientsPerTransaction ?? 100;
    if (!(conn instanceof ThreadConnectionClass) && !body) {
      // A connection kept in this thread (its TLS is checked here): read the body and count its hops here.
      body = await this.#o.store.readQueueMessage(message.id);
      if (countReceivedHeaders(body) > maxHops) {
        await this.#record(message, job.recipients.map((recipient) => ({ recipient, reply: loopReply() })), body);
        return conn.isUsable ? conn : null;
      }
    }
    const needs8bit = body ? hasEightBit(body) : false;
    for (let i = 0; i < job.recipients.length; i += max) {
      const batch = job.recipients.slice(i, i + max);
      if (!conn.isUsable) {
        const reply = makeReply(451, '4.4.2', 'connection lost before the transaction', { local: true });
        await this.#record(message, batch.map((recipient) => ({ recipient, reply, remoteMta: mta, ip: conn!.remoteAddress })), body);
        continue;
      }
      const tx = { reversePath: message.sender, recipients: batch.map((r) => ({ address: r.address, notify: r.notify, orcpt: r.orcpt })), envid: message.envid, ret: message.ret };
      let result: TransactionResult;
      if (conn instanceof ThreadConnectionClass) {
        const sent = await conn.sendQueued(tx, message.id, maxHops);
        if (sent.loop !== null) {
          await this.#record(message, job.recipients.slice(i).map((recipient) => ({ recipient, reply: loopReply() })), null);
          break;
        }
        result = sent.result;
      } else result = await conn.send({ ...tx, size: body!.length, needs8bit }, body!);
      const outcomes = batch.map((recipient): RecipientOutcome => {
        const rr = result.recipients.find((x) => x.address === recipient.address);
        return {
          recipient,
          reply: rr?.reply ?? makeReply(451, '4.4.2', 'connection lost', { local: true }),
          remoteMta: mta,
          ip: conn!.remoteAddress,
          tls: conn!.tlsProtocol,
          peerSupportsDsn: result.peerSupportsDsn,
        };
      });
      this.#recordLater(message, outcomes, body);
    }
    if (tlsReport && conn !== reuse) {
      await conn.close().catch(() => undefined);
      return null;
    }
    return conn.isUsable ? conn : null;
  }

  /** Every host of the destination failed just now: its mail is left alone for the destination backoff. */
  #markDown(key: string): void {
    const since = this.#now().getTime();
    for (const [other, mark] of this.#down) if (mark.until <= since) this.#down.delete(other);
    const ms = this.#o.destinationBackoffMs ?? 60_000;
    if (ms > 0) this.#down.set(key, { since, until: since + ms });
  }

  /**
   * An administrator asked for a retry of one of the job's recipients (`postamt queue retry`, the web admin;
   * in this process or another, through the store) after the destination was found dead: the mark goes and
   * the job tries again, as Postfix's `postqueue -f` flushes dead destinations. Only a request newer than the
   * failure lifts it: once that try failed too, the mark is set again and the rest of the retried mail waits.
   */
  #retryLifts(key: string, down: DownMark, job: Job): boolean {
    const retried = job.recipients.find((r) => r.retryRequestedAt !== null && r.retryRequestedAt.getTime() >= down.since);
    if (!retried) return false;
    this.#down.delete(key);
    this.#o.logger.info({ event: 'queue.backoff_lifted', destination: key, queueId: job.message.id, recipient: retried.address, reason: 'retry requested', downSince: new Date(down.since).toISOString(), downUntil: new Date(down.until).toISOString() }, 'an administrator\'s retry lifts the backoff of a dead destination');
    return true;
  }

  /**
   * Records a transaction's results without holding up its connection: the next message goes out while the
   * group commit makes these durable (results of many connections share one transaction and one fsync).
   * Until then the recipients stay in flight: not claimed again, and idle() and stop() wait for them. A crash
   * in between sends them once more, as a crash between the peer's 250 and any record would.
   */
  #recordLater(message: QueueMessageRecord, outcomes: RecipientOutcome[], body: Buffer | null): void {
    this.#record(message, outcomes, body).catch((err: unknown) => this.#failed(message, outcomes.map((o) => o.recipient), err));
  }

  async #record(message: QueueMessageRecord, outcomes: RecipientOutcome[], body: Buffer | null): Promise<void> {
    try {
      const original = body ?? (() => this.#o.store.readQueueMessage(message.id).catch(() => null));
      await recordOutcomes({ store: this.#o.store, logger: this.#o.logger, hostname: this.#o.hostname, policy: this.#policy, now: this.#now(), random: this.#o.random, dsnRecipient: this.#o.dsnRecipient, leaseOwner: this.#leaseOwner, observer: this.#o.observer }, message, outcomes, original);
    } finally {
      this.#release(outcomes.map((o) => o.recipient));
      this.kick(); // a DSN may have been queued, or a retry is due soon
    }
  }

  /**
   * Our own code threw while handling these recipients (a "poison" message, docs/reliability.md rule 6):
   * the failure counts as an attempt with the usual backoff, and after POISON_LIMIT such failures the
   * recipients are held (quarantined) for an admin (`postamt queue show/release/delete`), so one bad message
   * can never keep the queue busy or crash-loop the server. Other messages flow meanwhile.
   */
  async #failed(message: QueueMessageRecord, recipients: QueueRecipientRecord[], err: unknown): Promise<void> {
    const now = this.#now();
    const quarantine = recipients.some((r) => r.attempts + 1 >= POISON_LIMIT);
    this.#o.logger.error({ event: quarantine ? 'queue.quarantined' : 'queue.error', queueId: message.id, recipients: recipients.map((r) => r.address), err }, quarantine ? 'message quarantined after repeated internal errors' : 'delivery failed with an internal error');
    try {
      await this.#o.store.updateRecipients(recipients.map((r) => ({
        id: r.id,
        state: quarantine ? 'held' : 'deferred',
        attempts: r.attempts + 1,
        nextAttemptAt: nextAttemptAt(this.#policy, r.attempts + 1, now, queuedSince(message), this.#o.random),
        lastResult: `${quarantine ? 'quarantined' : 'deferred'}: internal error: ${errorMessage(err)}`.slice(0, 500),
        leaseOwner: this.#leaseOwner,
      })));
    } catch (storeErr) {
      this.#o.logger.error({ event: 'queue.error', queueId: message.id, err: storeErr }, 'could not record the internal error');
    } finally {
      this.#release(recipients);
      this.kick(); // the retry's time is now the next due one
    }
  }

  #release(recipients: QueueRecipientRecord[]): void {
    for (const r of recipients) this.#inFlight.delete(inFlightKey(r));
    if (this.#full) {
      this.#full = false;
      this.kick();
    }
    this.#checkIdle();
  }

  #isIdle(): boolean {
    return this.#connections === this.#waiting && this.#inFlight.size === 0;
  }

  #checkIdle(): void {
    if (this.#isIdle()) this.#idleWaiters.splice(0).forEach((w) => w());
    if (this.#connections === 0) this.#closedWaiters.splice(0).forEach((w) => w());
  }
}

function inFlightKey(r: QueueRecipientRecord): string {
  return `${r.queueId}/${r.id}`;
}
