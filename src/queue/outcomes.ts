/**
 * Recording delivery results: turns per-recipient replies into queue state (delivered/deferred/bounced),
 * due DSNs (failure, delay, success/relayed) enqueued for the sender, one `queue.attempt` log line per attempt,
 * and removal of messages whose recipients are all final, all in one store transaction per attempt. Used by
 * the runner and by admin bounce.
 */
import type { Logger } from '../core/log.ts';
import type { QueueEnqueueInput, QueueMessageRecord, QueueRecipientRecord, QueueRecipientState, QueueRecipientUpdate, QueueStore } from '../store/types.ts';
import { formatReply, isPositive, isTransient, type SmtpReply } from '../protocols/smtp/client-reply.ts';
import { isDelayWarningDue, isExpired, nextAttemptAt, queuedSince, type RetryPolicy } from './backoff.ts';
import { buildDsn, canSendDsnTo, wantsNotification, type DsnRecipient } from './dsn.ts';

export interface RecipientOutcome {
  recipient: QueueRecipientRecord;
  reply: SmtpReply;
  /** The MX or smarthost that answered (absent for local results and DNS failures). */
  remoteMta?: string | null;
  ip?: string | null;
  tls?: string | null;
  /** The peer took over DSN duties (RFC 3461 §4.3): no success report from us. */
  peerSupportsDsn?: boolean;
  /** Delivered into a local mailbox (success DSN action 'delivered' instead of 'relayed'). */
  local?: boolean;
  /** Decided without an attempt: the recipient is suppressed, or the message outlived queue.max_age. */
  cause?: 'suppressed' | 'expired';
}

/** Told of every recorded result and queued DSN (the message trace, metrics); must not throw. */
export interface OutcomeObserver {
  outcome(message: QueueMessageRecord, outcome: RecipientOutcome, result: { state: QueueRecipientState; attempt: number; reply: string; at: Date }): void;
  dsn(message: QueueMessageRecord, dsn: { dsnQueueId: string; to: string; action: string; recipients: string[]; at: Date }): void;
}

/** Several observers as one: each is told of every result (`dsn` only those that have it). */
export function observers(...list: (Partial<OutcomeObserver> & Pick<OutcomeObserver, 'outcome'>)[]): OutcomeObserver {
  return {
    outcome: (message, outcome, result) => { for (const o of list) o.outcome(message, outcome, result); },
    dsn: (message, dsn) => { for (const o of list) o.dsn?.(message, dsn); },
  };
}

export interface OutcomeContext {
  store: QueueStore;
  logger: Logger;
  hostname: string;
  policy: RetryPolicy;
  now: Date;
  random?: () => number;
  /** Time of the attempt start, for the log line's delay. */
  startedAt?: number;
  /** Where a DSN for mail from `sender` goes (default: the sender); see QueueRunnerOptions.dsnRecipient. */
  dsnRecipient?: (sender: string) => string;
  /** The queue runner whose attempt this was: recording the result ends its lease on each recipient. */
  leaseOwner?: string;
  observer?: OutcomeObserver | null;
}

function statusOf(reply: SmtpReply): string {
  return reply.enhancedCode ?? `${String(reply.code)[0]}.0.0`;
}

/**
 * Stores the outcomes of one attempt for recipients of one message, sends due DSNs; returns the new states.
 * `original` may be a reader, called only when a DSN needs the body.
 */
export async function recordOutcomes(ctx: OutcomeContext, message: QueueMessageRecord, outcomes: RecipientOutcome[], original: Buffer | null | (() => Promise<Buffer | null>)): Promise<QueueRecipientState[]> {
  const { now, policy } = ctx;
  const updates: QueueRecipientUpdate[] = [];
  const failed: DsnRecipient[] = [];
  const delayed: DsnRecipient[] = [];
  const succeeded: DsnRecipient[] = [];
  const states: QueueRecipientState[] = [];
  const since = queuedSince(message);
  const retryUntil = new Date(since.getTime() + policy.maxAgeMs);
  for (const o of outcomes) {
    const r = o.recipient;
    const attempts = r.attempts + 1;
    const text = formatReply(o.reply);
    const base: DsnRecipient = {
      address: r.address,
      orcpt: r.orcpt,
      action: 'failed',
      status: statusOf(o.reply),
      remoteMta: o.reply.local ? null : o.remoteMta ?? null,
      diagnostic: o.reply.local ? null : text,
      lastAttemptAt: now,
    };

    let state: QueueRecipientState;
    if (isPositive(o.reply)) {
      state = 'delivered';
      if (wantsNotification(r.notify, 'delivered') && (o.local || !o.peerSupportsDsn)) {
        succeeded.push({ ...base, action: o.local ? 'delivered' : 'relayed' });
      }
      updates.push({ id: r.id, state, attempts, lastResult: text });
    } else if (isTransient(o.reply) && !isExpired(policy, since, now)) {
      state = 'deferred';
      if (wantsNotification(r.notify, 'delayed') && isDelayWarningDue(policy, since, r.updatedAt, now)) {
        delayed.push({ ...base, action: 'delayed', willRetryUntil: retryUntil });
      }
      updates.push({ id: r.id, state, attempts, nextAttemptAt: nextAttemptAt(policy, attempts, now, since, ctx.random), lastResult: text, keepHeld: true });
    } else {
      state = 'bounced';
      // RFC 3463 §3.5: X.4.7 delivery time expired, when a temporary failure outlived the queue lifetime.
      const status = isTransient(o.reply) ? '4.4.7' : base.status;
      if (wantsNotification(r.notify, 'failed')) failed.push({ ...base, status: status.replace(/^4/, '5'), diagnostic: base.diagnostic ?? text });
      updates.push({ id: r.id, state, attempts, lastResult: isTransient(o.reply) ? `expired: ${text}` : text });
    }
    states.push(state);
    ctx.observer?.outcome(message, o, { state, attempt: attempts, reply: text, at: now });
    ctx.logger.info(
      {
        event: 'queue.attempt',
        queueId: message.id,
        recipient: r.address,
        mx: o.remoteMta ?? null,
        ip: o.ip ?? null,
        tls: o.tls ?? null,
        reply: text,
        result: state,
        delayMs: now.getTime() - message.createdAt.getTime(),
        attempt: attempts,
      },
      'delivery attempt',
    );
  }
  // The results, the DSNs they call for and the removal of a finished message: one transaction, so a crash
  // leaves either none of it or all of it (never a bounce recorded without its DSN).
  const due = ([failed, delayed, succeeded] as const).filter((list) => list.length > 0);
  const body = due.length > 0 && typeof original === 'function' ? await original() : (original as Buffer | null);
  const dsns = due.map((list) => dsnMessage(ctx, message, list, body)).filter((d) => d !== null);
  const recorded = await ctx.store.recordAttempt({
    queueId: message.id,
    updates: ctx.leaseOwner === undefined ? updates : updates.map((u) => ({ ...u, leaseOwner: ctx.leaseOwner })),
    enqueue: dsns.map((d) => ({ input: d.input, body: d.body })),
  });
  dsns.forEach((d, i) => dsnQueued(ctx, message, d, recorded.enqueued[i]!));
  return states;
}

interface DsnMessage {
  input: QueueEnqueueInput;
  body: Buffer;
  to: string;
  recipients: DsnRecipient[];
}

/** The DSN for the message's sender, or null when none may be sent (never to <>; RFC 3461 §6.2 / RFC 5321 §6.1 loop rule). */
function dsnMessage(ctx: Pick<OutcomeContext, 'hostname' | 'now' | 'dsnRecipient'>, message: QueueMessageRecord, recipients: DsnRecipient[], original: Buffer | null): DsnMessage | null {
  if (!canSendDsnTo(message.sender) || recipients.length === 0) return null;
  const to = ctx.dsnRecipient ? ctx.dsnRecipient(message.sender) : message.sender;
  const body = buildDsn({
    reportingMta: ctx.hostname,
    originalSender: to,
    envid: message.envid,
    arrivalDate: message.createdAt,
    ret: message.ret,
    recipients,
    original: original ?? Buffer.alloc(0),
    now: ctx.now,
  });
  return { input: { sender: '', recipients: [{ address: to }], origin: 'dsn' }, body, to, recipients };
}

function dsnQueued(ctx: Pick<OutcomeContext, 'now' | 'logger' | 'observer'>, message: QueueMessageRecord, dsn: DsnMessage, id: string): void {
  const { to, recipients } = dsn;
  ctx.observer?.dsn(message, { dsnQueueId: id, to, action: recipients[0]!.action, recipients: recipients.map((r) => r.address), at: ctx.now });
  ctx.logger.info({ event: 'queue.dsn', queueId: message.id, dsnQueueId: id, to, ret: message.ret, action: recipients[0]!.action, recipients: recipients.map((r) => r.address) }, 'DSN queued');
}

/** Enqueues a DSN for the message's sender (never to <>; RFC 3461 §6.2 / RFC 5321 §6.1 loop rule). */
export async function sendDsn(ctx: Pick<OutcomeContext, 'store' | 'hostname' | 'now' | 'logger' | 'dsnRecipient' | 'observer'>, message: QueueMessageRecord, recipients: DsnRecipient[], original: Buffer | null): Promise<string | null> {
  const dsn = dsnMessage(ctx, message, recipients, original);
  if (!dsn) return null;
  const id = await ctx.store.enqueue(dsn.input, dsn.body);
  dsnQueued(ctx, message, dsn, id);
  return id;
}
