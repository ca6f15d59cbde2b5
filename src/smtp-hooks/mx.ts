/**
 * The SMTP hooks of the MX role: recipients only in our domains (`550 5.1.1` unknown, `554 5.7.1` relay
 * denied), quota at RCPT, inbound policy (SPF/DKIM/DMARC/ARC, spam, DNS lists), loop detection, bounces to
 * our SRS and VERP addresses, then local delivery and forwarding in one durable commit.
 */
import type { DmarcResults } from '../reports/dmarc-results.ts';
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import type { UsageCache } from '../accounts/usage-cache.ts';
import { commitDelivery, uncoveredReply } from '../delivery/commit.ts';
import type { InflightBudget } from '../delivery/inflight-budget.ts';
import { MessageBuffer } from '../delivery/message-buffer.ts';
import { ProbeDrop } from '../delivery/probe-drop.ts';
import { undeliverableReply, type DeliveryPlanner } from '../delivery/planner.ts';
import type { Resolution } from '../delivery/recipients.ts';
import { receivedHeader, returnPathHeader } from '../delivery/trace.ts';
import type { SigningKeys } from '../dkim/signing-keys.ts';
import { forwardedReturn } from '../policy/dsn-return.ts';
import { exceedsQuota } from '../mail/quota.ts';
import type { InboundAuthResult } from '../policy/inbound-auth.ts';
import type { InboundPolicy } from '../policy/index.ts';
import type { MessageChecks } from '../policy/message-checks.ts';
import { messageHead, type MessageParts } from '../policy/message-parts.ts';
import type { SrsReverseResult } from '../policy/srs.ts';
import type { Envelope, SmtpServerHooks, Verdict } from '../protocols/smtp/hooks.ts';
import { isVerpBounce, processInboundBounce } from '../queue/bounce-intake.ts';
import type { VacationReplier } from '../delivery/vacation-replier.ts';
import type { SuppressionStore } from '../store/types.ts';
import type { Store } from '../store/types.ts';
import { acceptanceEvents, messageIdOf, refusalEvent } from '../trace/events.ts';
import { AcceptingSink, OK, domainOf, recipientAddress, refuse, refusePolicy, traceChecks, traceOrigin, withSharedHooks, TransactionNotes, type SmtpObservers, type TransactionNote } from './shared.ts';

export interface MxHookServices extends SmtpObservers {
  config: Config;
  logger: Logger;
  /** Where messages are stored, and the suppression list that bounces to VERP addresses feed. */
  store: Pick<Store, 'beginDelivery'> & SuppressionStore;
  policy: InboundPolicy;
  planner: DeliveryPlanner;
  queue: { kick(): void };
  /** DMARC results for the daily aggregate reports (null when reports.dmarc is off). */
  dmarcResults?: Pick<DmarcResults, 'record'> | null;
  usage: UsageCache;
  dkimKeys: Pick<SigningKeys, 'activeKeys'> | null;
  checks: Pick<MessageChecks, 'seal'>;
  inflight: InflightBudget;
  /** Vacation responses of the accounts a message reached (after it is durable). */
  vacation: Pick<VacationReplier, 'wants' | 'delivered'>;
  /** `postamt doctor`'s test messages, filed away from every mailbox (null: not accepted). */
  probes?: Pick<ProbeDrop, 'pendingToken' | 'file'> | null;
}

/**
 * Body bytes of a VERP bounce read back from the spool for bounce processing: the report parts come before
 * the returned message (RFC 3464 §2), so a forged bounce of any size costs at most this much parsing.
 */
const BOUNCE_READ_MAX_BYTES = 1024 * 1024;

/** The RCPT refusal for a local name whose alias expansion reaches no mailbox; null for other resolutions. */
function undeliverable(address: string, resolution: Resolution): Verdict | null {
  if (resolution.kind !== 'undeliverable') return null;
  const r = undeliverableReply(address, resolution.problem);
  return refuse(r.code, r.enhancedCode, r.text, `alias_${resolution.problem.replace(/-/g, '_')}`);
}

/**
 * A bounce to an SRS address of ours (SRS0=...@hostname) is reversed to the original sender; null when SRS
 * is off or the address is not an SRS address on our hostname.
 */
function srsReversal(services: MxHookServices, address: string): SrsReverseResult | null {
  const srs = services.planner.srs;
  if (!srs || domainOf(address) !== services.config.hostname.toLowerCase()) return null;
  const result = srs.reverse(address);
  return result.ok || result.reason !== 'not-srs' ? result : null;
}

export function createMxHooks(services: MxHookServices): SmtpServerHooks {
  const { config, logger, store, planner, policy } = services;
  const hostname = config.hostname;
  const notes = new TransactionNotes();

  /** Whether one of the accounts a recipient reaches is at or over its quota. */
  async function overQuota(accountIds: number[]): Promise<boolean> {
    // The size is not known at RCPT: an account already at its limit refuses.
    for (const id of accountIds) if (exceedsQuota(await services.usage.quotaUsage(id), 1)) return true;
    return false;
  }

  return withSharedHooks('mx', {
    async checkConnection(info) {
      const gate = await policy.onConnect(info.remoteAddress);
      if (gate.action === 'accept') return OK;
      services.metrics?.smtpRefusal('mx', 'CONNECT');
      if (services.trace.enabled) {
        const r = gate.reply;
        services.trace.record(refusalEvent({ queueId: info.sessionId, command: 'CONNECT', sender: null, recipients: [], origin: traceOrigin('mx', info), code: r.code, status: r.enhancedCode, text: r.text, rule: r.rule ?? 'policy' }));
      }
      logger.info({ event: 'smtp.refused', role: 'mx', session: info.sessionId, ip: info.remoteAddress, command: 'CONNECT', code: gate.reply.code, status: gate.reply.enhancedCode, rule: gate.reply.rule ?? 'policy', reason: gate.reply.text }, 'connection refused');
      return refusePolicy(gate.reply);
    },

    async checkMailFrom(info, reversePath) {
      const gate = await policy.onMailFrom({ ip: info.remoteAddress, helo: info.helo ?? '', sender: reversePath?.address ?? '' });
      return gate.action === 'accept' ? OK : refusePolicy(gate.reply);
    },

    async checkRcptTo(info, forwardPath) {
      const address = recipientAddress(forwardPath, hostname);
      // `postamt doctor`'s probe: accepted while the doctor waits for it, in a domain of ours; every other
      // address pays one prefix test. The inbound checks run at end of data, where they write its results.
      if (services.probes && ProbeDrop.isProbeAddress(address) && services.probes.pendingToken(address) && (await planner.resolver.isLocalDomain(domainOf(address)))) return OK;
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

    openSink(envelope) {
      const buffer = new MessageBuffer({ tx: store.beginDelivery(), limits: { maxBytes: config.limits.headerSize, maxLines: config.limits.headerLines }, budget: services.inflight });
      return new AcceptingSink({ envelope, buffer, context: { logger, limits: config.limits, notes } }, (b) => new InboundMessage(envelope, b, services, notes).accept());
    },
  }, { logger, config, inflight: services.inflight, notes, metrics: services.metrics, trace: services.trace });
}

/** The end of data of one message received as MX. */
class InboundMessage {
  constructor(
    private readonly envelope: Envelope,
    private readonly buffer: MessageBuffer,
    private readonly services: MxHookServices,
    private readonly notes: TransactionNotes,
  ) {}

  async accept(): Promise<Verdict> {
    const { services, envelope: e } = this;
    const sender = e.reversePath?.address ?? '';
    let folder: 'inbox' | 'junk' = 'inbox';
    let extraHeaders = '';
    let arcInput: { authResults: string; cv: 'none' | 'pass' | 'fail' } | null = null;
    let auth: InboundAuthResult | null = null;
    let checks: TransactionNote | null = null;
    // RFC 5321 §6.3: a message with more Received fields than max_hops is looping; refuse it here so no
    // copy is delivered locally and no bounce is sent (the client owns the message).
    const headerText = this.buffer.headerText();
    const hops = (headerText.match(/^Received:/gim) ?? []).length;
    if (hops > services.config.queue.maxHops) return refuse(554, '5.4.6', `Too many hops (${hops} Received header fields): mail loop`, 'max_hops');
    let header = this.buffer.header();
    // Only the checks, probes, bounces and ARC read the body (`this.buffer.parts(header)`): taken from the
    // transaction when one does, so a trusted client's message is not joined into one buffer before the
    // store copies it anyway.
    // Trusted MX clients skip the checks; everything else is checked whatever its size.
    if (!services.policy.isTrusted(e.remoteAddress)) {
      // The same checks for every size: the body is streamed from the spool, never held whole.
      const result = await services.policy.onData({ parts: this.buffer.parts(header), envelope: { ip: e.remoteAddress, helo: e.helo ?? '', sender, recipients: e.recipients.map((r) => recipientAddress(r.forwardPath, services.config.hostname)) } });
      const v = result.verdict;
      // The spam verdict and authentication results go on the transaction's log line, accepted or not.
      const note: TransactionNote = {};
      if (result.spam) note.spam = { score: result.spam.score, verdict: result.spam.verdict, tests: result.spam.contributions.map((c) => `${c.test}=${c.score}`), ...(services.config.policy.spamShadow ? { shadow: true } : {}) };
      if (result.auth) note.auth = { spf: result.auth.spf.result, dkim: result.auth.dkim.map((d) => d.result).join(',') || 'none', dmarc: result.auth.dmarc.result };
      // RFC 7489 §7.2: counted in memory for the daily report (no write per message).
      if (result.auth) services.dmarcResults?.record({ ip: e.remoteAddress, sender, auth: result.auth, disposition: v.action === 'reject' ? 'reject' : v.action === 'junk' && result.auth.dmarcPolicy ? 'quarantine' : 'none' });
      this.notes.set(e.transactionId, note);
      checks = note;
      if (v.action === 'reject' || v.action === 'tempfail') {
        this.buffer.tx.abort();
        return refusePolicy(v.reply);
      }
      if (v.action === 'junk') folder = 'junk';
      extraHeaders = result.headersToPrepend;
      arcInput = result.auth?.arcSealInput ?? null;
      auth = result.auth;
      // RFC 8601 §5: forged Authentication-Results claiming our authserv-id are gone from this header.
      header = result.header;
    }
    const probes = this.probeTokens();
    if (probes.size > 0) {
      // The probe copy carries what a mailbox copy would: our trace fields and Authentication-Results.
      const probeHeader = Buffer.concat([Buffer.from(this.received() + extraHeaders, 'latin1'), header]);
      const { body } = this.buffer.parts(header);
      for (const token of probes.values()) await services.probes!.file(token, probeHeader, body);
      if (probes.size === e.recipients.length) {
        this.buffer.tx.abort();
        this.notes.delivered(e.transactionId, { delivered: ['doctor-probe'], queued: [], folder });
        return { ok: true, text: `Ok: queued as ${e.transactionId}` };
      }
    }
    // A bounce to a VERP return path is read back before the commit frees the spool: bounce processing needs it.
    const bounce = isVerpBounce({ sender, recipients: e.recipients.map((r) => r.forwardPath.address) }) ? await messageHead(this.buffer.parts(header), BOUNCE_READ_MAX_BYTES) : null;
    // Bounces to our SRS addresses go back to the original sender, which may be off-site (accepted at RCPT).
    let srsReversed = false;
    const recipients = e.recipients.filter((r) => !probes.has(r.forwardPath.address)).map((r) => {
      const address = recipientAddress(r.forwardPath, services.config.hostname);
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
    // Kept only for an account whose vacation response is on: everyone else pays one set lookup.
    const vacationHeader = services.vacation.wants(plan.accountIds) ? Buffer.from(header) : null;
    let trace = this.received() + extraHeaders;
    if (plan.queue && arcInput && services.config.policy.arcSeal) trace = (await this.arcSet(trace, this.buffer.parts(header), arcInput, plan.queue.recipients.map((r) => r.orcpt ?? ''))) + trace;
    const queued = plan.queue?.recipients.map((r) => r.address) ?? [];
    const outcome = await commitDelivery({
      tx: this.buffer.tx, plan, localHeader: Buffer.from(returnPathHeader(sender)), traceHeader: Buffer.concat([Buffer.from(trace, 'latin1'), header]),
      logger: services.logger, queueId: e.transactionId, origin: 'smtp', sender,
      trace: services.trace.enabled ? acceptanceEvents({
        queueId: e.transactionId, messageId: messageIdOf(headerText), sender, recipients: recipients.map((r) => r.address), origin: traceOrigin('mx', e),
        size: this.buffer.size, checks: checks ? traceChecks(checks) : undefined, stored: plan.labels, folder, queued,
      }) : null,
      onAccepted: services.metrics?.onAccepted,
    });
    if (!outcome.ok) {
      const r = uncoveredReply();
      return refuse(r.code, r.enhancedCode, r.text, r.rule);
    }
    this.notes.delivered(e.transactionId, { delivered: plan.labels, queued, folder });
    const { result } = outcome;
    for (const id of plan.accountIds) services.usage.add(id, result.size);
    if (result.queueId) services.queue.kick();
    if (vacationHeader) {
      services.vacation.delivered({ queueId: e.transactionId, sender, recipients: recipients.map((r) => r.address), accountIds: plan.accountIds, header: vacationHeader, junk: folder === 'junk' });
    }
    if (bounce) {
      // Already accepted: bounce processing must not change the reply (failures are only logged).
      await processInboundBounce({ sender, recipients: e.recipients.map((r) => r.forwardPath.address), message: bounce }, { suppression: services.store, logger: services.logger })
        .catch((err: unknown) => services.logger.warn({ event: 'queue.suppress_failed', queueId: e.transactionId, err }, 'bounce processing failed'));
    }
    return { ok: true, text: `Ok: queued as ${e.transactionId}` };
  }

  /** The recipients that are doctor probes waiting to be filed: address → token. */
  private probeTokens(): Map<string, string> {
    const out = new Map<string, string>();
    const probes = this.services.probes;
    if (!probes) return out;
    for (const r of this.envelope.recipients) {
      if (!ProbeDrop.isProbeAddress(r.forwardPath.address)) continue;
      const token = probes.pendingToken(r.forwardPath.address);
      if (token) out.set(r.forwardPath.address, token);
    }
    return out;
  }

  private received(): string {
    const e = this.envelope;
    return receivedHeader({
      helo: e.helo,
      remoteAddress: e.remoteAddress,
      hostname: this.services.config.hostname,
      protocol: e.protocol,
      tls: e.tls,
      id: e.transactionId,
      forRecipient: e.recipients.length === 1 ? e.recipients[0]!.forwardPath.address : null,
      date: new Date(),
      detail: 'full',
    });
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
      services.logger.warn({ event: 'policy.arc_seal_failed', queueId: this.envelope.transactionId, err }, 'ARC sealing failed');
    }
    return '';
  }
}
