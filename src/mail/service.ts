/**
 * Account-scoped mail access on the store: the one place where a mailbox id is checked to belong to the
 * authenticated account, where the quota is enforced on APPEND and COPY, and where SELECT state is kept.
 */
import type { Logger } from '../core/log.ts';
import { isMailboxChange, type AccountStore, type ChangeFeed, type DeliveryTransaction, type EmailStore, type EmailUpdate, type MailboxRecord, type MailStore, type MetadataEntry, type MetadataStore, type ObjectType, type SearchIndexStore, type SearchTerm, type SpecialUse, type WriteOptions } from '../store/types.ts';
import {
  MailAccessError,
  type AccountMail,
  type AccountMailChange,
  type AppendResult,
  type AppendTarget,
  type AppendTransaction,
  type MailAccess,
  type MailboxWithCounts,
  type QuotaUsage,
} from './access.ts';
import { MailboxSnapshots, type MailboxSnapshot, type MailboxSummary } from './mailbox-snapshots.ts';
import { exceedsQuota, quotaLimit } from './quota.ts';

export interface StoreMailAccessOptions {
  store: MailStore & EmailStore & SearchIndexStore & MetadataStore & ChangeFeed;
  accounts: Pick<AccountStore, 'getAccountById'>;
  /** storage.quota_default: the limit of accounts without their own; 0 is unlimited. */
  defaultQuotaBytes: number;
  logger?: Logger;
}

export class StoreMailAccess implements MailAccess {
  /** SELECT state kept between sessions, shared by every account (keyed on the mailbox row). */
  readonly snapshots: MailboxSnapshots;
  private unsubscribe: (() => void) | null = null;

  constructor(private readonly options: StoreMailAccessOptions) {
    this.snapshots = new MailboxSnapshots({ store: options.store });
  }

  /** Drops what is kept of deleted mailboxes, whichever process deleted them (until close()). */
  start(): void {
    this.unsubscribe ??= this.options.store.subscribe((change) => {
      if (isMailboxChange(change) && change.kind === 'mailbox' && change.mailboxId !== 0) this.snapshots.forget(change.mailboxId);
    });
  }

  close(): void {
    this.unsubscribe?.();
    this.unsubscribe = null;
  }

  async open(identity: { accountId: number }): Promise<AccountMail> {
    return new StoreAccountMail(this.options, identity.accountId, this.snapshots);
  }
}

const noSuchMailbox = (): MailAccessError => new MailAccessError('NONEXISTENT', 'No such mailbox');
/** An id the caller held: gone since, or (never said) another account's. */
const mailboxGone = (): MailAccessError => new MailAccessError('NONEXISTENT', 'Mailbox no longer exists');

class StoreAccountMail implements AccountMail {
  private readonly store: MailStore & EmailStore & SearchIndexStore & MetadataStore & ChangeFeed;
  /**
   * Mailboxes seen to belong to this account. A mailbox never changes account and its id is never given
   * to another, so reads check once; writes check each time that the mailbox still exists.
   */
  private readonly own = new Set<number>();
  /** The store transaction behind each append handed out. */
  private readonly appendTxs = new WeakMap<AppendTransaction, DeliveryTransaction>();

  constructor(
    private readonly options: StoreMailAccessOptions,
    readonly accountId: number,
    private readonly snapshots: MailboxSnapshots,
  ) {
    this.store = options.store;
  }

  private seen<T extends MailboxRecord | null>(mb: T): T {
    if (mb !== null) this.own.add(mb.id);
    return mb;
  }

  // The account check: every mailbox id from a caller passes here or through ownedForReading.
  async mailbox(mailboxId: number): Promise<MailboxRecord> {
    const mb = await this.store.getMailboxById(mailboxId);
    if (mb === null || mb.accountId !== this.accountId) throw mailboxGone();
    return this.seen(mb);
  }

  private async ownedForReading(mailboxId: number): Promise<void> {
    if (!this.own.has(mailboxId)) await this.mailbox(mailboxId);
  }

  /** A record the caller read through this account (findMailbox, mailbox()) just before; checked anyway. */
  private async ownedRecord(mb: MailboxRecord): Promise<void> {
    if (mb.accountId !== this.accountId) throw mailboxGone();
    await this.ownedForReading(mb.id);
  }

  async listMailboxes(): Promise<MailboxRecord[]> {
    const boxes = await this.store.listMailboxes(this.accountId);
    for (const mb of boxes) this.own.add(mb.id);
    return boxes;
  }

  async listMailboxesWithCounts(): Promise<MailboxWithCounts[]> {
    const boxes = await this.listMailboxes();
    return Promise.all(boxes.map(async (mailbox) => ({ mailbox, counts: await this.store.counts(mailbox.id) })));
  }

  async findMailbox(name: string): Promise<MailboxRecord | null> {
    return this.seen(await this.store.getMailbox(this.accountId, name));
  }

  async createMailbox(name: string, options: { specialUse?: SpecialUse | null } = {}): Promise<MailboxRecord> {
    if ((await this.store.getMailbox(this.accountId, name)) !== null) throw new MailAccessError('ALREADYEXISTS', 'Mailbox already exists');
    return this.seen(await this.store.createMailbox(this.accountId, name, options.specialUse ?? null));
  }

  async deleteMailbox(mailboxId: number): Promise<void> {
    const mb = await this.mailbox(mailboxId);
    // Delivery and POP3 always reach INBOX (RFC 9051 §6.3.5: deleting INBOX is an error).
    if (mb.name === 'INBOX') throw new MailAccessError('CANNOT', 'INBOX cannot be deleted');
    await this.store.deleteMailbox(mb.id);
    this.snapshots.forget(mb.id);
  }

  async renameMailbox(mailboxId: number, newName: string): Promise<void> {
    const mb = await this.mailbox(mailboxId);
    if (mb.name === 'INBOX') throw new MailAccessError('CANNOT', 'INBOX cannot be renamed');
    if ((await this.store.getMailbox(this.accountId, newName)) !== null) throw new MailAccessError('ALREADYEXISTS', 'Mailbox already exists');
    await this.store.renameMailbox(this.accountId, mb.name, newName);
  }

  async setSubscribed(name: string, subscribed: boolean): Promise<void> {
    // RFC 9051 §6.3.8: a name can be unsubscribed after its mailbox is gone.
    if (subscribed && (await this.findMailbox(name)) === null) throw noSuchMailbox();
    await this.store.setSubscribed(this.accountId, name, subscribed);
  }

  async setSortOrder(mailboxId: number, sortOrder: number | null): Promise<void> {
    if (!(await this.store.setMailboxSortOrder(this.accountId, mailboxId, sortOrder))) throw mailboxGone();
  }

  async listSubscriptions(): Promise<string[]> {
    return this.store.listSubscriptions(this.accountId);
  }

  async listMetadata(mailboxId: number | null): Promise<MetadataEntry[]> {
    if (mailboxId !== null) await this.ownedForReading(mailboxId);
    return this.store.listMetadata(this.accountId, mailboxId);
  }

  async setMetadata(mailboxId: number | null, changes: readonly { entry: string; value: Buffer | null }[], options: { maxEntries: number }): Promise<boolean> {
    const result = await this.store.setMetadata(this.accountId, mailboxId, changes, options);
    if (result === 'nonexistent') throw mailboxGone();
    return result === 'ok';
  }

  async counts(mailboxId: number) {
    await this.ownedForReading(mailboxId);
    return this.store.counts(mailboxId);
  }

  async snapshot(mailbox: MailboxRecord): Promise<MailboxSnapshot | null> {
    await this.ownedRecord(mailbox);
    return this.snapshots.snapshot(mailbox);
  }

  async summary(mailbox: MailboxRecord): Promise<MailboxSummary | null> {
    await this.ownedRecord(mailbox);
    return this.snapshots.summary(mailbox);
  }

  async listMessageMeta(mailboxId: number, range: { uidFrom: number; uidTo: number }) {
    await this.mailbox(mailboxId);
    return this.store.listMessageMeta(mailboxId, range);
  }

  async listMetaColumns(mailboxId: number, options: Parameters<MailStore['listMetaColumns']>[1]) {
    await this.ownedForReading(mailboxId);
    return this.store.listMetaColumns(mailboxId, options);
  }

  async listMessages(mailboxId: number, options?: { changedSinceModSeq?: number; uidFrom?: number; uidTo?: number }) {
    await this.mailbox(mailboxId);
    return this.store.listMessages(mailboxId, options);
  }

  async getMessage(mailboxId: number, uid: number) {
    await this.ownedForReading(mailboxId);
    return this.store.getMessage(mailboxId, uid);
  }

  async mailboxDelta(mailboxId: number, sinceModSeq: number, options: { maxChanges: number }) {
    await this.mailbox(mailboxId);
    return this.store.mailboxDelta(mailboxId, sinceModSeq, options);
  }

  async vanishedSince(mailboxId: number, sinceModSeq: number): Promise<number[]> {
    await this.mailbox(mailboxId);
    return this.store.vanishedSince(mailboxId, sinceModSeq);
  }

  async readMessageHeads(mailboxId: number, range: { uidFrom: number; uidTo: number }, maxBytes: number): Promise<{ uids: number[]; heads: Buffer[] }> {
    await this.ownedForReading(mailboxId);
    return this.store.readMessageHeads(mailboxId, range, maxBytes);
  }

  async readMessage(mailboxId: number, uid: number, range?: { start: number; end: number }): Promise<Buffer | null> {
    await this.ownedForReading(mailboxId);
    try {
      return await this.store.readMessage(mailboxId, uid, range);
    } catch (err) {
      // Expunged meanwhile (a rare race): the store refuses to read a message that is gone.
      if ((await this.store.getMessage(mailboxId, uid)) === null) return null;
      throw err;
    }
  }

  async *streamMessage(mailboxId: number, uid: number): AsyncIterable<Buffer> {
    await this.ownedForReading(mailboxId);
    yield* this.store.streamMessage(mailboxId, uid);
  }

  async storeFlags(mailboxId: number, uids: readonly number[], op: 'add' | 'remove' | 'set', flags: string[], options: { unchangedSince?: number; committed?: WriteOptions['committed'] } = {}) {
    await this.mailbox(mailboxId);
    return this.store.storeFlags(mailboxId, [...uids], op, flags, options);
  }

  async expunge(mailboxId: number, uids: readonly number[], options: { committed?: WriteOptions['committed'] } = {}): Promise<number[]> {
    await this.mailbox(mailboxId);
    return this.store.expunge(mailboxId, [...uids], options);
  }

  async copyMessages(fromMailboxId: number, uids: readonly number[], toMailboxId: number, options: { move?: boolean; committed?: WriteOptions['committed'] } = {}) {
    await this.mailbox(fromMailboxId);
    await this.mailbox(toMailboxId);
    if (!options.move && toMailboxId !== fromMailboxId && uids.length > 0) {
      // RFC 9208 §4.2: a COPY that would exceed the quota fails with [OVERQUOTA].
      const wanted = new Set(uids);
      const rows = await this.store.listMessageMeta(fromMailboxId, { uidFrom: Math.min(...uids), uidTo: Math.max(...uids) });
      await this.checkQuota(rows.reduce((sum, r) => (wanted.has(r.uid) ? sum + r.size : sum), 0));
    }
    return this.store.copyMessages(fromMailboxId, [...uids], toMailboxId, { move: options.move === true, ...(options.committed !== undefined ? { committed: options.committed } : {}) });
  }

  beginAppend(): AppendTransaction {
    const tx = this.store.beginDelivery();
    const append: AppendTransaction = {
      write: (chunk) => tx.write(chunk),
      get size() {
        return tx.size;
      },
      abort: () => tx.abort(),
    };
    this.appendTxs.set(append, tx);
    return append;
  }

  async commitAppends(messages: { tx: AppendTransaction; target: AppendTarget }[], options: { committed?: WriteOptions['committed'] } = {}): Promise<AppendResult[]> {
    const txs = messages.map((m) => this.appendTxs.get(m.tx));
    try {
      if (txs.some((tx) => tx === undefined)) throw new Error('commitAppends takes appends begun on this account');
      const boxes = new Map<number, MailboxRecord>();
      let bytes = 0;
      for (const m of messages) {
        const targets = new Set([m.target.mailboxId, ...(m.target.alsoMailboxIds ?? [])]);
        for (const id of targets) if (!boxes.has(id)) boxes.set(id, await this.mailbox(id));
        bytes += m.tx.size * targets.size;
      }
      // RFC 9208 §4.2: the messages together must fit the quota (RFC 3502 §6: all or none).
      await this.checkQuota(bytes);
      const batch = messages.map((m, i) => {
        const { flags = [], internalDate } = m.target;
        const mailboxIds = [m.target.mailboxId, ...(m.target.alsoMailboxIds ?? []).filter((id) => id !== m.target.mailboxId)];
        const mailboxes = mailboxIds.map((mailboxId) => ({ mailboxId, flags, ...(internalDate ? { internalDate } : {}) }));
        return { tx: txs[i]!, plan: { mailboxes, ...(mailboxes.length > 1 ? { oneEmail: true } : {}) } };
      });
      const results = batch.length === 1 ? [await batch[0]!.tx.commit(batch[0]!.plan, options)] : await this.store.commitDeliveries(batch, options);
      return results.map((r) => {
        const stored = r.messages[0];
        if (stored === undefined) throw new MailAccessError('CANNOT', 'Message was not stored');
        const { mailboxId, uid, emailId, threadId } = stored;
        return { mailboxId, uid, uidValidity: boxes.get(mailboxId)!.uidValidity, emailId, threadId, size: r.size };
      });
    } finally {
      for (const m of messages) {
        this.appendTxs.delete(m.tx);
        m.tx.abort();
      }
    }
  }

  async accountModSeq(): Promise<number> {
    return this.store.accountModSeq(this.accountId);
  }

  async objectChanges(type: ObjectType, sinceModSeq: number, limit: number) {
    return this.store.objectChanges(this.accountId, type, sinceModSeq, limit);
  }

  async changesKnownSince(): Promise<number> {
    return this.store.changesKnownSince(this.accountId);
  }

  async getEmails(ids: readonly number[]) {
    return this.store.getEmails(this.accountId, ids);
  }

  async mailboxEmailCounts() {
    return this.store.mailboxEmailCounts(this.accountId);
  }

  async threadEmails(threadIds: readonly number[]) {
    return this.store.threadEmails(this.accountId, threadIds);
  }

  async objectIds(mailboxId: number, uids: readonly number[]) {
    await this.ownedForReading(mailboxId);
    return this.store.objectIds(mailboxId, uids);
  }

  async listEmailIndex(options: { mailboxId?: number; ids?: readonly number[] } = {}) {
    if (options.mailboxId !== undefined) await this.ownedForReading(options.mailboxId);
    return this.store.listEmailIndex(this.accountId, options);
  }

  async mailboxEmailPage(mailboxId: number, options: { position: number; limit: number }) {
    await this.ownedForReading(mailboxId);
    return this.store.mailboxEmailPage(mailboxId, options);
  }

  async updateEmails(updates: readonly EmailUpdate[]): Promise<{ notFound: number[] }> {
    const targets = new Set(updates.flatMap((u) => u.mailboxIds ?? []));
    for (const id of targets) await this.mailbox(id);
    const moving = updates.filter((u) => u.mailboxIds !== undefined);
    if (moving.length > 0) {
      // A mailbox added to an email is one more stored copy: it must fit the quota like an IMAP COPY.
      const emails = new Map((await this.store.getEmails(this.accountId, moving.map((u) => u.emailId))).map((e) => [e.id, e]));
      let added = 0;
      for (const u of moving) {
        const email = emails.get(u.emailId);
        if (email === undefined) continue;
        // A move (one mailbox for another) adds nothing; only a net gain of copies counts.
        added += email.size * Math.max(0, new Set(u.mailboxIds).size - new Set(email.copies.map((c) => c.mailboxId)).size);
      }
      if (added > 0) await this.checkQuota(added);
    }
    return this.store.updateEmails(this.accountId, updates);
  }

  async destroyEmails(ids: readonly number[]): Promise<number[]> {
    return this.store.destroyEmails(this.accountId, ids);
  }

  async emailLocation(emailId: number) {
    return this.store.emailLocation(this.accountId, emailId);
  }

  async searchEmails(terms: readonly SearchTerm[]) {
    return this.store.searchEmails(this.accountId, terms);
  }

  async emailSummaries(emailIds: readonly number[]) {
    return this.store.emailSummaries(this.accountId, emailIds);
  }

  async readEmail(emailId: number, range?: { start: number; end: number }): Promise<Buffer | null> {
    const at = await this.store.emailLocation(this.accountId, emailId);
    if (at === null) return null;
    this.own.add(at.mailboxId);
    return this.readMessage(at.mailboxId, at.uid, range);
  }

  private async checkQuota(addBytes: number): Promise<void> {
    if (exceedsQuota(await this.quota(), addBytes)) throw new MailAccessError('OVERQUOTA', 'Quota exceeded');
  }

  async quota(): Promise<QuotaUsage> {
    const [usage, account] = await Promise.all([this.store.accountUsage(this.accountId), this.options.accounts.getAccountById(this.accountId)]);
    return { usedBytes: usage.bytes, messages: usage.messages, limitBytes: quotaLimit(account?.quotaBytes ?? null, this.options.defaultQuotaBytes) };
  }

  watch(listener: (change: AccountMailChange) => void): () => void {
    // Changes from other processes (the CLI, another server) arrive here too, through the store's feed.
    return this.store.subscribe((change) => {
      if (change.kind !== 'reset' && !((isMailboxChange(change) || change.kind === 'metadata') && change.accountId === this.accountId)) return;
      try {
        listener(change);
      } catch (err) {
        this.options.logger?.warn({ err, event: 'mail.watch_failed', accountId: this.accountId }, 'a mail change listener threw');
      }
    });
  }
}
