/**
 * The application side of the SMTP engine for both roles. MX: recipients only in our domains
 * (`550 5.1.1` unknown, `554 5.7.1` relay denied), inbound policy, local delivery. Submission: the
 * authenticated user may send only as addresses they own (`553 5.7.1`), RFC 6409 §8 fixes (Message-ID,
 * Date), rate limits (`451 4.7.1`), DKIM signing, local recipients delivered at once, others queued.
 */
import { randomBytes } from 'node:crypto';
import { receivedHeader, returnPathHeader, formatRfc5322Date } from '../delivery/trace.ts';
import { findHeaderEnd, parseHeaderFields, headerValue } from '../message/header-fields.ts';
import { loginProblem } from '../accounts/credential-stamp.ts';
import { checkHeaderSenders, maySendAs } from '../policy/sender-rights.ts';
import { forwardedReturn } from '../policy/dsn-return.ts';
import type { InboundAuthResult } from '../policy/inbound-auth.ts';
import type { SrsReverseResult } from '../policy/srs.ts';
import type { Envelope, MessageSink, SessionInfo, SmtpServerHooks, Verdict } from '../protocols/smtp/hooks.ts';
import type { PolicyReply } from '../policy/types.ts';
import type { Mailbox } from '../protocols/smtp/path.ts';
import { StorageError } from '../core/errors.ts';
import { isVerpBounce, processInboundBounce } from '../queue/bounce-intake.ts';
import { MessageBuffer, type BufferProblem } from '../delivery/message-buffer.ts';
import { messageHead, type MessageParts } from '../policy/message-parts.ts';
import { commitDelivery } from '../delivery/commit.ts';
import { undeliverableReply } from '../delivery/planner.ts';
import type { Resolution } from '../delivery/recipients.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import type { OpenedStore } from '../store/open.ts';
import type { AuthService } from '../accounts/auth-service.ts';
import type { InboundPolicy } from '../policy/index.ts';
import type { SubmissionRateLimiter } from '../policy/submission-rate.ts';
import type { QueueRunner } from '../queue/runner.ts';
import type { DeliveryPlanner } from '../delivery/planner.ts';
import type { AccountLoginWatcher } from '../accounts/login-watcher.ts';
import type { UsageCache } from '../accounts/usage-cache.ts';
import type { SigningKeys } from '../dkim/signing-keys.ts';
import type { CheckPool } from '../policy/check-pool.ts';
import type { InflightBudget } from '../delivery/inflight-budget.ts';
import { exceedsQuota } from '../mail/quota.ts';

/** The services the SMTP hooks use; the composition root builds them first, then the hooks. */
export interface SmtpHookServices {
  config: Config;
  logger: Logger;
  store: OpenedStore;
  auth: AuthService;
  policy: InboundPolicy;
  planner: DeliveryPlanner;
  submissionRate: SubmissionRateLimiter;
  queue: QueueRunner;
  usage: UsageCache;
  logins: AccountLoginWatcher;
  dkimKeys: SigningKeys | null;
  checks: CheckPool;
  inflight: InflightBudget;
}

const OK: Verdict = { ok: true };
/** Header fields a submitted message may carry; more is refused (each From:/Sender: must be seen). */
const MAX_HEADER_FIELDS = 10_000;
/**
 * Body bytes of a VERP bounce read back from the spool for bounce processing: the report parts come before
 * the returned message (RFC 3464 §2), so a forged bounce of any size costs at most this much parsing.
 */
const BOUNCE_READ_MAX_BYTES = 1024 * 1024;

/** The reply for a message the buffer could not take; the header limits keep bombs from every parser. */
function bufferRefusal(problem: BufferProblem): Verdict {
  // RFC 3463 §3.4: X.3.4 "message too big for system"; X.3.1 "mail system full" (temporary).
  if (problem === 'header-size') return refuse(552, '5.3.4', 'Message header section too large', 'header_too_large');
  if (problem === 'header-lines') return refuse(552, '5.3.4', 'Too many lines in the message header section', 'header_too_many_lines');
  return refuse(452, '4.3.1', 'Insufficient system storage for messages in transit, try again later', 'inflight_budget');
}

/** A refusal; `rule` names the check that decided, for the log line (never sent to the client). */
function refuse(code: number, enhancedCode: string, text: string, rule?: string): Verdict {
  const verdict: Verdict & { rule?: string } = { ok: false, code, enhancedCode, text };
  if (rule) verdict.rule = rule;
  return verdict;
}

function ruleOf(verdict: Verdict): string | null {
  return (verdict as { rule?: string }).rule ?? null;
}

/** A policy gate's refusal as a Verdict, keeping the policy's rule name. */
function refusePolicy(reply: PolicyReply): Verdict {
  return refuse(reply.code, reply.enhancedCode, reply.text, reply.rule ?? 'policy');
}

/**
 * What the end of data learned about one transaction (where it was delivered, the spam verdict, the rule of
 * a refusal), added to its smtp.transaction log line: one line per transaction says all of it.
 */
interface TransactionNote {
  delivered?: string[];
  queued?: string[];
  folder?: 'inbox' | 'junk';
  spam?: { score: number; verdict: string; tests: string[] };
  auth?: { spf: string; dkim: string; dmarc: string };
  rule?: string | null;
}

/** Notes waiting for their transaction's log line; bounded so that a lost line cannot grow it forever. */
class TransactionNotes {
  private readonly notes = new Map<string, TransactionNote>();
  set(transactionId: string, note: TransactionNote): void {
    if (this.notes.size >= 10_000) this.notes.clear();
    this.notes.set(transactionId, { ...this.notes.get(transactionId), ...note });
  }
  take(transactionId: string): TransactionNote {
    const note = this.notes.get(transactionId) ?? {};
    this.notes.delete(transactionId);
    return note;
  }
}

/** The RCPT refusal for a local name whose alias expansion reaches no mailbox; null for other resolutions. */
function undeliverable(address: string, resolution: Resolution): Verdict | null {
  if (resolution.kind !== 'undeliverable') return null;
  const r = undeliverableReply(address, resolution.problem);
  return refuse(r.code, r.enhancedCode, r.text, `alias_${resolution.problem.replace(/-/g, '_')}`);
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** Recipient address as the resolver sees it; `<postmaster>` is our host's postmaster (RFC 5321 §4.5.1). */
function recipientAddress(mailbox: Mailbox, hostname: string): string {
  return mailbox.domain === '' ? `postmaster@${hostname}` : mailbox.address;
}

/**
 * A bounce to an SRS address of ours (SRS0=...@hostname) is reversed to the original sender; null when SRS
 * is off or the address is not an SRS address on our hostname.
 */
function srsReversal(services: SmtpHookServices, address: string): SrsReverseResult | null {
  const srs = services.planner.srs;
  if (!srs || domainOf(address) !== services.config.hostname.toLowerCase()) return null;
  const result = srs.reverse(address);
  return result.ok || result.reason !== 'not-srs' ? result : null;
}

export function createSmtpHooks(options: { role: 'mx' | 'submission'; services: SmtpHookServices }): SmtpServerHooks {
  const { role, services } = options;
  const { config, logger, store, planner, policy } = services;
  const hostname = config.hostname;

  /** A local name whose alias expansion reaches no mailbox: refused, and logged so the admin can fix the aliases. */
  async function overQuota(accountIds: number[]): Promise<boolean> {
    // The size is not known at RCPT: an account already at its limit refuses.
    for (const id of accountIds) if (exceedsQuota(await services.usage.quotaUsage(id), 1)) return true;
    return false;
  }

  const notes = new TransactionNotes();
  /** Sessions whose last refusal was logged as smtp.refused; the engine's smtp.error for it is then skipped. */
  const refusalsLogged = new Set<string>();

  const hooks: SmtpServerHooks = {
    sasl: role === 'submission' ? services.auth : undefined,
    logins: role === 'submission' ? services.logins : undefined,

    async checkConnection(info) {
      if (role !== 'mx') return OK;
      const gate = await policy.onConnect(info.remoteAddress);
      if (gate.action === 'accept') return OK;
      logger.info({ event: 'smtp.refused', role, session: info.sessionId, ip: info.remoteAddress, command: 'CONNECT', code: gate.reply.code, status: gate.reply.enhancedCode, rule: gate.reply.rule ?? 'policy', reason: gate.reply.text }, 'connection refused');
      return refusePolicy(gate.reply);
    },

    async checkMailFrom(info, reversePath) {
      const sender = reversePath?.address ?? '';
      if (role === 'submission') {
        const account = info.identity ? await store.getAccountById(info.identity.accountId) : null;
        // The login may have stopped being valid since AUTH (another process removed, disabled or re-keyed
        // the account): refused here even before the session is ended.
        if (!info.identity || !account || loginProblem(info.identity, account) !== null) return refuse(530, '5.7.0', 'Authentication required', account?.disabled ? 'account_disabled' : 'auth_required');
        if (!(await maySendAs(account, sender, store))) return refuse(553, '5.7.1', `Sender address <${sender}> not owned by user ${account.address}`, 'sender_not_owned');
        return OK;
      }
      const gate = await policy.onMailFrom({ ip: info.remoteAddress, helo: info.helo ?? '', sender });
      return gate.action === 'accept' ? OK : refusePolicy(gate.reply);
    },

    async checkRcptTo(info, forwardPath) {
      const address = recipientAddress(forwardPath, hostname);
      if (role === 'submission') {
        // Reserved before the first await, so parallel sessions of one user see each other's recipients;
        // endTransaction records or gives back the reservation.
        const rate = services.submissionRate;
        if (!rate.reserve(info.identity?.address ?? '', info.transactionId)) return refuse(451, '4.7.1', 'Sending rate limit exceeded, try again later', 'submission_rate');
        const resolution = await planner.resolver.resolve(address).catch((err: unknown) => {
          rate.unreserveRecipient(info.transactionId);
          throw err;
        });
        const refusal = resolution.kind === 'unknown-user' ? refuse(550, '5.1.1', `<${address}>: Recipient address rejected: User unknown`, 'unknown_user') : undeliverable(address, resolution);
        if (refusal) {
          rate.unreserveRecipient(info.transactionId);
          return refusal;
        }
        return OK;
      }
      const resolution = await planner.resolver.resolve(address);
      const srs = srsReversal(services, address);
      if (srs && !srs.ok) return refuse(550, '5.7.1', `<${address}>: Invalid SRS address (${srs.reason})`, 'srs_invalid');
      if (srs) {
        const gate = await policy.onRcptTo({ ip: info.remoteAddress, helo: info.helo ?? '', sender: info.reversePath?.address ?? '', recipient: address });
        return gate.action === 'accept' ? OK : refusePolicy(gate.reply);
      }
      // RFC 5321 §3.9 / §7.1: no relaying for unauthenticated clients. Source routes, %-hacks and the like
      // only ever reach a local mailbox if the address itself is local.
      if (resolution.kind === 'not-local') return refuse(554, '5.7.1', `<${address}>: Relay access denied`, 'relay_denied');
      if (resolution.kind === 'unknown-user') return refuse(550, '5.1.1', `<${address}>: Recipient address rejected: User unknown`, 'unknown_user');
      if (resolution.kind === 'undeliverable') return undeliverable(address, resolution)!;
      const accountIds = resolution.targets.flatMap((t) => (t.kind === 'mailbox' ? [t.accountId] : []));
      if (await overQuota(accountIds)) return refuse(452, '4.2.2', `<${address}>: Mailbox full`, 'mailbox_full');
      const gate = await policy.onRcptTo({ ip: info.remoteAddress, helo: info.helo ?? '', sender: info.reversePath?.address ?? '', recipient: address });
      return gate.action === 'accept' ? OK : refusePolicy(gate.reply);
    },

    async beginMessage(envelope) {
      // Refused before 354 when the in-flight budget cannot take even the declared size (RFC 1870 SIZE),
      // so the client does not send what would only be dropped.
      const declared = Math.max(envelope.mailParams.size ?? 0, 1);
      if (services.inflight.used + declared > services.inflight.limitBytes) {
        logger.warn({ event: 'smtp.message_refused', role, queueId: envelope.transactionId, ip: envelope.remoteAddress, sender: envelope.reversePath?.address ?? '', size: declared, problem: 'budget', limit: config.limits.inflightMessageBytes }, 'message refused: in-flight message budget spent');
        return bufferRefusal('budget');
      }
      const limits = { maxBytes: config.limits.headerSize, maxLines: config.limits.headerLines };
      return new AcceptingSink({ envelope, services, notes, buffer: new MessageBuffer({ tx: store.beginDelivery(), limits, budget: services.inflight }) });
    },

    endTransaction(_info, end) {
      if (role === 'submission') services.submissionRate.settle(end.transactionId, end.accepted);
    },

    onTransaction(record) {
      const e = record.envelope;
      const note = notes.take(e.transactionId);
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
        recipients: e.recipients.map((r) => r.mailbox.address),
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
  // Every refusal at MAIL and RCPT is one log line naming sender, recipient, code, reason and rule.
  const checkMailFrom = hooks.checkMailFrom.bind(hooks);
  const checkRcptTo = hooks.checkRcptTo.bind(hooks);
  const logRefusal = (info: SessionInfo, command: 'MAIL' | 'RCPT', who: { sender: string; recipient?: string }, verdict: Verdict): void => {
    if (verdict.ok) return;
    logger.info({
      event: 'smtp.refused', role, session: info.sessionId, ip: info.remoteAddress, user: info.identity?.address ?? null, command, sender: who.sender, recipient: who.recipient ?? null,
      code: verdict.code, status: verdict.enhancedCode, rule: ruleOf(verdict) ?? 'unknown', reason: verdict.text,
    }, `${command} refused`);
    // RFC 5321 §3.8 421 closes the session; the engine logs no smtp.error for it.
    if (verdict.code !== 421) refusalsLogged.add(info.sessionId);
  };
  hooks.checkMailFrom = async (info, reversePath, params) => {
    const verdict = await checkMailFrom(info, reversePath, params);
    logRefusal(info, 'MAIL', { sender: reversePath?.address ?? '' }, verdict);
    return verdict;
  };
  hooks.checkRcptTo = async (info, forwardPath, params) => {
    const verdict = await checkRcptTo(info, forwardPath, params);
    logRefusal(info, 'RCPT', { sender: info.reversePath?.address ?? '', recipient: recipientAddress(forwardPath, hostname) }, verdict);
    return verdict;
  };
  return hooks;
}

/**
 * A recipient accepted at RCPT that now has no mailbox and no queue entry (the aliases or accounts changed
 * since, or a fault): nothing is stored and the client tries again later, when RCPT gives the final answer.
 */
function notAcknowledged(): Verdict {
  return refuse(451, '4.3.0', 'Requested action aborted: a recipient cannot be delivered now, try again later', 'uncovered_recipient');
}

class AcceptingSink implements MessageSink {
  private readonly envelope: Envelope;
  private readonly services: SmtpHookServices;
  private readonly buffer: MessageBuffer;
  private readonly notes: TransactionNotes;

  constructor(options: { envelope: Envelope; services: SmtpHookServices; buffer: MessageBuffer; notes: TransactionNotes }) {
    this.envelope = options.envelope;
    this.services = options.services;
    this.buffer = options.buffer;
    this.notes = options.notes;
  }

  /** Records where the message went (mailboxes, queue) for the transaction's log line. */
  private noteDelivery(plan: { labels: string[]; queue?: { recipients: { address: string }[] } | null }, folder: 'inbox' | 'junk'): void {
    const note: TransactionNote = {};
    if (plan.labels.length > 0) {
      note.delivered = plan.labels;
      note.folder = folder;
    }
    if (plan.queue && plan.queue.recipients.length > 0) note.queued = plan.queue.recipients.map((r) => r.address);
    this.notes.set(this.envelope.transactionId, note);
  }

  write(chunk: Buffer): void {
    this.buffer.write(chunk);
  }

  abort(): void {
    this.buffer.tx.abort();
    this.buffer.release();
  }

  async commit(): Promise<Verdict> {
    try {
      const problem = this.buffer.problem;
      const verdict = problem ? this.refuseBuffered(problem) : this.envelope.role === 'submission' ? await this.commitSubmission() : await this.commitInbound();
      // A refusal must not leave the transaction's spooled body behind (abort is idempotent).
      if (!verdict.ok) {
        this.buffer.tx.abort();
        this.notes.set(this.envelope.transactionId, { rule: ruleOf(verdict) ?? 'unknown' });
      }
      return verdict;
    } catch (err) {
      this.buffer.tx.abort();
      this.services.logger.error({ event: 'smtp.commit_failed', queueId: this.envelope.transactionId, err: String(err) }, 'commit failed');
      // Our own fault: temporary, never 5xx (docs/reliability.md, rule 3).
      this.notes.set(this.envelope.transactionId, { rule: 'local_error' });
      return refuse(451, '4.3.0', err instanceof StorageError ? 'Temporary storage failure, try again later' : 'Local error in processing, try again later');
    } finally {
      this.buffer.release();
    }
  }

  private refuseBuffered(problem: BufferProblem): Verdict {
    const e = this.envelope;
    const verdict = bufferRefusal(problem);
    const limits = this.services.config.limits;
    this.services.logger.warn({
      event: 'smtp.message_refused', role: e.role, queueId: e.transactionId, ip: e.remoteAddress, sender: e.reversePath?.address ?? '', size: this.buffer.size, problem,
      limit: problem === 'header-size' ? limits.headerSize : problem === 'header-lines' ? limits.headerLines : limits.inflightMessageBytes,
    }, problem === 'budget' ? 'message refused: in-flight message budget spent' : 'message refused: header section over the limit');
    return verdict;
  }

  /** Trusted MX clients skip the checks; everything else is checked whatever its size. */
  private inspected(): boolean {
    return this.envelope.role === 'submission' || !this.services.policy.isTrusted(this.envelope.remoteAddress);
  }

  private received(detail: 'full' | 'minimal'): string {
    const e = this.envelope;
    return receivedHeader({
      helo: e.helo,
      remoteAddress: e.remoteAddress,
      hostname: this.services.config.hostname,
      protocol: e.protocol,
      tls: e.tls,
      id: e.transactionId,
      forRecipient: e.recipients.length === 1 ? e.recipients[0]!.mailbox.address : null,
      date: new Date(),
      detail,
    });
  }

  private async commitInbound(): Promise<Verdict> {
    const { services, envelope: e } = this;
    const sender = e.reversePath?.address ?? '';
    let folder: 'inbox' | 'junk' = 'inbox';
    let extraHeaders = '';
    let arcInput: { authResults: string; cv: 'none' | 'pass' | 'fail' } | null = null;
    let auth: InboundAuthResult | null = null;
    // RFC 5321 §6.3: a message with more Received fields than max_hops is looping; refuse it here so no
    // copy is delivered locally and no bounce is sent (the client owns the message).
    const hops = (this.buffer.headerText().match(/^Received:/gim) ?? []).length;
    if (hops > services.config.queue.maxHops) return refuse(554, '5.4.6', `Too many hops (${hops} Received header fields): mail loop`, 'max_hops');
    let parts = this.buffer.parts();
    if (this.inspected()) {
      // The same checks for every size: the body is streamed from the spool, never held whole.
      const result = await services.policy.onData({ parts, envelope: { ip: e.remoteAddress, helo: e.helo ?? '', sender, recipients: e.recipients.map((r) => recipientAddress(r.mailbox, services.config.hostname)) } });
      const v = result.verdict;
      // The spam verdict and authentication results go on the transaction's log line, accepted or not.
      const note: TransactionNote = {};
      if (result.spam) note.spam = { score: result.spam.score, verdict: result.spam.verdict, tests: result.spam.contributions.map((c) => `${c.test}=${c.score}`) };
      if (result.auth) note.auth = { spf: result.auth.spf.result, dkim: result.auth.dkim.map((d) => d.result).join(',') || 'none', dmarc: result.auth.dmarc.result };
      this.notes.set(e.transactionId, note);
      if (v.action === 'reject' || v.action === 'tempfail') {
        this.buffer.tx.abort();
        return refusePolicy(v.reply);
      }
      if (v.action === 'junk') folder = 'junk';
      extraHeaders = result.headersToPrepend;
      arcInput = result.auth?.arcSealInput ?? null;
      auth = result.auth;
      // RFC 8601 §5: forged Authentication-Results claiming our authserv-id are gone from this header.
      parts = this.buffer.parts(result.header);
    }
    // A bounce to a VERP return path is read back before the commit frees the spool: bounce processing needs it.
    const bounce = isVerpBounce({ sender, recipients: e.recipients.map((r) => r.mailbox.address) }) ? await messageHead(parts, BOUNCE_READ_MAX_BYTES) : null;
    // Bounces to our SRS addresses go back to the original sender, which may be off-site (accepted at RCPT).
    let srsReversed = false;
    const recipients = e.recipients.map((r) => {
      const address = recipientAddress(r.mailbox, services.config.hostname);
      const srs = srsReversal(services, address);
      if (!srs?.ok) return { address, orcpt: r.params.orcpt, notify: r.params.notify };
      srsReversed = true;
      return { address: srs.address, orcpt: r.params.orcpt ?? `rfc822;${address}`, notify: r.params.notify };
    });
    const plan = await services.planner.plan({
      sender,
      recipients,
      folder,
      allowRemote: srsReversed,
      envid: e.mailParams.envid,
      // A bounce of what we forward carries the body back only to an authenticated sender.
      ret: forwardedReturn(e.mailParams.ret, { sender, trusted: services.policy.isTrusted(e.remoteAddress), auth }),
      origin: 'smtp',
      queueId: e.transactionId,
    });
    let trace = this.received('full') + extraHeaders;
    if (plan.queue && arcInput && services.config.policy.arcSeal) trace = (await this.arcSet(trace, parts, arcInput, plan.queue.recipients.map((r) => r.orcpt ?? ''))) + trace;
    const outcome = await commitDelivery({
      tx: this.buffer.tx, plan, localHeader: Buffer.from(returnPathHeader(sender)), traceHeader: Buffer.concat([Buffer.from(trace, 'latin1'), parts.header]),
      logger: services.logger, queueId: e.transactionId, origin: 'smtp', sender,
    });
    if (!outcome.ok) return notAcknowledged();
    this.noteDelivery(plan, folder);
    const { result } = outcome;
    for (const id of plan.accountIds) services.usage.add(id, result.size);
    if (result.queueId) services.queue.kick();
    if (bounce) {
      // Already accepted: bounce processing must not change the reply (failures are only logged).
      await processInboundBounce({ sender, recipients: e.recipients.map((r) => r.mailbox.address), message: bounce }, { suppression: services.store, logger: services.logger })
        .catch((err: unknown) => services.logger.warn({ event: 'queue.suppress_failed', queueId: e.transactionId, err: String(err) }, 'bounce processing failed'));
    }
    return { ok: true, text: `Ok: queued as ${e.transactionId}` };
  }

  /**
   * RFC 8617 §5.1: the ARC set a forwarder adds over the message as it leaves (our trace fields included),
   * signed with a DKIM key of our hostname or else of the forwarding alias's domain. '' when no key exists
   * or sealing fails (forwarding goes on unsealed; the failure is logged).
   */
  private async arcSet(trace: string, parts: MessageParts, input: { authResults: string; cv: 'none' | 'pass' | 'fail' }, orcpts: string[]): Promise<string> {
    const { services } = this;
    if (!services.dkimKeys) return '';
    const domains = [services.config.hostname, ...orcpts.map((o) => domainOf(o.replace(/^rfc822;/i, '')))];
    try {
      for (const domain of domains) {
        const [key] = await services.dkimKeys.activeKeys(domain);
        if (!key) continue;
        const sealed = await services.checks.seal({ parts: { header: Buffer.concat([Buffer.from(trace, 'latin1'), parts.header]), body: parts.body }, key, authResults: input.authResults, cv: input.cv });
        return sealed.toString('latin1');
      }
    } catch (err) {
      services.logger.warn({ event: 'policy.arc_seal_failed', queueId: this.envelope.transactionId, err: String(err) }, 'ARC sealing failed');
    }
    return '';
  }

  private async commitSubmission(): Promise<Verdict> {
    const { services, envelope: e } = this;
    const { config, store } = services;
    const account = e.identity ? await store.getAccountById(e.identity.accountId) : null;
    if (!e.identity || !account || loginProblem(e.identity, account) !== null) return refuse(530, '5.7.0', 'Authentication required', 'auth_required');
    const header = this.buffer.header();
    const headerBuf = header.subarray(0, findHeaderEnd(header, 0, header.length).fieldsEnd);
    const fields = parseHeaderFields(headerBuf, 0, headerBuf.length, MAX_HEADER_FIELDS + 1);
    if (fields.length > MAX_HEADER_FIELDS) return refuse(552, '5.3.4', 'Too many header fields', 'too_many_header_fields');
    // RFC 6409 §6.1 / §8: every address of every From: and Sender: field must be one the user may use.
    const senders = await checkHeaderSenders(account, fields, store, { maxAddresses: config.submission.maxSenderAddresses });
    if (!senders.ok) return refuse(senders.code, senders.enhancedCode, senders.text, 'header_sender_not_owned');
    let added = '';
    // RFC 6409 §8.3 (Message-ID) and §8.2 (Date): add when missing.
    if (!headerValue(fields, 'Message-ID')) added += `Message-ID: <${randomBytes(12).toString('hex')}@${config.hostname}>\r\n`;
    if (!headerValue(fields, 'Date')) added += `Date: ${formatRfc5322Date(new Date())}\r\n`;
    const receivedMode = config.submission.receivedHeader;
    const trace = receivedMode === 'none' ? '' : this.received(receivedMode);
    let dkim = '';
    const senderDomain = domainOf(e.reversePath?.address ?? account.address);
    if (services.dkimKeys) {
      // Every size is signed: the body hash is computed from the spool on a worker thread.
      const keys = await services.dkimKeys.activeKeys(senderDomain);
      if (keys.length > 0) dkim = (await services.checks.sign({ header: Buffer.concat([Buffer.from(added, 'latin1'), header]), body: this.buffer.parts().body, domain: senderDomain, keys })).toString('latin1');
    }
    const sender = e.reversePath?.address ?? '';
    const plan = await services.planner.plan({
      sender,
      recipients: e.recipients.map((r) => ({ address: r.mailbox.address, orcpt: r.params.orcpt, notify: r.params.notify })),
      folder: 'inbox',
      allowRemote: true,
      envid: e.mailParams.envid,
      ret: e.mailParams.ret,
      origin: 'submission',
      submitter: account.address,
      queueId: e.transactionId,
    });
    const outcome = await commitDelivery({
      tx: this.buffer.tx, plan, localHeader: Buffer.from(returnPathHeader(sender)), traceHeader: Buffer.concat([Buffer.from(trace + dkim + added, 'latin1'), header]),
      logger: services.logger, queueId: e.transactionId, origin: 'submission', sender,
    });
    if (!outcome.ok) return notAcknowledged();
    this.noteDelivery(plan, 'inbox');
    const { result } = outcome;
    if (result.queueId) services.queue.kick();
    return { ok: true, text: `Ok: queued as ${e.transactionId}` };
  }
}
