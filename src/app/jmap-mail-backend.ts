/**
 * The JMAP Mail methods' backend on the account-scoped mail service (`mail/access.ts`): maps JMAP account
 * ids to store accounts and opens their `AccountMail`, which checks that every mailbox and email named is
 * the account's and enforces the quota. Session questions (accounts, capabilities) go to the Core backend.
 */
import type { AccountMail, MailAccess } from '../mail/access.ts';
import { MailAccessError } from '../mail/access.ts';
import type { JmapAccount, JmapBackend, JmapIdentity } from '../protocols/jmap/backend.ts';
import type { JmapMailBackend, MailboxWriteError, MailEmail, MailEmailUpdate, MailIndexRow, MailMailbox, MailObjectChange, MailObjectType, StoreEmailResult } from '../protocols/jmap/mail/backend.ts';
import type { MethodTable } from '../protocols/jmap/method.ts';
import type { MailSearchTerm } from '../protocols/jmap/mail/search-document.ts';
import type { SpecialUse } from '../store/types.ts';

export interface StoreJmapMailOptions {
  mail: MailAccess;
  /** The Core backend (accounts of an identity, session state) this one adds Mail to. */
  base: JmapBackend;
  /** The store account behind a JMAP account id, or null. */
  storeAccountId: (jmapAccountId: string) => number | null;
  /** The bytes of an uploaded blob of the account (RFC 8620 §6.1), when uploads exist. */
  uploadedBlob?: (accountId: number, blobId: string) => Promise<Buffer | null>;
  /** The same upload as a stream of chunks. */
  uploadedStream?: (accountId: number, blobId: string) => Promise<{ stream(): AsyncIterable<Buffer> } | null>;
}

function writeError(err: unknown): MailboxWriteError {
  if (!(err instanceof MailAccessError)) throw err;
  return err.code === 'NONEXISTENT' ? 'notFound' : err.code === 'ALREADYEXISTS' ? 'alreadyExists' : 'forbidden';
}

export class StoreJmapMailBackend implements JmapMailBackend {
  protected readonly options: StoreJmapMailOptions;
  private readonly base: JmapBackend;

  constructor(options: StoreJmapMailOptions) {
    this.options = options;
    this.base = options.base;
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

  /** The engine checked the identity may use the account; an id without a store account is a bug upstream. */
  protected async account(accountId: string): Promise<AccountMail> {
    const id = this.options.storeAccountId(accountId);
    if (id === null) throw new Error(`no store account behind ${accountId}`);
    return this.options.mail.open({ accountId: id });
  }

  async mailState(accountId: string): Promise<number> {
    return (await this.account(accountId)).accountModSeq();
  }

  async changes(accountId: string, type: MailObjectType, sinceModSeq: number, limit: number): Promise<MailObjectChange[]> {
    return (await this.account(accountId)).objectChanges(type, sinceModSeq, limit);
  }

  async mailboxes(accountId: string): Promise<MailMailbox[]> {
    const mail = await this.account(accountId);
    const [list, counts] = await Promise.all([mail.listMailboxes(), mail.mailboxEmailCounts()]);
    return list.map((m) => {
      const c = counts.get(m.id);
      return { id: m.id, name: m.name, specialUse: m.specialUse, subscribed: m.subscribed, sortOrder: m.sortOrder, totalEmails: c?.emails ?? 0, unreadEmails: c?.unread ?? 0, totalThreads: c?.threads ?? 0, unreadThreads: c?.unreadThreads ?? 0 };
    });
  }

  async emails(accountId: string, ids: readonly number[]): Promise<MailEmail[]> {
    return (await (await this.account(accountId)).getEmails(ids)).map((e) => ({ id: e.id, threadId: e.threadId, copies: e.copies, size: e.size, receivedAt: e.receivedAt }));
  }

  async emailBytes(accountId: string, id: number): Promise<Buffer | null> {
    return (await this.account(accountId)).readEmail(id);
  }

  async searchEmails(accountId: string, terms: readonly MailSearchTerm[]) {
    return (await this.account(accountId)).searchEmails(terms);
  }

  async emailSummaries(accountId: string, ids: readonly number[]): Promise<Map<number, Record<string, unknown>>> {
    const out = new Map<number, Record<string, unknown>>();
    for (const [id, json] of await (await this.account(accountId)).emailSummaries(ids)) out.set(id, JSON.parse(json) as Record<string, unknown>);
    return out;
  }

  async threads(accountId: string, threadIds: readonly number[]): Promise<Map<number, number[]>> {
    return (await this.account(accountId)).threadEmails(threadIds);
  }

  async emailIndex(accountId: string, options: { mailboxId?: number; ids?: readonly number[] } = {}): Promise<MailIndexRow[]> {
    try {
      return await (await this.account(accountId)).listEmailIndex(options);
    } catch (err) {
      if (err instanceof MailAccessError && err.code === 'NONEXISTENT') return [];
      throw err;
    }
  }

  async mailboxPage(accountId: string, mailboxId: number, options: { position: number; limit: number }) {
    try {
      return await (await this.account(accountId)).mailboxEmailPage(mailboxId, options);
    } catch (err) {
      if (err instanceof MailAccessError && err.code === 'NONEXISTENT') return { ids: [], total: 0 };
      throw err;
    }
  }

  async updateEmails(accountId: string, updates: readonly MailEmailUpdate[]): Promise<{ notFound: number[] } | 'overQuota'> {
    try {
      return await (await this.account(accountId)).updateEmails(updates);
    } catch (err) {
      if (err instanceof MailAccessError && err.code === 'OVERQUOTA') return 'overQuota';
      throw err;
    }
  }

  async destroyEmails(accountId: string, ids: readonly number[]) {
    return (await this.account(accountId)).destroyEmails(ids);
  }

  async storeEmail(accountId: string, input: { bytes: Buffer | AsyncIterable<Buffer>; mailboxIds: number[]; flags: string[]; receivedAt: Date }): Promise<StoreEmailResult> {
    const mail = await this.account(accountId);
    const tx = mail.beginAppend();
    try {
      // The append spools to disk past a small size, so a streamed message is never held whole.
      if (Buffer.isBuffer(input.bytes)) tx.write(input.bytes);
      else for await (const chunk of input.bytes) tx.write(chunk);
      // Durable on return: the caller answers "created" only after this commit (RFC 8620 §5.3).
      const [result] = await mail.commitAppends([{ tx, target: { mailboxId: input.mailboxIds[0]!, alsoMailboxIds: input.mailboxIds.slice(1), flags: input.flags, internalDate: input.receivedAt } }]);
      return { id: result!.emailId, threadId: result!.threadId, size: result!.size };
    } catch (err) {
      if (err instanceof MailAccessError && err.code === 'OVERQUOTA') return 'overQuota';
      if (err instanceof MailAccessError && err.code === 'NONEXISTENT') return 'notFound';
      throw err;
    } finally {
      tx.abort();
    }
  }

  async blobBytes(accountId: string, blobId: string): Promise<Buffer | null> {
    const id = this.options.storeAccountId(accountId);
    return this.options.uploadedBlob && id !== null ? this.options.uploadedBlob(id, blobId) : null;
  }

  async blobStream(accountId: string, blobId: string): Promise<AsyncIterable<Buffer> | null> {
    const id = this.options.storeAccountId(accountId);
    if (id === null) return null;
    if (!this.options.uploadedStream) {
      const bytes = await this.blobBytes(accountId, blobId);
      return bytes === null ? null : (async function* () { yield bytes; })();
    }
    return (await this.options.uploadedStream(id, blobId))?.stream() ?? null;
  }

  /** A whole message of the account as a stream of chunks (downloads of big messages), or null. */
  async emailStream(accountId: string, id: number): Promise<{ size: number; stream(): AsyncIterable<Buffer> } | null> {
    const mail = await this.account(accountId);
    const where = await mail.emailLocation(id);
    if (where === null) return null;
    return { size: where.size, stream: () => mail.streamMessage(where.mailboxId, where.uid) };
  }

  async createMailbox(accountId: string, name: string, specialUse: string | null): Promise<{ id: number } | MailboxWriteError> {
    try {
      return { id: (await (await this.account(accountId)).createMailbox(name, { specialUse: specialUse as SpecialUse | null })).id };
    } catch (err) {
      return writeError(err);
    }
  }

  async renameMailbox(accountId: string, mailboxId: number, newName: string): Promise<true | MailboxWriteError> {
    try {
      await (await this.account(accountId)).renameMailbox(mailboxId, newName);
      return true;
    } catch (err) {
      return writeError(err);
    }
  }

  async destroyMailbox(accountId: string, mailboxId: number, options: { removeEmails: boolean }): Promise<true | MailboxWriteError> {
    const mail = await this.account(accountId);
    try {
      const mailbox = await mail.mailbox(mailboxId);
      // Delivery and POP3 rely on INBOX (mail/access.ts keeps it); RFC 8621 §2.5 forbidden.
      if (mailbox.name === 'INBOX') return 'forbidden';
      // RFC 8621 §2.5: a mailbox with children is mailboxHasChild, one with mail (unless asked) mailboxHasEmail.
      if ((await mail.listMailboxes()).some((m) => m.name.startsWith(`${mailbox.name}/`))) return 'mailboxHasChild';
      if (!options.removeEmails && (await mail.counts(mailboxId)).messages > 0) return 'mailboxHasEmail';
      await mail.deleteMailbox(mailboxId);
      if (mailbox.subscribed) await mail.setSubscribed(mailbox.name, false);
      return true;
    } catch (err) {
      return writeError(err);
    }
  }

  async setSubscribed(accountId: string, mailboxId: number, subscribed: boolean): Promise<true | MailboxWriteError> {
    const mail = await this.account(accountId);
    try {
      await mail.setSubscribed((await mail.mailbox(mailboxId)).name, subscribed);
      return true;
    } catch (err) {
      return writeError(err);
    }
  }

  async setSortOrder(accountId: string, mailboxId: number, sortOrder: number | null): Promise<true | MailboxWriteError> {
    try {
      await (await this.account(accountId)).setSortOrder(mailboxId, sortOrder);
      return true;
    } catch (err) {
      return writeError(err);
    }
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
