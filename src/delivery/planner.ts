/**
 * Turns resolved recipients into a store DeliveryPlan: mailbox copies for local accounts (INBOX, or
 * Junk when policy says so) and queue entries for remote targets (forwarding aliases, submission).
 * Also the queue runner's hook for queued mail to local domains (bounces, DSNs, forwards back home).
 */
import type { Logger } from '../core/log.ts';
import type { Srs } from '../policy/srs.ts';
import { RecipientResolver, splitAddress, type ExpansionProblem, type ResolvedTarget } from './recipients.ts';
import { receivedHeader, returnPathHeader } from './trace.ts';
import { makeReply, type SmtpReply } from '../protocols/smtp/client-reply.ts';
import type { LocalDelivery } from '../queue/runner.ts';
import { processInboundBounce } from '../queue/bounce-intake.ts';
import type { SuppressionStore } from '../store/types.ts';
import type { QueueEnqueueInput, QueueMessageRecord, QueueRecipientInput, QueueRecipientRecord, Store } from '../store/types.ts';
import { FolderMailboxCache, type DeliveryFolder } from './folder-mailbox-cache.ts';
import { commitDelivery, type PlannedDelivery, type UncoveredRecipient } from './commit.ts';

export interface PlannedRecipient {
  address: string;
  orcpt?: string | null;
  notify?: string[] | null;
}

export interface PlanInput {
  sender: string;
  recipients: PlannedRecipient[];
  folder: DeliveryFolder;
  /** Queue every recipient outside our domains (submission); the MX role never gets such recipients. */
  allowRemote: boolean;
  envid?: string | null;
  ret?: 'FULL' | 'HDRS' | null;
  origin: string;
  submitter?: string | null;
  /** The id the queue entry gets: the SMTP transaction id that the client saw in `250 ... queued as`. */
  queueId?: string;
  /**
   * A delayed send (RFC 4865 FUTURERELEASE): every recipient, local ones too, goes into the queue held until
   * this time; the queue's local hook delivers the local ones at release, so nothing is seen before.
   */
  holdUntil?: Date | null;
}

/** The refusal for a local address whose alias expansion reaches no mailbox (at RCPT, or as a bounce). */
export function undeliverableReply(address: string, problem: ExpansionProblem): { code: number; enhancedCode: string; text: string } {
  switch (problem) {
    // RFC 3463 §3.5 X.4.6: routing loop detected.
    case 'loop': return { code: 550, enhancedCode: '5.4.6', text: `<${address}>: Recipient address rejected: alias expansion loops` };
    case 'too-deep': return { code: 550, enhancedCode: '5.4.6', text: `<${address}>: Recipient address rejected: aliases nested too deeply` };
    // RFC 3463 §3.3 X.2.4: mailing list expansion problem.
    case 'too-many-targets': return { code: 550, enhancedCode: '5.2.4', text: `<${address}>: Recipient address rejected: alias expands to too many addresses` };
    case 'no-target': return { code: 550, enhancedCode: '5.1.1', text: `<${address}>: Recipient address rejected: no mailbox behind this address` };
  }
}

export interface PlannerOptions {
  store: Store;
  srs?: Srs | null;
  /** Our host name (postmaster@ it is always ours). */
  hostname?: string;
  /** Where postmaster@ and abuse@ go without an account or alias of that name; null: the oldest account. */
  postmaster?: string | null;
  /** How long resolutions are cached (ms). */
  cacheMs?: number;
}

/** Adds a queue recipient once per address (case-insensitive). */
function addRemote(remote: QueueRecipientInput[], seen: Set<string>, r: QueueRecipientInput): void {
  const key = r.address.toLowerCase();
  if (seen.has(key)) return;
  seen.add(key);
  remote.push(r);
}

/** Plans where one accepted message goes, local and remote alike: mailbox copies and queue entries. */
export class DeliveryPlanner {
  readonly resolver: RecipientResolver;
  readonly mailboxes: FolderMailboxCache;
  /** Rewrites the envelope sender of forwarded mail (null: SRS off); also reverses bounces to SRS addresses. */
  readonly srs: Srs | null;
  private readonly store: Store;

  constructor(options: PlannerOptions) {
    this.store = options.store;
    this.srs = options.srs ?? null;
    this.resolver = new RecipientResolver({ accounts: options.store, hostname: options.hostname, postmaster: options.postmaster ?? null, domainCacheMs: options.cacheMs });
    this.mailboxes = new FolderMailboxCache({ store: options.store });
  }

  /**
   * Mailbox targets and queue recipients for one accepted message, and the recipients that would get
   * neither (a change between RCPT and the end of data, or a fault): those stop the acknowledgement.
   */
  async plan(input: PlanInput): Promise<PlannedDelivery> {
    const mailboxIds = new Map<number, string>();
    const accountIds: number[] = [];
    const remote: QueueRecipientInput[] = [];
    const remoteSeen = new Set<string>();
    const uncovered: UncoveredRecipient[] = [];
    const deadTargets: { recipient: string; targets: string[] }[] = [];
    for (const rcpt of input.recipients) {
      const resolution = await this.resolver.resolve(rcpt.address);
      if (resolution.kind === 'not-local') {
        if (input.allowRemote) addRemote(remote, remoteSeen, { address: rcpt.address, orcpt: rcpt.orcpt ?? null, notify: rcpt.notify ?? null });
        else uncovered.push({ address: rcpt.address, reason: 'not-local' });
        continue;
      }
      if (resolution.kind !== 'local') {
        uncovered.push({ address: rcpt.address, reason: resolution.kind === 'unknown-user' ? 'unknown-user' : resolution.problem });
        continue;
      }
      if (input.holdUntil) {
        // Resolved again by the queue's local hook at release (aliases changed meanwhile apply then).
        addRemote(remote, remoteSeen, { address: rcpt.address, orcpt: rcpt.orcpt ?? null, notify: rcpt.notify ?? null });
        continue;
      }
      if (resolution.deadTargets) deadTargets.push({ recipient: rcpt.address, targets: resolution.deadTargets });
      let covered = false;
      for (const target of resolution.targets) {
        if (target.kind === 'remote') {
          addRemote(remote, remoteSeen, { address: target.address, orcpt: rcpt.orcpt ?? `rfc822;${rcpt.address}`, notify: rcpt.notify ?? null });
          covered = true;
        } else if (await this.addMailbox(target, input.folder, mailboxIds, accountIds)) covered = true;
      }
      if (!covered) uncovered.push({ address: rcpt.address, reason: 'no-mailbox' });
    }
    // Mail received from elsewhere and sent on off-site (aliases to external addresses) is forwarded: SRS
    // rewrites its envelope sender so that the next hop's SPF check sees our domain (submission keeps it).
    // Only when something goes off-site: the SRS address costs an HMAC, and most mail stays here.
    const sender = remote.length > 0 && input.origin !== 'submission' && this.srs ? this.srs.forward(input.sender) : input.sender;
    let queue: QueueEnqueueInput | null = null;
    if (remote.length > 0) {
      // Built without object spread (on Node 20, `{ ...o, more }` costs microseconds per object).
      queue = { sender, recipients: remote, envid: input.envid ?? null, ret: input.ret ?? null, origin: input.origin, submitter: input.submitter ?? null };
      if (input.queueId) queue.id = input.queueId;
      if (input.holdUntil) queue.holdUntil = input.holdUntil;
    }
    return {
      accountIds,
      uncovered,
      deadTargets,
      mailboxes: [...mailboxIds.keys()].map((mailboxId) => ({ mailboxId })),
      labels: [...mailboxIds.values()],
      queue,
    };
  }

  /** `mailboxIds`: id → label for the log (`alice@example.org/INBOX`). */
  private async addMailbox(target: Extract<ResolvedTarget, { kind: 'mailbox' }>, folder: DeliveryFolder, mailboxIds: Map<number, string>, accountIds: number[]): Promise<boolean> {
    const mailbox = await this.mailboxes.mailboxFor(target.accountId, folder);
    if (mailbox === null) return false;
    mailboxIds.set(mailbox.id, `${target.address}/${mailbox.name}`);
    if (!accountIds.includes(target.accountId)) accountIds.push(target.accountId);
    return true;
  }

  /** The queue runner's hook: queued mail (DSNs, forwards) to our own domains goes straight into mailboxes. */
  queueHook(options: { hostname: string; logger: Logger; suppression?: SuppressionStore | null }): LocalDelivery {
    return {
      isLocalDomain: (domain) => this.resolver.isLocalDomain(domain),
      deliver: async (recipient: QueueRecipientRecord, message: QueueMessageRecord, body: Buffer): Promise<SmtpReply> => {
        const resolution = await this.resolver.resolve(recipient.address);
        // A bounce (DSN) for what cannot be delivered here, never a silent drop.
        if (resolution.kind === 'undeliverable') {
          const r = undeliverableReply(recipient.address, resolution.problem);
          return makeReply(r.code, r.enhancedCode, r.text, { local: true });
        }
        if (resolution.kind !== 'local') return makeReply(550, '5.1.1', `<${recipient.address}>: no such user here`, { local: true });
        const planned = await this.plan({ sender: message.sender, recipients: [{ address: recipient.address }], folder: 'inbox', allowRemote: false, origin: 'queue' });
        const tx = this.store.beginDelivery();
        tx.write(body);
        const received = receivedHeader({ helo: null, remoteAddress: '127.0.0.1', hostname: options.hostname, protocol: 'local', id: message.id, forRecipient: recipient.address, date: new Date(), detail: 'minimal' });
        const outcome = await commitDelivery({
          tx, plan: planned, localHeader: Buffer.from(returnPathHeader(message.sender)), traceHeader: Buffer.from(received),
          logger: options.logger, queueId: message.id, origin: 'queue', sender: message.sender,
        });
        // Changed since the resolution above (or a fault): try again later rather than lose it.
        if (!outcome.ok) return makeReply(451, '4.3.0', `<${recipient.address}>: local delivery not possible now (${outcome.text})`, { local: true });
        const delivered = planned.labels;
        options.logger.info({ event: 'delivery.local', queueId: message.id, recipient: recipient.address, domain: splitAddress(recipient.address).domain, delivered }, 'delivered locally');
        // Our own DSN to a VERP return path of ours: record the failed recipient (bounce processing).
        // The mail is already delivered: a failure here is logged, never turned into a retry (no duplicate).
        if (options.suppression) {
          await processInboundBounce({ sender: message.sender, recipients: [recipient.address], message: body }, { suppression: options.suppression, logger: options.logger })
            .catch((err: unknown) => options.logger.warn({ event: 'queue.suppress_failed', queueId: message.id, err }, 'bounce processing failed'));
        }
        return makeReply(250, '2.0.0', 'delivered to mailbox', { local: true });
      },
    };
  }
}
