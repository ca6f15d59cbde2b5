/**
 * What the JMAP Mail methods (RFC 8621) need from the server, per account: mailboxes with counts, emails by
 * id with their bytes, threads, the account modseq and its change history, and the writes. Numeric ids are
 * the store's; the methods turn them into JMAP Id strings (core/object-ids.ts). `app/jmap-backend.ts`
 * implements it on the store, with the account boundary checked there.
 */
import type { JmapBackend } from '../backend.ts';
import type { MailSearchTerm } from './search-document.ts';

export type MailObjectType = 'Mailbox' | 'Email' | 'Thread';

export interface MailObjectChange {
  id: number;
  modSeq: number;
  created: boolean;
  destroyed: boolean;
}

export interface MailMailbox {
  id: number;
  /** The IMAP name, hierarchy separator "/" ("INBOX", "Lists/postamt"). */
  name: string;
  /** "\\Sent" etc. (RFC 6154), null for none. */
  specialUse: string | null;
  subscribed: boolean;
  /** The sortOrder a client set (RFC 8621 §2), or null for the default by role. */
  sortOrder: number | null;
  totalEmails: number;
  unreadEmails: number;
  totalThreads: number;
  unreadThreads: number;
}

export interface MailEmail {
  id: number;
  threadId: number;
  /** One entry per mailbox the email is in, with that copy's IMAP flags. */
  copies: { mailboxId: number; flags: string[] }[];
  size: number;
  receivedAt: Date;
}

export interface MailIndexRow {
  id: number;
  threadId: number;
  mailboxIds: number[];
  flags: string;
  size: number;
  receivedAt: number;
  sentAt: number | null;
  baseSubject: string;
  fromSort: string;
  toSort: string;
}

export interface MailEmailUpdate {
  emailId: number;
  flags?: { op: 'add' | 'remove' | 'set'; flags: string[] };
  mailboxIds?: number[];
}

/** A stored email, or why not: over the account's quota, or a mailbox that is gone. */
export type StoreEmailResult = { id: number; threadId: number; size: number } | 'overQuota' | 'notFound';

export type MailboxWriteError = 'notFound' | 'alreadyExists' | 'mailboxHasChild' | 'mailboxHasEmail' | 'forbidden';

export interface JmapMailBackend extends JmapBackend {
  /** The account's modseq: the state of Mailbox, Email and Thread (docs/decisions/0008). */
  mailState(accountId: string): Promise<number>;
  changes(accountId: string, type: MailObjectType, sinceModSeq: number, limit: number): Promise<MailObjectChange[]>;
  mailboxes(accountId: string): Promise<MailMailbox[]>;
  emails(accountId: string, ids: readonly number[]): Promise<MailEmail[]>;
  /** The whole message, or null when the email is not the account's. */
  emailBytes(accountId: string, id: number): Promise<Buffer | null>;
  threads(accountId: string, threadIds: readonly number[]): Promise<Map<number, number[]>>;
  /** With `ids`: only the index rows of these emails (a search that already knows its candidates). */
  emailIndex(accountId: string, options?: { mailboxId?: number; ids?: readonly number[] }): Promise<MailIndexRow[]>;
  /** Newest received first, one mailbox: the fast path of the first page a client shows. */
  mailboxPage(accountId: string, mailboxId: number, options: { position: number; limit: number }): Promise<{ ids: number[]; total: number } | null>;
  /**
   * The search index's answer for these terms (search-document.ts): the account's emails it does not hold
   * yet and, per term, those of the rest that match. Absent: every email is read.
   */
  searchEmails?(accountId: string, terms: readonly MailSearchTerm[]): Promise<{ unindexed: number[]; matches: Set<number>[] }>;
  /** The stored list properties (SUMMARY_PROPERTIES) of those emails that have them. */
  emailSummaries?(accountId: string, ids: readonly number[]): Promise<Map<number, Record<string, unknown>>>;
  /** One transaction: 'overQuota' when a copy added would not fit, and then nothing was applied. */
  updateEmails(accountId: string, updates: readonly MailEmailUpdate[]): Promise<{ notFound: number[] } | 'overQuota'>;
  destroyEmails(accountId: string, ids: readonly number[]): Promise<number[]>;
  /**
   * Stores a message durably as one email in the given mailboxes (Email/import, Email/set create,
   * Email/copy); resolves after commit. A stream is written as it is read, never held whole.
   */
  storeEmail(accountId: string, input: { bytes: Buffer | AsyncIterable<Buffer>; mailboxIds: number[]; flags: string[]; receivedAt: Date }): Promise<StoreEmailResult>;
  /** Bytes of an uploaded blob of the account (RFC 8620 §6.1), or null. */
  blobBytes(accountId: string, blobId: string): Promise<Buffer | null>;
  /** The same blob as a stream of chunks, when the backend can read it that way (Email/import of a big upload). */
  blobStream?(accountId: string, blobId: string): Promise<AsyncIterable<Buffer> | null>;
  createMailbox(accountId: string, name: string, specialUse: string | null): Promise<{ id: number } | MailboxWriteError>;
  renameMailbox(accountId: string, id: number, newName: string): Promise<true | MailboxWriteError>;
  destroyMailbox(accountId: string, id: number, options: { removeEmails: boolean }): Promise<true | MailboxWriteError>;
  setSubscribed(accountId: string, id: number, subscribed: boolean): Promise<true | MailboxWriteError>;
  setSortOrder(accountId: string, id: number, sortOrder: number | null): Promise<true | MailboxWriteError>;
}
