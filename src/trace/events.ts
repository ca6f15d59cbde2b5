/**
 * The message trace events of each step, built from what the step already holds: acceptance (received,
 * stored, queued; written with the message's own commit), refusals at any command, queue results, DSNs
 * sent, and what an administrator did to a queued message.
 */
import type { TraceEventInput } from '../store/types.ts';

/** Where and how a message came in. */
export interface TraceOrigin {
  role: string;
  ip: string;
  helo: string | null;
  tls: string | null;
  user: string | null;
}

/** The policy's verdict on a message, as the trace shows it. */
export interface TraceChecks {
  auth?: { spf: string; dkim: string; dmarc: string } | null;
  spam?: { score: number; verdict: string; shadow: boolean; rules: { test: string; score: number }[] } | null;
}

const MESSAGE_ID = /^Message-ID:[ \t]*(?:\r?\n[ \t]+)*<([^>\r\n]{1,998})>/im;

/** The Message-ID of a header section (latin1 text), without angle brackets; null when it has none. */
export function messageIdOf(headerText: string): string | null {
  return MESSAGE_ID.exec(headerText)?.[1] ?? null;
}

/**
 * The trace of an accepted message: ONE `received` row (the cheapest write on the acceptance path) whose
 * data also says where it was stored and what was queued; searches show those as the `stored` and `queued`
 * steps (store/trace-query.ts expandAcceptance).
 */
export function acceptanceEvents(input: {
  queueId: string;
  messageId: string | null;
  sender: string;
  recipients: string[];
  origin: TraceOrigin;
  size: number;
  checks?: TraceChecks;
  stored: string[];
  folder?: 'inbox' | 'junk';
  queued: string[];
  at?: Date;
}): TraceEventInput[] {
  const o = input.origin;
  return [{
    at: input.at ?? new Date(), queueId: input.queueId, messageId: input.messageId, sender: input.sender, event: 'received', result: 'accepted', recipients: input.recipients,
    data: {
      role: o.role, ip: o.ip, helo: o.helo, tls: o.tls, user: o.user, size: input.size,
      ...(input.checks?.auth ? { auth: input.checks.auth } : {}), ...(input.checks?.spam ? { spam: input.checks.spam } : {}),
      ...(input.stored.length > 0 ? { stored: input.stored, folder: input.folder ?? 'inbox' } : {}),
      ...(input.queued.length > 0 ? { queued: input.queued } : {}),
    },
  }];
}

/** A refused command (CONNECT, MAIL, RCPT, DATA): who, what and why. */
export function refusalEvent(input: {
  /** The transaction id, or the session id for refusals before a transaction began. */
  queueId: string;
  command: string;
  sender: string | null;
  recipients: string[];
  origin: TraceOrigin;
  code: number;
  status: string;
  text: string;
  rule: string;
  messageId?: string | null;
  checks?: TraceChecks;
}): TraceEventInput {
  const o = input.origin;
  return {
    at: new Date(), queueId: input.queueId, event: 'rejected', result: input.code < 500 ? 'tempfail' : 'rejected', reason: input.rule,
    messageId: input.messageId ?? null, sender: input.sender, recipients: input.recipients,
    data: {
      role: o.role, ip: o.ip, helo: o.helo, tls: o.tls, user: o.user, command: input.command, reply: `${input.code} ${input.status} ${input.text}`,
      ...(input.checks?.auth ? { auth: input.checks.auth } : {}), ...(input.checks?.spam ? { spam: input.checks.spam } : {}),
    },
  };
}

/** A DSN queued for the sender of `message` (by the queue's own results or by an administrator's bounce). */
export function dsnEvent(message: { id: string; sender: string }, dsn: { dsnQueueId: string; to: string; action: string; recipients: string[]; at: Date }): TraceEventInput {
  return { at: dsn.at, queueId: message.id, event: 'dsn', result: dsn.action, sender: message.sender, recipients: dsn.recipients, data: { dsnQueueId: dsn.dsnQueueId, to: dsn.to, action: dsn.action } };
}

/** Recipients an administrator failed at once (queue bounce): who did it and the reason the DSN gives. */
export function adminBounceEvents(input: { message: { id: string; sender: string }; recipients: string[]; by: string; reason: string; at: Date }): TraceEventInput[] {
  return input.recipients.map((address) => ({
    at: input.at, queueId: input.message.id, event: 'bounced', result: 'bounced', reason: 'admin', sender: input.message.sender, recipients: [address],
    data: { by: input.by, reply: `5.0.0 ${input.reason}` },
  }));
}

/** A queued message an administrator deleted without a DSN: its pending recipients will not get it. */
export function adminDeleteEvent(input: { message: { id: string; sender: string }; recipients: string[]; by: string; at: Date }): TraceEventInput {
  return { at: input.at, queueId: input.message.id, event: 'deleted', result: 'deleted', reason: 'admin', sender: input.message.sender, recipients: input.recipients, data: { by: input.by } };
}
