/**
 * The sending service: every front end that sends mail for a logged-in user (SMTP submission, JMAP
 * EmailSubmission/set, the webmail) goes through it, so sender rights (RFC 6409 §6.1), the header fixes of
 * RFC 6409 §8, DKIM signing, per-user rate limits, local copies and queueing each live here once.
 */
import type { Metrics } from '../metrics/metrics.ts';
import { acceptanceEvents, messageIdOf } from '../trace/events.ts';
import type { TraceSink } from '../trace/recorder.ts';
import { newId } from '../core/ids.ts';
import type { Logger } from '../core/log.ts';
import type { Config } from '../config/schema.ts';
import { loginProblem } from '../accounts/credential-stamp.ts';
import { commitDelivery, commitFailureReply, uncoveredReply } from '../delivery/commit.ts';
import { bufferProblemReply, MessageBuffer } from '../delivery/message-buffer.ts';
import type { InflightBudget } from '../delivery/inflight-budget.ts';
import { undeliverableReply, type DeliveryPlanner } from '../delivery/planner.ts';
import { receivedHeader, returnPathHeader } from '../delivery/trace.ts';
import type { SigningKeys } from '../dkim/signing-keys.ts';
import { findHeaderEnd, parseHeaderFields } from '../message/header-fields.ts';
import type { MessageChecks } from '../policy/message-checks.ts';
import { checkHeaderSenders, maySendAs } from '../policy/sender-rights.ts';
import type { SubmissionRateLimiter } from '../policy/submission-rate.ts';
import type { TlsInfo } from '../protocols/engine.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import type { AccountRecord, Store } from '../store/types.ts';
import type { VacationReplier } from '../delivery/vacation-replier.ts';
import { missingHeaderFields } from './header-fixes.ts';

export interface SubmissionRecipient {
  address: string;
  /** RFC 3461 ORCPT ("rfc822;addr") and NOTIFY, when the front end has them. */
  orcpt?: string | null;
  notify?: string[] | null;
}

export interface SubmissionEnvelope {
  /** The envelope sender (MAIL FROM); '' is the null reverse-path. */
  sender: string;
  recipients: SubmissionRecipient[];
  /** RFC 3461 ENVID and RET, passed on to the DSNs of the queued copies. */
  envid?: string | null;
  ret?: 'FULL' | 'HDRS' | null;
}

/** Where the message came from: the Received: field of the submission (RFC 5321 §4.4) and the log say it. */
export interface SubmissionOrigin {
  remoteAddress: string;
  helo?: string | null;
  /** RFC 3848 `with` keyword (ESMTPSA...) or the front end's protocol name (e.g. HTTPS). */
  protocol: string;
  tls?: TlsInfo | null;
}

/** A refusal: an SMTP-style reply any front end can map, and `rule`, the stable name of the check that decided. */
export interface SubmitRefusal {
  ok: false;
  code: number;
  enhancedCode: string;
  text: string;
  rule: string;
  /** The recipient a per-recipient refusal is about. */
  recipient?: string;
}

export interface SubmitAccepted {
  ok: true;
  /** The id of the stored message and its queue entry (`250 ... queued as ID`). */
  queueId: string;
  text: string;
  /** Mailbox copies made at once (`alice@example.org/INBOX`) and recipients queued for delivery elsewhere. */
  delivered: string[];
  queued: string[];
}

export type SubmitResult = SubmitAccepted | SubmitRefusal;

/**
 * The message as complete bytes (CRLF line ends, as sent over SMTP after dot-unstuffing): a Buffer, a stream
 * of chunks (a draft read from the store), or one already spooled by `openMessage()` (SMTP DATA/BDAT).
 */
export type SubmissionMessage = Uint8Array | AsyncIterable<Uint8Array> | MessageBuffer;

export interface SubmissionServiceOptions {
  config: Pick<Config, 'hostname' | 'submission' | 'limits'>;
  logger: Logger;
  store: Pick<Store, 'getAccountById' | 'getAlias' | 'beginDelivery'>;
  planner: Pick<DeliveryPlanner, 'plan' | 'resolver'>;
  rate: SubmissionRateLimiter;
  queue: { kick(): void };
  /** DKIM keys of our domains; null: nothing is signed. */
  dkimKeys: Pick<SigningKeys, 'activeKeys'> | null;
  checks: Pick<MessageChecks, 'sign'>;
  /** Bytes of messages in transit across the server (limits.inflight_message_bytes). */
  inflight: InflightBudget | null;
  /** The message trace (events of an accepted message go with its commit); absent: none recorded. */
  trace?: TraceSink;
  metrics?: Pick<Metrics, 'onAccepted'> | null;
  /** Vacation responses of local recipients (after the message is durable); none in tests that need none. */
  vacation?: Pick<VacationReplier, 'wants' | 'delivered'> | null;
}

/** Header fields a submitted message may carry; more is refused (each From:/Sender: must be seen). */
const MAX_HEADER_FIELDS = 10_000;

function refusal(code: number, enhancedCode: string, text: string, rule: string, recipient?: string): SubmitRefusal {
  return recipient === undefined ? { ok: false, code, enhancedCode, text, rule } : { ok: false, code, enhancedCode, text, rule, recipient };
}

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export class SubmissionService {
  private readonly o: SubmissionServiceOptions;

  constructor(options: SubmissionServiceOptions) {
    this.o = options;
  }

  /**
   * The account a login sends for, or 530 when the login stopped being valid since it was made (another
   * process removed, disabled or re-keyed the account).
   */
  private async account(identity: AuthIdentity | null): Promise<AccountRecord | SubmitRefusal> {
    const account = identity ? await this.o.store.getAccountById(identity.accountId) : null;
    if (identity && account && loginProblem(identity, account) === null) return account;
    return refusal(530, '5.7.0', 'Authentication required', account?.disabled ? 'account_disabled' : 'auth_required');
  }

  /** The envelope sender (MAIL FROM): the user may send only as addresses they own (RFC 6409 §6.1). */
  async checkSender(identity: AuthIdentity | null, sender: string): Promise<SubmitRefusal | null> {
    const account = await this.account(identity);
    if (!('id' in account)) return account;
    if (!(await maySendAs(account, sender, this.o.store))) return refusal(553, '5.7.1', `Sender address <${sender}> not owned by user ${account.address}`, 'sender_not_owned');
    return null;
  }

  /**
   * One recipient of transaction `transactionId`: counted against the user's hourly limits at once, so
   * parallel transactions of one user see each other's recipients (given back by `settle` unless sent), and
   * refused when it is a local address that reaches no mailbox.
   */
  async addRecipient(identity: AuthIdentity | null, transactionId: string, address: string): Promise<SubmitRefusal | null> {
    const rate = this.o.rate;
    // Reserved before the first await, so that parallel sessions see each other's reservations.
    if (!rate.reserve(identity?.address ?? '', transactionId)) return refusal(451, '4.7.1', 'Sending rate limit exceeded, try again later', 'submission_rate', address);
    const resolution = await this.o.planner.resolver.resolve(address).catch((err: unknown) => {
      rate.unreserveRecipient(transactionId);
      throw err;
    });
    let refused: SubmitRefusal | null = null;
    if (resolution.kind === 'unknown-user') refused = refusal(550, '5.1.1', `<${address}>: Recipient address rejected: User unknown`, 'unknown_user', address);
    else if (resolution.kind === 'undeliverable') {
      const r = undeliverableReply(address, resolution.problem);
      refused = refusal(r.code, r.enhancedCode, r.text, `alias_${resolution.problem.replace(/-/g, '_')}`, address);
    }
    if (refused) rate.unreserveRecipient(transactionId);
    return refused;
  }

  /** The transaction ended: its reserved recipients count as sent when accepted, else they are given back. */
  settle(transactionId: string, accepted: boolean): void {
    this.o.rate.settle(transactionId, accepted);
  }

  /** A spool for one message's bytes: the header section bounded in memory, the body in a store transaction. */
  openMessage(): MessageBuffer {
    const limits = this.o.config.limits;
    return new MessageBuffer({ tx: this.o.store.beginDelivery(), limits: { maxBytes: limits.headerSize, maxLines: limits.headerLines }, budget: this.o.inflight });
  }

  /**
   * The end of data for an envelope whose sender and recipients were accepted (checkSender, addRecipient):
   * refuses a spool over its limits, checks the header senders, adds the missing fields, signs, and stores
   * the local copies and the queue entry in one commit. Resolves only when that is durable; the spool is
   * closed either way. Throws on a storage or local fault (the caller answers 451).
   */
  async commitMessage(input: { identity: AuthIdentity | null; transactionId: string; envelope: SubmissionEnvelope; origin: SubmissionOrigin; message: MessageBuffer; holdUntil?: Date | null }): Promise<SubmitResult> {
    const { config, store } = this.o;
    const { envelope: e, message } = input;
    let committed = false;
    try {
      // The spool stopped taking bytes (header section over the limits, in-flight budget spent).
      if (message.problem) return { ok: false, ...bufferProblemReply(message.problem) };
      const account = await this.account(input.identity);
      if (!('id' in account)) return account;
      const header = message.header();
      const headerBuf = header.subarray(0, findHeaderEnd(header, 0, header.length).fieldsEnd);
      const fields = parseHeaderFields(headerBuf, 0, headerBuf.length, MAX_HEADER_FIELDS + 1);
      if (fields.length > MAX_HEADER_FIELDS) return refusal(552, '5.3.4', 'Too many header fields', 'too_many_header_fields');
      // RFC 6409 §6.1 / §8: every address of every From: and Sender: field must be one the user may use.
      const senders = await checkHeaderSenders(account, fields, store, { maxAddresses: config.submission.maxSenderAddresses });
      if (!senders.ok) return refusal(senders.code, senders.enhancedCode, senders.text, 'header_sender_not_owned');
      const sent = await this.signAndCommit({ transactionId: input.transactionId, envelope: e, origin: input.origin, message, fields, header, signer: e.sender || account.address, submitter: account.address, queueOrigin: 'submission', holdUntil: input.holdUntil ?? null });
      committed = sent.ok;
      return sent;
    } finally {
      // A refusal or a fault must not leave the spooled body behind (abort is idempotent).
      if (!committed) message.tx.abort();
      message.release();
    }
  }

  /**
   * The common end of every send: the missing header fields, Received, the DKIM signature of `signer`'s
   * domain, then the local copies and the queue entry in one durable commit through `commitDelivery`.
   */
  private async signAndCommit(input: {
    transactionId: string; envelope: SubmissionEnvelope; origin: SubmissionOrigin; message: MessageBuffer;
    fields: ReturnType<typeof parseHeaderFields>; header: Buffer; signer: string; submitter: string; queueOrigin: string; holdUntil?: Date | null;
  }): Promise<SubmitResult> {
    const { config } = this.o;
    const { envelope: e, message, header } = input;
    const added = missingHeaderFields(input.fields, { hostname: config.hostname, now: new Date() });
    const receivedMode = config.submission.receivedHeader;
    const trace = receivedMode === 'none' ? '' : receivedHeader({
      helo: input.origin.helo ?? null,
      remoteAddress: input.origin.remoteAddress,
      hostname: config.hostname,
      protocol: input.origin.protocol,
      tls: input.origin.tls ?? null,
      id: input.transactionId,
      forRecipient: e.recipients.length === 1 ? e.recipients[0]!.address : null,
      date: new Date(),
      detail: receivedMode,
    });
    const dkim = await this.dkimSignature(input.signer, Buffer.concat([Buffer.from(added, 'latin1'), header]), message);
    const plan = await this.o.planner.plan({
      sender: e.sender,
      recipients: e.recipients.map((r) => ({ address: r.address, orcpt: r.orcpt ?? null, notify: r.notify ?? null })),
      folder: 'inbox',
      allowRemote: true,
      envid: e.envid ?? null,
      ret: e.ret ?? null,
      origin: input.queueOrigin,
      submitter: input.submitter,
      queueId: input.transactionId,
      holdUntil: input.holdUntil ?? null,
    });
    const metrics = this.o.metrics;
    const headerBuf = header.subarray(0, findHeaderEnd(header, 0, header.length).fieldsEnd);
    const outcome = await commitDelivery({
      tx: message.tx, plan, localHeader: Buffer.from(returnPathHeader(e.sender)), traceHeader: Buffer.concat([Buffer.from(trace + dkim + added, 'latin1'), header]),
      logger: this.o.logger, queueId: input.transactionId, origin: input.queueOrigin, sender: e.sender,
      trace: this.o.trace?.enabled ? acceptanceEvents({
        queueId: input.transactionId, messageId: messageIdOf(added + headerBuf.toString('latin1')), sender: e.sender, recipients: e.recipients.map((r) => r.address),
        origin: { role: input.origin.helo === undefined ? input.origin.protocol.toLowerCase() : 'submission', ip: input.origin.remoteAddress, helo: input.origin.helo ?? null, tls: input.origin.tls?.protocol ?? null, user: input.submitter },
        size: message.size, stored: plan.labels, queued: plan.queue?.recipients.map((r) => r.address) ?? [],
      }) : null,
      onAccepted: metrics?.onAccepted,
    });
    if (!outcome.ok) return { ok: false, ...uncoveredReply() };
    if (outcome.result.queueId) this.o.queue.kick();
    // A user's mail to a colleague on vacation is answered like mail from outside; server-written mail never is.
    if (input.queueOrigin === 'submission' && this.o.vacation?.wants(plan.accountIds)) {
      this.o.vacation.delivered({ queueId: input.transactionId, sender: e.sender, recipients: e.recipients.map((r) => r.address), accountIds: plan.accountIds, header: Buffer.from(header), junk: false });
    }
    return {
      ok: true,
      queueId: input.transactionId,
      text: `Ok: queued as ${input.transactionId}`,
      delivered: plan.labels,
      queued: plan.queue?.recipients.map((r) => r.address) ?? [],
    };
  }

  /**
   * Sends a message the server writes for an account by itself (a vacation reply): no login, no sender
   * rights or rate limits (the caller decides when it may send), a null envelope sender (RFC 3834 §3.3),
   * DKIM-signed for the account's domain, queued or delivered like any submission. Resolves once durable.
   */
  async sendAutomatic(input: { account: string; recipient: string; message: Buffer; origin: string }): Promise<SubmitResult> {
    const transactionId = newId();
    const spool = this.openMessage();
    let result: SubmitResult | null = null;
    try {
      await fill(spool, input.message);
      if (spool.problem) result = { ok: false, ...bufferProblemReply(spool.problem) };
      else {
        const header = spool.header();
        const headerBuf = header.subarray(0, findHeaderEnd(header, 0, header.length).fieldsEnd);
        const fields = parseHeaderFields(headerBuf, 0, headerBuf.length, MAX_HEADER_FIELDS);
        result = await this.signAndCommit({
          transactionId, envelope: { sender: '', recipients: [{ address: input.recipient }] }, origin: { remoteAddress: '127.0.0.1', protocol: 'local' },
          message: spool, fields, header, signer: input.account, submitter: input.account, queueOrigin: input.origin,
        });
      }
    } catch (err) {
      this.o.logger.error({ event: 'submission.commit_failed', queueId: transactionId, user: input.account, err }, 'automatic message failed');
      result = { ok: false, ...commitFailureReply(err) };
    } finally {
      if (!result?.ok) spool.tx.abort();
      spool.release();
    }
    return result;
  }

  /** The DKIM-Signature field(s) for the sender's domain ('' when it has no active key). */
  private async dkimSignature(sender: string, header: Buffer, message: MessageBuffer): Promise<string> {
    if (!this.o.dkimKeys) return '';
    const domain = domainOf(sender);
    const keys = await this.o.dkimKeys.activeKeys(domain);
    if (keys.length === 0) return '';
    // Every size is signed: the body hash is computed from the spool on a worker thread.
    return (await this.o.checks.sign({ header, body: message.parts().body, domain, keys })).toString('latin1');
  }

  /**
   * Sends one complete message for a logged-in user, as one transaction: the sender, every recipient and the
   * message pass the same checks as over SMTP submission, and the result comes only after the commit is
   * durable. For front ends that have the whole envelope at once (JMAP EmailSubmission/set, the webmail).
   * The service owns `message` from here (a spooled one is committed or dropped). One `submission.message`
   * log line per call. `holdUntil`: a delayed send, queued (local recipients too) but held until then.
   */
  async submit(identity: AuthIdentity, envelope: SubmissionEnvelope, message: SubmissionMessage, options: { origin: SubmissionOrigin; holdUntil?: Date | null }): Promise<SubmitResult> {
    const transactionId = newId();
    let spool = message instanceof MessageBuffer ? message : null;
    let result: SubmitResult | null = null;
    try {
      const refused = await this.envelopeRefusal(identity, transactionId, envelope);
      if (refused) result = refused;
      else {
        spool ??= this.openMessage();
        if (!(message instanceof MessageBuffer)) await fill(spool, message);
        result = await this.commitMessage({ identity, transactionId, envelope, origin: options.origin, message: spool, holdUntil: options.holdUntil ?? null });
      }
    } catch (err) {
      this.o.logger.error({ event: 'submission.commit_failed', queueId: transactionId, user: identity.address, err }, 'submission failed');
      result = { ok: false, ...commitFailureReply(err) };
    } finally {
      // Whatever was not committed is dropped (commitMessage did so already; both are idempotent).
      if (!result?.ok) spool?.tx.abort();
      spool?.release();
    }
    this.settle(transactionId, result.ok);
    this.o.logger.info({
      event: 'submission.message', queueId: transactionId, ip: options.origin.remoteAddress, protocol: options.origin.protocol, user: identity.address,
      sender: envelope.sender, recipients: envelope.recipients.map((r) => r.address), size: spool?.size ?? 0,
      code: result.ok ? 250 : result.code, status: result.ok ? '2.0.0' : result.enhancedCode, result: result.text,
      ...(result.ok ? { delivered: result.delivered, queued: result.queued } : { rule: result.rule }),
      ...(options.holdUntil ? { holdUntil: options.holdUntil.toISOString() } : {}),
    }, result.ok ? 'message submitted' : 'submission refused');
    return result;
  }

  /** The checks SMTP makes at MAIL and RCPT, for an envelope given whole; null when it passes. */
  private async envelopeRefusal(identity: AuthIdentity, transactionId: string, envelope: SubmissionEnvelope): Promise<SubmitRefusal | null> {
    const sender = await this.checkSender(identity, envelope.sender);
    if (sender) return sender;
    // RFC 5321 §3.3: a transaction needs at least one recipient.
    if (envelope.recipients.length === 0) return refusal(554, '5.5.1', 'No valid recipients', 'no_recipients');
    // The same per-message limit as RCPT over SMTP (limits.recipients; RFC 5321 §4.5.3.1.8, 452 4.5.3).
    if (envelope.recipients.length > this.o.config.limits.recipients) return refusal(452, '4.5.3', 'Too many recipients', 'too_many_recipients');
    for (const r of envelope.recipients) {
      const refused = await this.addRecipient(identity, transactionId, r.address);
      if (refused) return refused;
    }
    return null;
  }
}

/** Writes the message's bytes into its spool, stopping at the first problem (header limits, budget). */
async function fill(spool: MessageBuffer, message: Uint8Array | AsyncIterable<Uint8Array>): Promise<void> {
  for await (const chunk of message instanceof Uint8Array ? [message] : message) {
    spool.write(Buffer.isBuffer(chunk) ? chunk : Buffer.from(chunk.buffer, chunk.byteOffset, chunk.byteLength));
    if (spool.problem) return;
  }
}
