/**
 * The JMAP Mail methods' backend on the store (docs/decisions/0008): maps JMAP account ids to store
 * accounts and checks that every mailbox and email named belongs to that account before reading or
 * writing it. Session questions (accounts, capabilities) go to the Core backend it wraps.
 */
import type { JmapAccount, JmapBackend, JmapIdentity } from '../protocols/jmap/backend.ts';
import type { JmapMailBackend, MailboxWriteError, MailEmail, MailEmailUpdate, MailIndexRow, MailMailbox, MailObjectChange, MailObjectType } from '../protocols/jmap/mail/backend.ts';
import type { MethodTable } from '../protocols/jmap/method.ts';
import type { AccountStore, EmailStore, MailStore, SpecialUse } from '../store/types.ts';

export type JmapMailStore = MailStore & EmailStore & Pick<AccountStore, 'getAccountById'>;

export interface StoreJmapMailOptions {
  store: JmapMailStore;
  /** The Core backend (accounts of an identity, session state) this one adds Mail to. */
  base: JmapBackend;
  /** The store account behind a JMAP account id, or null. */
  storeAccountId: (jmapAccountId: string) => number | null;
  /** The bytes of an uploaded blob of the account (RFC 8620 §6.1), when uploads exist. */
  uploadedBlob?: (accountId: number, blobId: string) => Promise<Buffer | null>;
}

class AccountMissing extends Error {}

export class StoreJmapMailBackend implements JmapMailBackend {
  private readonly store: JmapMailStore;
  private readonly base: JmapBackend;
  private readonly options: StoreJmapMailOptions;

  constructor(options: StoreJmapMailOptions) {
    this.store = options.store;
    this.base = options.base;
    this.options = options;
  }

  accountsFor(identity: JmapIdentity): Promise<Record<string, JmapAccount>> {
    return this.base.accountsFor(identity);
  }
  accountFor(identity: JmapIdentity, accountId: string): Promise<JmapAccount | null> {
    return this.base.accountFor(identity, accountId);
  }
  primaryAccountsFor(identity: JmapIdentity): Promise<Record<string, string>> {
    return this.base.primaryAccountsFor(identity);
  }
  sessionState(identity: JmapIdentity): Promise<string> {
    return this.base.sessionState(identity);
  }

  /** The engine checked the identity may use the account; this maps it (an unknown one is a bug upstream). */
  private account(accountId: string): number {
    const id = this.options.storeAccountId(accountId);
    if (id === null) throw new AccountMissing(`no store account behind ${accountId}`);
    return id;
  }

  private async ownMailbox(accountId: number, mailboxId: number) {
    const mailbox = await this.store.getMailboxById(mailboxId);
    return mailbox !== null && mailbox.accountId === accountId ? mailbox : null;
  }

  async mailState(accountId: string): Promise<number> {
    return this.store.accountModSeq(this.account(accountId));
  }

  async changes(accountId: string, type: MailObjectType, sinceModSeq: number, limit: number): Promise<MailObjectChange[]> {
    return this.store.objectChanges(this.account(accountId), type, sinceModSeq, limit);
  }

  async mailboxes(accountId: string): Promise<MailMailbox[]> {
    const id = this.account(accountId);
    const [list, counts] = await Promise.all([this.store.listMailboxes(id), this.store.mailboxEmailCounts(id)]);
    return list.map((m) => {
      const c = counts.get(m.id);
      return { id: m.id, name: m.name, specialUse: m.specialUse, subscribed: m.subscribed, totalEmails: c?.emails ?? 0, unreadEmails: c?.unread ?? 0, totalThreads: c?.threads ?? 0, unreadThreads: c?.unreadThreads ?? 0 };
    });
  }

  async emails(accountId: string, ids: readonly number[]): Promise<MailEmail[]> {
    return (await this.store.getEmails(this.account(accountId), ids)).map((e) => ({ id: e.id, threadId: e.threadId, copies: e.copies, size: e.size, receivedAt: e.receivedAt }));
  }

  async emailBytes(accountId: string, id: number): Promise<Buffer | null> {
    const location = await this.store.emailLocation(this.account(accountId), id);
    return location === null ? null : this.store.readMessage(location.mailboxId, location.uid);
  }

  async threads(accountId: string, threadIds: readonly number[]): Promise<Map<number, number[]>> {
    return this.store.threadEmails(this.account(accountId), threadIds);
  }

  async emailIndex(accountId: string, options: { mailboxId?: number } = {}): Promise<MailIndexRow[]> {
    const id = this.account(accountId);
    if (options.mailboxId !== undefined && (await this.ownMailbox(id, options.mailboxId)) === null) return [];
    return this.store.listEmailIndex(id, options);
  }

  async mailboxPage(accountId: string, mailboxId: number, options: { position: number; limit: number }) {
    if ((await this.ownMailbox(this.account(accountId), mailboxId)) === null) return { ids: [], total: 0 };
    return this.store.mailboxEmailPage(mailboxId, options);
  }

  private async checkMailboxes(accountId: number, mailboxIds: readonly number[]): Promise<void> {
    for (const m of mailboxIds) if ((await this.ownMailbox(accountId, m)) === null) throw new Error(`mailbox ${m} is not the account's`);
  }

  async updateEmails(accountId: string, updates: readonly MailEmailUpdate[]) {
    const id = this.account(accountId);
    for (const u of updates) if (u.mailboxIds) await this.checkMailboxes(id, u.mailboxIds);
    return this.store.updateEmails(id, updates);
  }

  async destroyEmails(accountId: string, ids: readonly number[]) {
    return this.store.destroyEmails(this.account(accountId), ids);
  }

  async storeEmail(accountId: string, input: { bytes: Buffer; mailboxIds: number[]; flags: string[]; receivedAt: Date }) {
    await this.checkMailboxes(this.account(accountId), input.mailboxIds);
    const tx = this.store.beginDelivery();
    tx.write(input.bytes);
    // Durable on return: the caller answers "created" only after this commit (RFC 8620 §5.3).
    const result = await tx.commit({ mailboxes: input.mailboxIds.map((mailboxId) => ({ mailboxId, flags: input.flags, internalDate: input.receivedAt })), oneEmail: true });
    const first = result.messages[0]!;
    return { id: first.emailId, threadId: first.threadId, size: result.size };
  }

  async blobBytes(accountId: string, blobId: string): Promise<Buffer | null> {
    return this.options.uploadedBlob ? this.options.uploadedBlob(this.account(accountId), blobId) : null;
  }

  async createMailbox(accountId: string, name: string, specialUse: string | null): Promise<{ id: number } | MailboxWriteError> {
    const id = this.account(accountId);
    if (name.toUpperCase() === 'INBOX' || (await this.store.getMailbox(id, name)) !== null) return 'alreadyExists';
    return { id: (await this.store.createMailbox(id, name, specialUse as SpecialUse | null)).id };
  }

  async renameMailbox(accountId: string, mailboxId: number, newName: string): Promise<true | MailboxWriteError> {
    const id = this.account(accountId);
    const mailbox = await this.ownMailbox(id, mailboxId);
    if (mailbox === null) return 'notFound';
    if (mailbox.name === 'INBOX') return 'forbidden';
    if (newName.toUpperCase() === 'INBOX' || (await this.store.getMailbox(id, newName)) !== null) return 'alreadyExists';
    await this.store.renameMailbox(id, mailbox.name, newName);
    return true;
  }

  async destroyMailbox(accountId: string, mailboxId: number, options: { removeEmails: boolean }): Promise<true | MailboxWriteError> {
    const id = this.account(accountId);
    const mailbox = await this.ownMailbox(id, mailboxId);
    if (mailbox === null) return 'notFound';
    // RFC 8621 §2.5: the inbox cannot go; a mailbox with children is mailboxHasChild, one with mail mailboxHasEmail.
    if (mailbox.name === 'INBOX') return 'forbidden';
    if ((await this.store.listMailboxes(id)).some((m) => m.name.startsWith(`${mailbox.name}/`))) return 'mailboxHasChild';
    if (!options.removeEmails && (await this.store.counts(mailboxId)).messages > 0) return 'mailboxHasEmail';
    await this.store.deleteMailbox(mailboxId);
    if (mailbox.subscribed) await this.store.setSubscribed(id, mailbox.name, false);
    return true;
  }

  async setSubscribed(accountId: string, mailboxId: number, subscribed: boolean): Promise<true | MailboxWriteError> {
    const id = this.account(accountId);
    const mailbox = await this.ownMailbox(id, mailboxId);
    if (mailbox === null) return 'notFound';
    await this.store.setSubscribed(id, mailbox.name, subscribed);
    return true;
  }
}

/**
 * The Mail method table for an engine whose backend is only the Core one: each call gets this Mail
 * backend in its context instead, built around the engine's backend.
 */
export function bindMailMethods<B extends JmapBackend>(table: MethodTable<JmapMailBackend>, mailBackendFor: (base: B) => JmapMailBackend): MethodTable<B> {
  const out: Record<string, MethodTable<B>[string]> = {};
  for (const [name, spec] of Object.entries(table)) {
    out[name] = {
      ...spec,
      handle: (args, ctx) => spec.handle(args, Object.create(ctx, { backend: { value: mailBackendFor(ctx.backend) } })),
    };
  }
  return out;
}
