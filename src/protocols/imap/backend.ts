/**
 * What the IMAP engine needs from the rest of the server, per authenticated account: mailboxes,
 * message metadata and bytes, flag changes, expunge, copy/move, streaming APPEND and change
 * notifications. `mail/imap-backend.ts` implements it on account-scoped mail access.
 */
import type { AuthIdentity } from '../sasl/types.ts';
import type { RecentClaims } from './recent-claims.ts';
import type { UidMap } from './uid-map.ts';

export type ImapSpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive' | '\\All' | '\\Flagged';

export interface ImapMailboxInfo {
  id: number;
  /** UTF-8, separator "/", INBOX spelled "INBOX". */
  name: string;
  specialUse: ImapSpecialUse | null;
  subscribed: boolean;
}

export interface ImapMailboxStatus {
  id: number;
  messages: number;
  unseen: number;
  /** null when asked for without counts. */
  deleted: number | null;
  sizeBytes: number | null;
  uidNext: number;
  uidValidity: number;
  highestModSeq: number;
}

export interface ImapMessageMeta {
  uid: number;
  size: number;
  internalDate: Date;
  flags: string[];
  modSeq: number;
  /** RFC 8474 OBJECTID: present when asked for (SEARCH EMAILID/THREADID). */
  emailId?: number;
  threadId?: number;
  /** RFC 8514 SAVEDATE: present when asked for (SEARCH SAVEDBEFORE/SAVEDON/SAVEDSINCE). */
  saveDate?: Date;
}

/**
 * `emailId`, `threadId`: RFC 8474 OBJECTID, the numbers behind the JMAP Email and Thread ids. `saveDate`:
 * RFC 8514, when the message was stored in this mailbox.
 */
export type ImapMetaField = 'flags' | 'size' | 'internalDate' | 'modSeq' | 'emailId' | 'threadId' | 'saveDate';

/** Metadata of a UID range as parallel columns, ascending by UID (FETCH of many messages). */
export interface ImapMetaColumns {
  count: number;
  /** UIDs of the messages found; null when every UID of the range was found. */
  uids: Uint32Array | null;
  /** Space-separated, as stored. */
  flags?: string[];
  size?: number[];
  /** Milliseconds since the epoch. */
  internalDate?: number[];
  modSeq?: number[];
  emailId?: number[];
  threadId?: number[];
  /** Milliseconds since the epoch. */
  saveDate?: number[];
}

/** The selected mailbox at SELECT time: the UID list and what the SELECT responses need. */
export interface ImapMailboxSnapshot {
  id: number;
  name: string;
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  /** Ascending; a UidMap is taken over by the session as it is (the backend must not keep using it). */
  uids: ArrayLike<number> | UidMap;
  /** Keywords in use, for FLAGS / PERMANENTFLAGS. */
  keywords: string[];
  unseen: number;
  /** 1-based sequence number of the first unseen message, 0 when none (IMAP4rev1 [UNSEEN n]). */
  firstUnseenSeq: number;
}

/**
 * A change in the account; 'reset' (mailboxId 0): changes may have been missed, anything may have changed;
 * 'metadata': METADATA `entries` of a mailbox, or of the server (mailboxId 0), were set or removed.
 */
export interface ImapChange {
  mailboxId: number;
  kind: 'append' | 'expunge' | 'flags' | 'mailbox' | 'metadata' | 'reset';
  uids?: number[];
  entries?: string[];
}

/** Why a backend operation failed, mapped to a response code (RFC 5530). */
export class ImapBackendError extends Error {
  constructor(
    readonly code: 'NONEXISTENT' | 'ALREADYEXISTS' | 'OVERQUOTA' | 'CANNOT' | 'TRYCREATE' | 'UNAVAILABLE' | 'LIMIT' | 'INUSE',
    message: string,
  ) {
    super(message);
    this.name = 'ImapBackendError';
  }
}

export interface ImapAppendTarget {
  mailbox: string;
  flags: string[];
  internalDate: Date | null;
}

/** One APPEND message being received; nothing is visible before `commit` resolves durably. */
export interface ImapAppendSink {
  write(chunk: Buffer): void;
  readonly size: number;
  commit(target: ImapAppendTarget): Promise<{ uid: number; uidValidity: number }>;
  abort(): void;
}

/**
 * `committed`: the write may return once its effects are visible to the session's next commands, before
 * they are durable; it is handed the promise that settles when they are (rejecting if that fails), and the
 * session acknowledges nothing that depends on the write before then. A backend may ignore it and return
 * once durable.
 */
export interface ImapWriteOptions {
  committed?: (durable: Promise<void>) => void;
}

export interface ImapFlagResult {
  changed: ImapMessageMeta[];
  /** UIDs refused by UNCHANGEDSINCE (RFC 7162 §3.1.3). */
  failedUnchangedSince: number[];
}

/**
 * Formatted ENVELOPEs kept across sessions, keyed by the engine (mailbox id, UIDVALIDITY and UID: a
 * message's bytes never change under its UID). May forget anything at any time.
 */
export interface ImapEnvelopeCache {
  get(key: string): string | undefined;
  set(key: string, envelope: string): void;
}

/**
 * The header sections of one field list for a run of SECTION_BLOCK UIDs of a mailbox, starting at a multiple
 * of it: one cache entry (and one lookup) for hundreds of messages. Filled by the engine as it reads them.
 */
export interface ImapSectionBlock {
  /** `literals[uid % SECTION_BLOCK]`: the IMAP literal (`{n}\r\n` and the section as latin1 text), or undefined. */
  readonly literals: (string | undefined)[];
  /** The memory the literals hold, as estimated by whoever adds one. */
  bytes: number;
}

/** Blocks of header sections kept across sessions, keyed by the engine; may forget any block at any time. */
export interface ImapSectionCache {
  get(key: string): ImapSectionBlock | undefined;
  /** Stores a block, or counts again the bytes of one that got more literals since. */
  set(key: string, block: ImapSectionBlock): void;
}

export interface ImapAccount {
  /** Optional: without it every ENVELOPE is parsed from the message header. */
  readonly envelopes?: ImapEnvelopeCache;
  /**
   * Top-level header sections (FETCH BODY.PEEK[HEADER.FIELDS (...)]) in blocks of UIDs, keyed by the engine
   * like ENVELOPEs; optional: without it they are read from the message each time.
   */
  readonly headerSections?: ImapSectionCache;
  /** RFC 3501 §2.3.2 \Recent, shared by every session of the server; without it nothing is recent. */
  readonly recent?: RecentClaims;
  listMailboxes(): Promise<ImapMailboxInfo[]>;
  /** Throws ImapBackendError ALREADYEXISTS / CANNOT; returns the new mailbox's id (RFC 8474 MAILBOXID). */
  createMailbox(name: string, options?: { specialUse?: ImapSpecialUse | null }): Promise<number>;
  deleteMailbox(name: string): Promise<void>;
  renameMailbox(oldName: string, newName: string): Promise<void>;
  setSubscribed(name: string, subscribed: boolean): Promise<void>;
  /** Subscribed names, including those whose mailbox no longer exists (RFC 9051 §6.3.8). */
  listSubscriptions(): Promise<string[]>;
  /**
   * null when the mailbox does not exist. `counts: false` (DELETED and SIZE not wanted) lets the backend
   * answer from what it keeps for SELECT instead of counting the messages.
   */
  status(name: string, options?: { counts?: boolean }): Promise<ImapMailboxStatus | null>;
  select(name: string): Promise<ImapMailboxSnapshot | null>;

  /**
   * RFC 8474 OBJECTID: the email and thread ids (the numbers JMAP formats as its Email and Thread ids) of
   * the given UIDs, missing ones omitted.
   */
  objectIds(mailboxId: number, uids: readonly number[]): Promise<Map<number, { emailId: number; threadId: number }>>;
  /** Metadata of the given UIDs (missing ones omitted), ascending. */
  messages(mailboxId: number, uids: readonly number[]): Promise<ImapMessageMeta[]>;
  /** The given fields of the messages with UIDs in [uidFrom, uidTo] (missing ones omitted). */
  metaColumns(mailboxId: number, range: { uidFrom: number; uidTo: number }, fields: readonly ImapMetaField[]): Promise<ImapMetaColumns>;
  /** Messages with modseq > `modSeq`, or with uid >= `uidFrom` (new arrivals), ascending. */
  changedSince(mailboxId: number, options: { modSeq?: number; uidFrom?: number }): Promise<ImapMessageMeta[]>;
  /**
   * Optional: the first bytes (at most maxBytes) of each message of a UID range in one read, missing UIDs
   * omitted; a head may come back shorter than both (then read that message by itself).
   */
  readMessageHeads?(mailboxId: number, range: { uidFrom: number; uidTo: number }, maxBytes: number): Promise<{ uids: number[]; heads: Buffer[] }>;
  /** The whole message, or the bytes [start, end) of it; null when it is gone. */
  readMessage(mailboxId: number, uid: number, range?: { start: number; end: number }): Promise<Buffer | null>;
  storeFlags(mailboxId: number, uids: readonly number[], op: 'add' | 'remove' | 'set', flags: string[], options?: ImapWriteOptions & { unchangedSince?: number }): Promise<ImapFlagResult>;
  expunge(mailboxId: number, uids: readonly number[], options?: ImapWriteOptions): Promise<number[]>;
  vanishedSince(mailboxId: number, modSeq: number): Promise<number[]>;
  /** Throws ImapBackendError TRYCREATE when the destination does not exist. */
  copy(mailboxId: number, uids: readonly number[], destination: string, options: ImapWriteOptions & { move: boolean }): Promise<{ uidValidity: number; pairs: [number, number][] }>;
  beginAppend(): ImapAppendSink;
  /**
   * RFC 3502 MULTIAPPEND: commits messages from beginAppend() together, all durably or none (the
   * sinks are aborted on failure). Throws ImapBackendError NONEXISTENT / OVERQUOTA like commit().
   */
  commitAppends(messages: { sink: ImapAppendSink; target: ImapAppendTarget }[], options?: ImapWriteOptions): Promise<{ uid: number; uidValidity: number }[]>;
  /**
   * RFC 5464 METADATA entries (names lower-cased) of the server (mailbox null) or of a mailbox, by name;
   * null when the mailbox does not exist.
   */
  getMetadata(mailbox: string | null): Promise<{ entry: string; value: Buffer }[] | null>;
  /**
   * Sets (value) or removes (null) entries together; false, nothing changed, when more than `maxEntries`
   * would then be kept there. Throws ImapBackendError NONEXISTENT.
   */
  setMetadata(mailbox: string | null, changes: readonly { entry: string; value: Buffer | null }[], options: { maxEntries: number }): Promise<boolean>;
  /** RFC 9208: storage in bytes; limit null when unlimited. */
  quota(): Promise<{ usedBytes: number; limitBytes: number | null }>;
  /** Change notifications for this account; returns an unsubscribe function. */
  watch(listener: (change: ImapChange) => void): () => void;
}

export interface ImapBackend {
  openAccount(identity: AuthIdentity): Promise<ImapAccount>;
}
