/**
 * What the MX and submission hook sets share: verdicts that carry the name of the rule that decided, the
 * one log line per transaction and per refusal, the in-flight budget at DATA, and the message sink that
 * spools the data and turns faults into 451.
 */
import type { Logger } from '../core/log.ts';
import type { Config } from '../config/schema.ts';
import { commitFailureReply } from '../delivery/commit.ts';
import type { InflightBudget } from '../delivery/inflight-budget.ts';
import { bufferProblemReply, type BufferProblem, type MessageBuffer } from '../delivery/message-buffer.ts';
import type { PolicyReply } from '../policy/types.ts';
import type { Envelope, MessageSink, SessionInfo, SmtpRole, SmtpServerHooks, Verdict } from '../protocols/smtp/hooks.ts';
import type { EnvelopeAddress } from '../protocols/smtp/path.ts';
import type { Metrics } from '../metrics/metrics.ts';
import { refusalEvent, type TraceChecks, type TraceOrigin } from '../trace/events.ts';
import type { TraceSink } from '../trace/recorder.ts';

export const OK: Verdict = { ok: true };

/** A refusal; `rule` names the check that decided, for the log line (never sent to the client). */
export function refuse(code: number, enhancedCode: string, text: string, rule?: string): Verdict {
  const verdict: Verdict & { rule?: string } = { ok: false, code, enhancedCode, text };
  if (rule) verdict.rule = rule;
  return verdict;
}

function ruleOf(verdict: Verdict): string | null {
  return (verdict as { rule?: string }).rule ?? null;
}

/** A policy gate's refusal as a Verdict, keeping the policy's rule name. */
export function refusePolicy(reply: PolicyReply): Verdict {
  return refuse(reply.code, reply.enhancedCode, reply.text, reply.rule ?? 'policy');
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** Recipient address as the resolver sees it; `<postmaster>` is our host's postmaster (RFC 5321 §4.5.1). */
export function recipientAddress(mailbox: EnvelopeAddress, hostname: string): string {
  return mailbox.domain === '' ? `postmaster@${hostname}` : mailbox.address;
}

/**
 * What the end of data learned about one transaction (where it was delivered, the spam verdict, the rule of
 * a refusal), added to its smtp.transaction log line: one line per transaction says all of it.
 */
export interface TransactionNote {
  delivered?: string[];
  queued?: string[];
  folder?: 'inbox' | 'junk';
  spam?: { score: number; verdict: string; tests: string[]; shadow?: boolean };
  auth?: { spf: string; dkim: string; dmarc: string };
  rule?: string | null;
}

/** Where a session came from, as the message trace records it. */
export function traceOrigin(role: SmtpRole, info: SessionInfo): TraceOrigin {
  return { role, ip: info.remoteAddress, helo: info.helo, tls: info.tls?.protocol ?? null, user: info.identity?.address ?? null };
}

/** The policy results of a transaction note, as the message trace records them (the rules with their scores). */
export function traceChecks(note: Pick<TransactionNote, 'auth' | 'spam'>): TraceChecks {
  const spam = note.spam;
  return {
    auth: note.auth ?? null,
    spam: spam ? { score: spam.score, verdict: spam.verdict, shadow: spam.shadow ?? false, rules: spam.tests.map((t) => ({ test: t.slice(0, t.lastIndexOf('=')), score: Number(t.slice(t.lastIndexOf('=') + 1)) })) } : null,
  };
}

/** The observers of SMTP transactions: metrics counters and the message trace. */
export interface SmtpObservers {
  metrics: Metrics | null;
  trace: TraceSink;
}

/** Notes waiting for their transaction's log line; bounded so that a lost line cannot grow it forever. */
export class TransactionNotes {
  private readonly notes = new Map<string, TransactionNote>();
  set(transactionId: string, note: TransactionNote): void {
    if (this.notes.size >= 10_000) this.notes.clear();
    // Merged with Object.assign: V8 (Node 20) makes `{ ...a, ...b }` take microseconds per object.
    const had = this.notes.get(transactionId);
    this.notes.set(transactionId, had ? Object.assign(had, note) : Object.assign({}, note));
  }
  take(transactionId: string): TransactionNote {
    const note = this.notes.get(transactionId) ?? {};
    this.notes.delete(transactionId);
    return note;
  }
  /** Where the message went (mailbox copies, queued recipients), for the transaction's log line. */
  delivered(transactionId: string, where: { delivered: string[]; queued: string[]; folder: 'inbox' | 'junk' }): void {
    const note: TransactionNote = {};
    if (where.delivered.length > 0) {
      note.delivered = where.delivered;
      note.folder = where.folder;
    }
    if (where.queued.length > 0) note.queued = where.queued;
    this.set(transactionId, note);
  }
}

export interface SinkContext {
  logger: Logger;
  limits: Config['limits'];
  notes: TransactionNotes;
}

/**
 * Spools one message's data and, at its end, hands it to `accept` (the role's rules); a header section over
 * the limits or a spent budget is refused first. Whatever is refused or fails leaves nothing spooled.
 */
export class AcceptingSink implements MessageSink {
  private readonly envelope: Envelope;
  private readonly buffer: MessageBuffer;
  private readonly context: SinkContext;
  private readonly accept: (buffer: MessageBuffer) => Promise<Verdict>;

  /** `accept` is passed on its own, not in `options`: an arrow in an object literal costs a keepNames defineProperty per message. */
  constructor(options: { envelope: Envelope; buffer: MessageBuffer; context: SinkContext }, accept: (buffer: MessageBuffer) => Promise<Verdict>) {
    this.envelope = options.envelope;
    this.buffer = options.buffer;
    this.context = options.context;
    this.accept = accept;
  }

  write(chunk: Buffer): void {
    this.buffer.write(chunk);
  }

  abort(): void {
    this.buffer.tx.abort();
    this.buffer.release();
  }

  async commit(): Promise<Verdict> {
    const { notes, logger } = this.context;
    try {
      const problem = this.buffer.problem;
      const verdict = problem ? this.refuseBuffered(problem) : await this.accept(this.buffer);
      // A refusal must not leave the transaction's spooled body behind (abort is idempotent).
      if (!verdict.ok) {
        this.buffer.tx.abort();
        notes.set(this.envelope.transactionId, { rule: ruleOf(verdict) ?? 'unknown' });
      }
      return verdict;
    } catch (err) {
      this.buffer.tx.abort();
      logger.error({ event: 'smtp.commit_failed', queueId: this.envelope.transactionId, err }, 'commit failed');
      const reply = commitFailureReply(err);
      notes.set(this.envelope.transactionId, { rule: reply.rule });
      return refuse(reply.code, reply.enhancedCode, reply.text);
    } finally {
      this.buffer.release();
    }
  }

  private refuseBuffered(problem: BufferProblem): Verdict {
    const e = this.envelope;
    const reply = bufferProblemReply(problem);
    const limits = this.context.limits;
    this.context.logger.warn({
      event: 'smtp.message_refused', role: e.role, queueId: e.transactionId, ip: e.remoteAddress, sender: e.reversePath?.address ?? '', size: this.buffer.size, problem,
      limit: problem === 'header-size' ? limits.headerSize : problem === 'header-lines' ? limits.headerLines : limits.inflightMessageBytes,
    }, problem === 'budget' ? 'message refused: in-flight message budget spent' : 'message refused: header section over the limit');
    return refuse(reply.code, reply.enhancedCode, reply.text, reply.rule);
  }
}

/** The decision points that differ between the roles; `withSharedHooks` adds what they have in common. */
export type RoleHooks = Pick<SmtpServerHooks, 'checkConnection' | 'checkMailFrom' | 'checkRcptTo' | 'endTransaction' | 'sasl' | 'logins'> & {
  /** The sink for a message the in-flight budget can take. */
  openSink(envelope: Envelope): MessageSink;
};

/**
 * A role's hooks with the shared parts: the budget check before 354, one smtp.refused line per refusal at
 * MAIL and RCPT (naming sender, recipient, code, reason and rule), one smtp.transaction line per
 * transaction, and smtp.error for other protocol errors.
 */
export function withSharedHooks(role: SmtpRole, hooks: RoleHooks, deps: { logger: Logger; config: Config; inflight: InflightBudget; notes: TransactionNotes } & SmtpObservers): SmtpServerHooks {
  const { logger, config, inflight, notes, metrics, trace } = deps;
  /** Sessions whose last refusal was logged as smtp.refused; the engine's smtp.error for it is then skipped. */
  const refusalsLogged = new Set<string>();
  const logRefusal = (info: SessionInfo & { transactionId?: string }, command: 'MAIL' | 'RCPT', who: { sender: string; recipient?: string }, verdict: Verdict): void => {
    if (verdict.ok) return;
    metrics?.smtpRefusal(role, command);
    if (trace.enabled) {
      trace.record(refusalEvent({
        queueId: info.transactionId ?? info.sessionId, command, sender: who.sender, recipients: who.recipient ? [who.recipient] : [], origin: traceOrigin(role, info),
        code: verdict.code, status: verdict.enhancedCode, text: verdict.text, rule: ruleOf(verdict) ?? 'unknown',
      }));
    }
    logger.info({
      event: 'smtp.refused', role, session: info.sessionId, ip: info.remoteAddress, user: info.identity?.address ?? null, command, sender: who.sender, recipient: who.recipient ?? null,
      code: verdict.code, status: verdict.enhancedCode, rule: ruleOf(verdict) ?? 'unknown', reason: verdict.text,
    }, `${command} refused`);
    // RFC 5321 §3.8 421 closes the session; the engine logs no smtp.error for it.
    if (verdict.code !== 421) refusalsLogged.add(info.sessionId);
  };
  return {
    sasl: hooks.sasl,
    logins: hooks.logins,
    checkConnection: hooks.checkConnection,

    async checkMailFrom(info, reversePath, params) {
      const verdict = await hooks.checkMailFrom(info, reversePath, params);
      logRefusal(info, 'MAIL', { sender: reversePath?.address ?? '' }, verdict);
      return verdict;
    },

    async checkRcptTo(info, forwardPath, params) {
      const verdict = await hooks.checkRcptTo(info, forwardPath, params);
      logRefusal(info, 'RCPT', { sender: info.reversePath?.address ?? '', recipient: recipientAddress(forwardPath, config.hostname) }, verdict);
      return verdict;
    },

    async beginMessage(envelope) {
      // Refused before 354 when the in-flight budget cannot take even the declared size (RFC 1870 SIZE),
      // so the client does not send what would only be dropped.
      const declared = Math.max(envelope.mailParams.size ?? 0, 1);
      if (inflight.used + declared > inflight.limitBytes) {
        logger.warn({ event: 'smtp.message_refused', role, queueId: envelope.transactionId, ip: envelope.remoteAddress, sender: envelope.reversePath?.address ?? '', size: declared, problem: 'budget', limit: config.limits.inflightMessageBytes }, 'message refused: in-flight message budget spent');
        const reply = bufferProblemReply('budget');
        return refuse(reply.code, reply.enhancedCode, reply.text, reply.rule);
      }
      return hooks.openSink(envelope);
    },

    endTransaction: hooks.endTransaction,

    onTransaction(record) {
      const e = record.envelope;
      const note = notes.take(e.transactionId);
      metrics?.smtpTransaction(role, record.code);
      // Accepted messages are traced by their commit; a refusal at the end of data is traced here.
      if (record.code >= 400 && trace.enabled) {
        trace.record(refusalEvent({
          queueId: e.transactionId, command: 'DATA', sender: e.reversePath?.address ?? '', recipients: e.recipients.map((r) => r.forwardPath.address), origin: traceOrigin(role, e),
          code: record.code, status: record.enhancedCode ?? '', text: record.text, rule: note.rule ?? 'unknown', checks: traceChecks(note),
        }));
      }
      logger.info({
        event: 'smtp.transaction',
        role,
        session: e.sessionId,
        queueId: e.transactionId,
        ip: e.remoteAddress,
        helo: e.helo,
        tls: e.tls?.protocol ?? null,
        user: e.identity?.address ?? null,
        sender: e.reversePath?.address ?? '',
        recipients: e.recipients.map((r) => r.forwardPath.address),
        size: record.size,
        code: record.code,
        status: record.enhancedCode,
        result: record.text,
        ...(note.rule ? { rule: note.rule } : {}),
        ...(note.delivered ? { delivered: note.delivered, folder: note.folder ?? 'inbox' } : {}),
        ...(note.queued ? { queued: note.queued } : {}),
        ...(note.spam ? { spam: note.spam } : {}),
        ...(note.auth ? { auth: note.auth } : {}),
      }, 'smtp transaction');
    },

    onProtocolError(info, detail) {
      // A refusal by a check above was logged with its detail (smtp.refused) just before this reply.
      if (refusalsLogged.delete(info.sessionId)) return;
      logger.info({ event: 'smtp.error', role, session: info.sessionId, ip: info.remoteAddress, command: detail.command, code: detail.code, status: detail.enhancedCode }, 'smtp protocol error');
    },
  };
}
