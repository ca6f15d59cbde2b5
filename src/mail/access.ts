/**
 * Mail access scoped to one account: every read or write of mailboxes and messages by any front end
 * (IMAP, POP3, JMAP) goes through an `AccountMail` opened for the authenticated account, which refuses
 * a mailbox of another account in one place. `mail/service.ts` implements it on the store.
 */
import type {
  EmailIndexRow,
  EmailRecord,
  EmailUpdate,
  FeedReset,
  FlagOperation,
  MailboxChange,
  MailboxCounts,
  MailboxDelta,
  MailboxRecord,
  MessageMetaColumns,
  MessageMetaField,
  MessageMetaRow,
  MessageRecord,
  MetadataChange,
  MetadataEntry,
  ObjectChange,
  ObjectType,
  SearchTerm,
  SpecialUse,
  WriteOptions,
} from '../store/types.ts';
import type { MailboxSnapshot, MailboxSummary } from './mailbox-snapshots.ts';

export type { MailboxSnapshot, MailboxSummary };

/**
 * Why an operation was refused. `NONEXISTENT` also answers a mailbox id of another account: a front end
 * learns nothing about mailboxes it may not see (RFC 8620 §1.6.2 asks the same of JMAP ids).
 */
export type MailAccessErrorCode = 'NONEXISTENT' | 'ALREADYEXISTS' | 'OVERQUOTA' | 'CANNOT';

export class MailAccessError extends Error {
  constructor(
    readonly code: MailAccessErrorCode,
    message: string,
  ) {
    super(message);
    this.name = 'MailAccessError';
  }
}

export interface MailboxWithCounts {
  mailbox: MailboxRecord;
  counts: MailboxCounts;
}

/** Storage of the whole account (RFC 9208 STORAGE, JMAP Quota): limit null when unlimited. */
export interface QuotaUsage {
  usedBytes: number;
  messages: number;
  limitBytes: number | null;
}

/** One message being appended or imported; nothing is visible before `commitAppends` resolves. */
export interface AppendTransaction {
  write(chunk: Buffer): void;
  readonly size: number;
  /** Discards the bytes; idempotent (also after commit). */
  abort(): void;
}

export interface AppendTarget {
  mailboxId: number;
  /** More mailboxes holding the same email (JMAP Email/import and drafts with several mailboxIds). */
  alsoMailboxIds?: readonly number[];
  flags?: string[];
  /** Default: now. */
  internalDate?: Date | null;
}

export interface AppendResult {
  /** The first target's copy. */
  mailboxId: number;
  uid: number;
  uidValidity: number;
  emailId: number;
  threadId: number;
  size: number;
}

/** A change to the account's mail or METADATA entries, or `reset`: changes may have been missed, read again what is held. */
export type AccountMailChange = MailboxChange | MetadataChange | FeedReset;

/**
 * The mail of one account. Mailbox ids are checked to belong to the account (NONEXISTENT otherwise);
 * names are the account's own. Mailbox and message ids are never reused, so an id held stays this
 * account's or comes to mean nothing.
 */
export interface AccountMail {
  readonly accountId: number;

  // Mailboxes
  listMailboxes(): Promise<MailboxRecord[]>;
  /** Every mailbox with its message counts (JMAP Mailbox/get). */
  listMailboxesWithCounts(): Promise<MailboxWithCounts[]>;
  /** Throws NONEXISTENT when the mailbox is gone or belongs to another account. */
  mailbox(mailboxId: number): Promise<MailboxRecord>;
  /** null when the account has no mailbox of that name. */
  findMailbox(name: string): Promise<MailboxRecord | null>;
  /** Not subscribed (RFC 9051 §6.3.4). Throws ALREADYEXISTS. */
  createMailbox(name: string, options?: { specialUse?: SpecialUse | null }): Promise<MailboxRecord>;
  /** Deletes the mailbox and its messages, not its children. INBOX cannot be deleted (CANNOT). */
  deleteMailbox(mailboxId: number): Promise<void>;
  /**
   * Renames the mailbox and every child below it. Throws ALREADYEXISTS when `newName` is taken, CANNOT
   * for INBOX (delivery and POP3 rely on its name; IMAP's RENAME INBOX moves its messages instead).
   */
  renameMailbox(mailboxId: number, newName: string): Promise<void>;
  /** Subscribing needs the mailbox; unsubscribing works for a name whose mailbox is gone (RFC 9051 §6.3.8). */
  setSubscribed(name: string, subscribed: boolean): Promise<void>;
  /** The JMAP sortOrder of one of the account's mailboxes (null: the default by role). Throws NONEXISTENT. */
  setSortOrder(mailboxId: number, sortOrder: number | null): Promise<void>;
  /** Subscribed names, including those whose mailbox no longer exists. */
  listSubscriptions(): Promise<string[]>;
  /** RFC 5464 METADATA entries of the account's server (mailboxId null) or of one of its mailboxes (else NONEXISTENT). */
  listMetadata(mailboxId: number | null): Promise<MetadataEntry[]>;
  /**
   * Sets (value) or removes (null) entries together; false, and nothing changed, when more than
   * `maxEntries` would then be kept there (RFC 5464 §4.3 TOOMANY). NONEXISTENT for a mailbox of another account.
   */
  setMetadata(mailboxId: number | null, changes: readonly { entry: string; value: Buffer | null }[], options: { maxEntries: number }): Promise<boolean>;
  counts(mailboxId: number): Promise<MailboxCounts>;
  /**
   * UIDs, unseen and keywords as opening a mailbox needs them, kept between calls and brought forward
   * from the changes since (mailbox-snapshots.ts); null when the mailbox was deleted meanwhile. Takes the
   * record just read through this account (findMailbox, mailbox()): its UIDNEXT and HIGHESTMODSEQ say
   * whether what is kept is current.
   */
  snapshot(mailbox: MailboxRecord): Promise<MailboxSnapshot | null>;
  /** The message and unseen counts from what `snapshot` keeps (cheap for polling clients). */
  summary(mailbox: MailboxRecord): Promise<MailboxSummary | null>;

  // Messages (ascending by UID unless said otherwise)
  /** Metadata in the cheap row form for a UID range. */
  listMessageMeta(mailboxId: number, range: { uidFrom: number; uidTo: number }): Promise<MessageMetaRow[]>;
  /** The given fields of a UID range as columns (listings of whole mailboxes). */
  listMetaColumns(mailboxId: number, options: { uidFrom: number; uidTo: number; fields: readonly MessageMetaField[] }): Promise<MessageMetaColumns>;
  /** With `changedSinceModSeq`, only messages whose modseq is greater. */
  listMessages(mailboxId: number, options?: { changedSinceModSeq?: number; uidFrom?: number; uidTo?: number }): Promise<MessageRecord[]>;
  getMessage(mailboxId: number, uid: number): Promise<MessageRecord | null>;
  /** Changes after a modseq; null when more than `maxChanges` changed. */
  mailboxDelta(mailboxId: number, sinceModSeq: number, options: { maxChanges: number }): Promise<MailboxDelta | null>;
  /** UIDs expunged after `sinceModSeq` (RFC 7162 §3.2.5). */
  vanishedSince(mailboxId: number, sinceModSeq: number): Promise<number[]>;
  /** The message bytes, whole or [start, end); null when the message is gone. */
  readMessage(mailboxId: number, uid: number, range?: { start: number; end: number }): Promise<Buffer | null>;
  /** The first bytes of each message of a UID range (MailStore.readMessageHeads). */
  readMessageHeads(mailboxId: number, range: { uidFrom: number; uidTo: number }, maxBytes: number): Promise<{ uids: number[]; heads: Buffer[] }>;
  /** The bytes in chunks; throws (possibly on first iteration) when the message is gone. */
  streamMessage(mailboxId: number, uid: number): AsyncIterable<Buffer>;

  /** Returns the records that changed (with their new modseq). `unchangedSince`: RFC 7162 §3.1.3. */
  storeFlags(mailboxId: number, uids: readonly number[], op: FlagOperation, flags: string[], options?: { unchangedSince?: number; committed?: WriteOptions['committed'] }): Promise<{ changed: MessageRecord[]; failedUnchangedSince: number[] }>;
  /** Returns the UIDs removed. `committed`: resolve at COMMIT (WriteOptions). */
  expunge(mailboxId: number, uids: readonly number[], options?: { committed?: WriteOptions['committed'] }): Promise<number[]>;
  /**
   * Copies or moves messages between two mailboxes of the account; [sourceUid, destUid] pairs (RFC 4315
   * COPYUID). A copy into another mailbox must fit the quota (OVERQUOTA, RFC 9208 §4.2); a move adds nothing.
   * `committed`: resolve at COMMIT (WriteOptions).
   */
  copyMessages(fromMailboxId: number, uids: readonly number[], toMailboxId: number, options?: { move?: boolean; committed?: WriteOptions['committed'] }): Promise<{ uidValidity: number; pairs: [number, number][] }>;

  /** Starts a message for `commitAppends` (IMAP APPEND, JMAP Email/import and drafts). */
  beginAppend(): AppendTransaction;
  /**
   * Stores the messages durably, all or none (RFC 3502 MULTIAPPEND), after checking every target belongs
   * to the account (NONEXISTENT) and that together they fit the quota (OVERQUOTA). The transactions are
   * closed either way. `committed`: resolve at COMMIT (WriteOptions).
   */
  commitAppends(messages: { tx: AppendTransaction; target: AppendTarget }[], options?: { committed?: WriteOptions['committed'] }): Promise<AppendResult[]>;

  // Emails: the JMAP object model (docs/decisions/0008); ids of other accounts are left out or not found.
  /** The account's modseq: the state of its Mailbox, Email and Thread data. */
  accountModSeq(): Promise<number>;
  /** Objects changed after `sinceModSeq`, ascending, at most `limit` + 1. */
  objectChanges(type: ObjectType, sinceModSeq: number, limit: number): Promise<ObjectChange[]>;
  /** The lowest modseq from which changes are still known; 0: all history. */
  changesKnownSince(): Promise<number>;
  /** The account's emails with these ids (others left out), in no particular order. */
  getEmails(ids: readonly number[]): Promise<EmailRecord[]>;
  /** Per mailbox of the account: emails, unread emails, threads and threads unread there (JMAP Mailbox counts). */
  mailboxEmailCounts(): Promise<Map<number, { emails: number; unread: number; threads: number; unreadThreads: number }>>;
  /** Email ids of each thread, oldest received first; threads of other accounts are left out. */
  threadEmails(threadIds: readonly number[]): Promise<Map<number, number[]>>;
  /** Email and thread ids of messages of one of the account's mailboxes, by UID (IMAP OBJECTID). */
  objectIds(mailboxId: number, uids: readonly number[]): Promise<Map<number, { emailId: number; threadId: number }>>;
  /** Index rows of the account's emails, or of one of its mailboxes, newest received first. */
  listEmailIndex(options?: { mailboxId?: number; ids?: readonly number[] }): Promise<EmailIndexRow[]>;
  /** Newest received first, `limit` ids from `position`, of one of the account's mailboxes. */
  mailboxEmailPage(mailboxId: number, options: { position: number; limit: number }): Promise<{ ids: number[]; total: number }>;
  /**
   * Applies keyword and mailbox changes in one transaction; returns ids not found. A target mailbox of
   * another account is NONEXISTENT; copies added must fit the quota (OVERQUOTA).
   */
  updateEmails(updates: readonly EmailUpdate[]): Promise<{ notFound: number[] }>;
  /** Removes every copy of these emails; returns the ids removed. */
  destroyEmails(ids: readonly number[]): Promise<number[]>;
  /** Where the email's bytes are (one of its copies), or null when the account has no such email. */
  emailLocation(emailId: number): Promise<{ mailboxId: number; uid: number; size: number } | null>;
  /** The search index's answer for the account: the emails it does not hold yet and, per term, those of the rest that match. */
  searchEmails(terms: readonly SearchTerm[]): Promise<{ unindexed: number[]; matches: Set<number>[] }>;
  /** Stored list properties (JSON) of those of the account's emails the index holds. */
  emailSummaries(emailIds: readonly number[]): Promise<Map<number, string>>;
  /** The email's bytes, whole or [start, end); null when the account has no such email. */
  readEmail(emailId: number, range?: { start: number; end: number }): Promise<Buffer | null>;

  /** The account's storage and its limit (one rule: mail/quota.ts). */
  quota(): Promise<QuotaUsage>;
  /** Changes to this account's mail, whichever process made them; returns an unsubscribe function. */
  watch(listener: (change: AccountMailChange) => void): () => void;
}

/** Opens the mail of an authenticated account (the identity a login produced). */
export interface MailAccess {
  open(identity: { accountId: number }): Promise<AccountMail>;
}
