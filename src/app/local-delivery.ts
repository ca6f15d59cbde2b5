/**
 * Turns resolved recipients into a store DeliveryPlan: mailbox copies for local accounts (INBOX, or
 * Junk when policy says so) and queue entries for remote targets (forwarding aliases, submission).
 * Also the queue runner's hook for queued mail to local domains (bounces, DSNs, forwards back home).
 */
import type { Logger } from '../core/log.ts';
import type { Srs } from '../policy/srs.ts';
import { RecipientResolver, splitAddress, type ResolvedTarget } from '../delivery/recipients.ts';
import { receivedHeader, returnPathHeader } from '../delivery/trace.ts';
import { makeReply, type SmtpReply } from '../protocols/smtp/client-reply.ts';
import type { LocalDelivery } from '../queue/runner.ts';
import { processInboundBounce } from '../queue/bounce-intake.ts';
import type { SuppressionStore } from '../store/queue-extra-types.ts';
import type { DeliveryPlan, QueueMessageRecord, QueueRecipientInput, QueueRecipientRecord, Store } from '../store/types.ts';
import { DeliveryMailboxes, type DeliveryFolder } from './mailbox-cache.ts';

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
}

export class LocalDeliveryPlanner {
  readonly resolver: RecipientResolver;
  readonly mailboxes: DeliveryMailboxes;
  /** Rewrites the envelope sender of forwarded mail (null: SRS off); also reverses bounces to SRS addresses. */
  readonly srs: Srs | null;
  private readonly store: Store;

  constructor(options: { store: Store; srs?: Srs | null }) {
    this.store = options.store;
    this.srs = options.srs ?? null;
    this.resolver = new RecipientResolver({ accounts: options.store });
    this.mailboxes = new DeliveryMailboxes({ store: options.store });
  }

  /** Mailbox targets and queue recipients for one accepted message. */
  async plan(input: PlanInput): Promise<Pick<DeliveryPlan, 'mailboxes' | 'queue'> & { accountIds: number[] }> {
    const mailboxIds = new Set<number>();
    const accountIds: number[] = [];
    const remote: QueueRecipientInput[] = [];
    const remoteSeen = new Set<string>();
    const addRemote = (r: QueueRecipientInput): void => {
      const key = r.address.toLowerCase();
      if (remoteSeen.has(key)) return;
      remoteSeen.add(key);
      remote.push(r);
    };
    for (const rcpt of input.recipients) {
      const resolution = await this.resolver.resolve(rcpt.address);
      if (resolution.kind === 'not-local') {
        if (input.allowRemote) addRemote({ address: rcpt.address, orcpt: rcpt.orcpt ?? null, notify: rcpt.notify ?? null });
        continue;
      }
      if (resolution.kind === 'unknown-user') continue;
      for (const target of resolution.targets) await this.addTarget(target, input.folder, mailboxIds, accountIds, (address) => addRemote({ address, orcpt: rcpt.orcpt ?? `rfc822;${rcpt.address}`, notify: rcpt.notify ?? null }));
    }
    // Mail received from elsewhere and sent on off-site (aliases to external addresses) is forwarded: SRS
    // rewrites its envelope sender so that the next hop's SPF check sees our domain (submission keeps it).
    const sender = input.origin !== 'submission' && this.srs ? this.srs.forward(input.sender) : input.sender;
    return {
      accountIds,
      mailboxes: [...mailboxIds].map((mailboxId) => ({ mailboxId })),
      queue: remote.length > 0 ? { ...(input.queueId ? { id: input.queueId } : {}), sender, recipients: remote, envid: input.envid ?? null, ret: input.ret ?? null, origin: input.origin, submitter: input.submitter ?? null } : null,
    };
  }

  private async addTarget(target: ResolvedTarget, folder: DeliveryFolder, mailboxIds: Set<number>, accountIds: number[], addRemote: (address: string) => void): Promise<void> {
    if (target.kind === 'remote') {
      addRemote(target.address);
      return;
    }
    const id = await this.mailboxes.mailboxFor(target.accountId, folder);
    if (id === null) return;
    mailboxIds.add(id);
    accountIds.push(target.accountId);
  }

  /** The queue runner's hook: queued mail (DSNs, forwards) to our own domains goes straight into mailboxes. */
  queueHook(options: { hostname: string; logger: Logger; suppression?: SuppressionStore | null }): LocalDelivery {
    return {
      isLocalDomain: (domain) => this.resolver.isLocalDomain(domain),
      deliver: async (recipient: QueueRecipientRecord, message: QueueMessageRecord, body: Buffer): Promise<SmtpReply> => {
        const resolution = await this.resolver.resolve(recipient.address);
        if (resolution.kind !== 'local') return makeReply(550, '5.1.1', `<${recipient.address}>: no such user here`, { local: true });
        const planned = await this.plan({ sender: message.sender, recipients: [{ address: recipient.address }], folder: 'inbox', allowRemote: false, origin: 'queue' });
        if (planned.mailboxes.length === 0) return makeReply(550, '5.1.1', `<${recipient.address}>: no such user here`, { local: true });
        const tx = this.store.beginDelivery();
        tx.write(body);
        const received = receivedHeader({ helo: null, remoteAddress: '127.0.0.1', hostname: options.hostname, protocol: 'local', id: message.id, forRecipient: recipient.address, date: new Date(), detail: 'minimal' });
        await tx.commit({ localHeader: Buffer.from(returnPathHeader(message.sender)), traceHeader: Buffer.from(received), mailboxes: planned.mailboxes, queue: planned.queue });
        options.logger.info({ event: 'delivery.local', queueId: message.id, recipient: recipient.address, domain: splitAddress(recipient.address).domain }, 'delivered locally');
        // Our own DSN to a VERP return path of ours: record the failed recipient (bounce processing).
        // The mail is already delivered: a failure here is logged, never turned into a retry (no duplicate).
        if (options.suppression) {
          await processInboundBounce({ sender: message.sender, recipients: [recipient.address], message: body }, { suppression: options.suppression, logger: options.logger })
            .catch((err: unknown) => options.logger.warn({ event: 'queue.suppress_failed', queueId: message.id, err: String(err) }, 'bounce processing failed'));
        }
        return makeReply(250, '2.0.0', 'delivered to mailbox', { local: true });
      },
    };
  }
}
