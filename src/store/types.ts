/**
 * The storage contract: every backend (embedded SQLite today, PostgreSQL later) implements `Store`.
 * Protocol engines never see it; services in accounts/, delivery/, queue/ and app/ call it.
 * Every method is async so that a networked backend fits without touching callers.
 *
 * Durability rule: `DeliveryTransaction.commit()` resolves only after the message, its mailbox entries
 * and its queue entries are fsync'd in one database transaction (concurrent commits share one fsync).
 */

export interface DomainRecord {
  name: string; // lower-case, no trailing dot
  createdAt: Date;
}

/** What SCRAM-SHA-256 needs (RFC 5802 §3, RFC 7677): never the clear password. Binary fields base64. */
export interface ScramCredentials {
  iterations: number;
  salt: string;
  storedKey: string;
  serverKey: string;
}

export interface AccountRecord {
  id: number;
  address: string; // lower-case local@domain
  passwordHash: string; // scrypt/argon2 PHC string
  scram: ScramCredentials | null;
  disabled: boolean;
  quotaBytes: number | null; // null: the server default
  /** Domains this account may use as envelope sender / From: (an admin grant). */
  sendAsDomains: string[];
  createdAt: Date;
}

export interface AccountPatch {
  passwordHash?: string;
  scram?: ScramCredentials | null;
  disabled?: boolean;
  quotaBytes?: number | null;
  sendAsDomains?: string[];
}

/**
 * What an account may administer: a server admin everything; a domain admin the accounts, aliases, DKIM keys
 * and queue entries of `domains`. The rules that use them live in admin/ (the administration service).
 */
export interface AdminRoles {
  serverAdmin: boolean;
  /** Lower-case local domains, sorted. */
  domains: string[];
}

export interface AppPasswordRecord {
  id: number;
  accountId: number;
  label: string;
  passwordHash: string;
  scram: ScramCredentials | null;
  /** Indexed lookup key (accounts/app-passwords.ts appPasswordTag); null for one made before tags existed, until its next use. */
  lookupTag: string | null;
  createdAt: Date;
  lastUsedAt: Date | null;
}

/** `address` is `local@domain`, or `@domain` for a catch-all. Targets are addresses (local or remote). */
export interface AliasRecord {
  address: string;
  targets: string[];
  createdAt: Date;
}

export type SpecialUse = '\\Sent' | '\\Drafts' | '\\Trash' | '\\Junk' | '\\Archive' | '\\All' | '\\Flagged';

export interface MailboxRecord {
  id: number;
  accountId: number;
  name: string; // UTF-8, hierarchy separator "/"; INBOX is always "INBOX"
  uidValidity: number;
  uidNext: number;
  highestModSeq: number;
  specialUse: SpecialUse | null;
  subscribed: boolean;
  /** The JMAP Mailbox sortOrder a client set (RFC 8621 §2), or null for the default by role. */
  sortOrder: number | null;
}

export interface MailboxCounts {
  messages: number;
  unseen: number;
  deleted: number;
  sizeBytes: number;
}

export interface MessageRecord {
  mailboxId: number;
  uid: number;
  size: number;
  internalDate: Date;
  flags: string[]; // system flags with backslash (\Seen) and keywords
  modSeq: number;
}

/** A message's metadata in a cheap form for big listings: no Date, flags as stored (space-separated). */
export interface MessageMetaRow {
  uid: number;
  size: number;
  /** Milliseconds since the epoch. */
  internalDate: number;
  flags: string;
  modSeq: number;
}

/**
 * `emailId`, `threadId`: the JMAP object ids of the rows (docs/decisions/0008). `saveDate`: when the row was
 * stored in its mailbox (delivery, APPEND, COPY, MOVE), in milliseconds; rows stored before it was kept
 * read their internal date.
 */
export type MessageMetaField = 'flags' | 'size' | 'internalDate' | 'modSeq' | 'emailId' | 'threadId' | 'saveDate';

/**
 * Metadata of the messages in a UID range as parallel columns, ascending by UID: no object per message,
 * for listings of whole mailboxes (IMAP FETCH 1:* (UID FLAGS)). Only the fields asked for are present.
 */
export interface MessageMetaColumns {
  /** Messages found. */
  count: number;
  /** Their UIDs; null when every UID of the range is present (uid i is uidFrom + i). */
  uids: Uint32Array | null;
  /** Flags as stored (space-separated). */
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

/**
 * A mailbox as opening it needs it (IMAP SELECT), read in one consistent snapshot: `mailbox` is the
 * record at that moment (its UIDNEXT and HIGHESTMODSEQ cover exactly these messages).
 */
export interface MailboxSelectState {
  mailbox: MailboxRecord;
  /** Every UID, ascending. */
  uids: Uint32Array;
  /** The UIDs of messages without \Seen (exact spelling, as IMAP stores it), ascending. */
  unseenUids: Uint32Array;
  /** Keywords (flags not starting with a backslash) in use, sorted. */
  keywords: string[];
}

/**
 * What changed in a mailbox after a modseq, read in one consistent snapshot (`mailbox` is the record at
 * that moment): every message whose modseq is greater (new or with new flags) and every UID expunged since.
 */
export interface MailboxDelta {
  mailbox: MailboxRecord;
  /** [uid, flags as stored (space-separated)], ascending by UID. */
  changed: [number, string][];
  /** Ascending. */
  vanished: number[];
}

export type FlagOperation = 'add' | 'remove' | 'set';

/**
 * `committed`: the write's promise resolves once its effects are visible to later reads (COMMIT), not once
 * they are durable; `committed` is handed the promise that settles when they are (rejecting if that fails),
 * and the caller must not acknowledge the write before it settles. Stores durable at COMMIT never call it.
 */
export interface WriteOptions {
  rerunnable?: boolean;
  committed?: (durable: Promise<void>) => void;
}

/** Messages or mailboxes of an account changed ('mailbox': created, deleted or renamed; mailboxId 0 for a rename). */
export interface MailboxChange {
  accountId: number;
  mailboxId: number;
  kind: 'append' | 'expunge' | 'flags' | 'mailbox';
  /** The UIDs concerned when known; without them a listener reads what changed from the store. */
  uids?: number[];
}

/** An account was added or removed, disabled or enabled, lost credentials (password, app password) or changed otherwise. */
export interface AccountChange {
  kind: 'account';
  accountId: number;
  event: 'added' | 'removed' | 'disabled' | 'enabled' | 'credentials' | 'settings' | AccountDataEvent;
}

/** Changes to an account's own JMAP data (VacationResponse, EmailSubmission, Identity): not to its login, addresses or mailboxes. */
export type AccountDataEvent = 'vacation' | 'submission' | 'identity';

export function isAccountDataEvent(event: AccountChange['event']): event is AccountDataEvent {
  return event === 'vacation' || event === 'submission' || event === 'identity';
}

/** Domains or aliases changed: answers about recipients may be stale. */
export interface DirectoryChange {
  kind: 'directory';
}

/** Queue entries were added, rescheduled, held, released or deleted. */
export interface QueueChange {
  kind: 'queue';
}

/**
 * METADATA entries (RFC 5464) of an account's server (`mailbox` null) or of one of its mailboxes were set or
 * removed: `entries` names them (IMAP NOTIFY reports the names, RFC 5465 §5.6, §5.7; values are read again).
 */
export interface MetadataChange {
  kind: 'metadata';
  accountId: number;
  mailbox: number | null;
  entries: string[];
}

/** Changes may have been missed (the feed fell behind or lost its source): anything held must be read again. */
export interface FeedReset {
  kind: 'reset';
}

/** Small state the nodes share changed (greylisting, DKIM keys, login failures); `value` is the new value when it is carried along. */
export interface SharedChange {
  kind: 'shared';
  namespace: string;
  key: string;
  value?: unknown;
}

export type StoreChange = MailboxChange | AccountChange | DirectoryChange | QueueChange | SharedChange | MetadataChange | FeedReset;

export function isMailboxChange(change: StoreChange): change is MailboxChange {
  return 'mailboxId' in change;
}

/** Where a change came from: this store instance (`local`), or another process or node. */
export interface ChangeSource {
  local: boolean;
}

/**
 * Every committed change, whichever process or node made it (docs/decisions/0006): this instance's own
 * right after they are durable, others' (the CLI, a second server) within the backend's delivery delay.
 * A change says what to read again, never the data itself: listeners read the store, tolerate duplicates,
 * and treat `reset` as "anything may have changed".
 */
export interface ChangeFeed {
  /** Returns an unsubscribe function. Hearing other processes' changes starts with the first subscriber. */
  subscribe(listener: (change: StoreChange, source: ChangeSource) => void): () => void;
}

/** RFC 3461 parameters kept with each queued recipient. */
export interface QueueRecipientInput {
  address: string;
  orcpt?: string | null;
  notify?: string[] | null; // NEVER | SUCCESS,FAILURE,DELAY
}

export interface QueueEnqueueInput {
  /** The queue id to use (the SMTP transaction id, so the id told to the client is the one every tool shows); default: a new one. */
  id?: string;
  sender: string; // '' for the null reverse-path
  recipients: QueueRecipientInput[];
  envid?: string | null;
  ret?: 'FULL' | 'HDRS' | null;
  /** Free-form origin: 'smtp', 'submission', 'dsn', ... */
  origin?: string;
  /** Authenticated submitter, if any. */
  submitter?: string | null;
  /** RFC 4865 FUTURERELEASE: no recipient is attempted before this time (a delayed send). */
  holdUntil?: Date | null;
}

export interface LocalDeliveryTarget {
  mailboxId: number;
  flags?: string[];
  internalDate?: Date;
}

export interface DeliveryPlan {
  /** Bytes prepended for mailbox copies only (Return-Path, RFC 5321 §4.4). */
  localHeader?: Buffer;
  /** Bytes prepended for every copy, before the body (Received, Authentication-Results ...). */
  traceHeader?: Buffer;
  mailboxes: LocalDeliveryTarget[];
  queue?: QueueEnqueueInput | null;
  /**
   * The mailbox copies are one email in several mailboxes (JMAP Email/import and drafts with several
   * mailboxIds; every target must be of one account) instead of one email per copy.
   */
  oneEmail?: boolean;
  /** Message trace events written in the same transaction as the message (no write or fsync of their own). */
  trace?: TraceEventInput[] | null;
}

export interface CommitResult {
  /** Each stored copy with its email and thread (docs/decisions/0008). */
  messages: { mailboxId: number; uid: number; emailId: number; threadId: number }[];
  queueId: string | null;
  size: number;
}

/**
 * One message being received. `write` appends body bytes (large bodies may be spooled to a temp file);
 * nothing becomes visible or persistent before `commit`. `abort` discards everything.
 */
export interface DeliveryTransaction {
  write(chunk: Buffer): void;
  readonly size: number;
  /**
   * Where the bytes written so far are, for checks that read them before commit: in memory, or the first
   * `size` bytes of a spool file (valid until commit or abort).
   */
  spooled(): { data: Buffer } | { path: string; size: number };
  /** `committed`: resolve at COMMIT (WriteOptions); stores durable at COMMIT ignore it. */
  commit(plan: DeliveryPlan, options?: { committed?: WriteOptions['committed'] }): Promise<CommitResult>;
  abort(): void;
}

export interface AccountStore {
  addDomain(name: string): Promise<DomainRecord>;
  removeDomain(name: string): Promise<boolean>;
  listDomains(): Promise<DomainRecord[]>;
  hasDomain(name: string): Promise<boolean>;

  /** Creates the account with INBOX, Sent, Drafts, Trash, Junk and Archive (RFC 6154); its id was never given before, even to a removed account. */
  addAccount(input: { address: string; passwordHash: string; scram: ScramCredentials | null; quotaBytes?: number | null }): Promise<AccountRecord>;
  getAccount(address: string): Promise<AccountRecord | null>;
  getAccountById(id: number): Promise<AccountRecord | null>;
  listAccounts(domain?: string): Promise<AccountRecord[]>;
  updateAccount(address: string, patch: AccountPatch): Promise<AccountRecord | null>;
  removeAccount(address: string): Promise<boolean>;

  addAppPassword(input: { accountId: number; label: string; passwordHash: string; scram: ScramCredentials | null; lookupTag?: string | null }): Promise<AppPasswordRecord>;
  listAppPasswords(accountId: number): Promise<AppPasswordRecord[]>;
  /** The account's app password with this lookup tag (an index lookup), or null. */
  findAppPassword(accountId: number, lookupTag: string): Promise<AppPasswordRecord | null>;
  removeAppPassword(accountId: number, id: number): Promise<boolean>;
  /** Records a use; `lookupTag` is stored when the app password has none yet. */
  touchAppPassword(id: number, lookupTag?: string): Promise<void>;

  /** The account's roles; none for an unknown id. */
  getAdminRoles(accountId: number): Promise<AdminRoles>;
  /** Every account holding a role, ordered by address. */
  listAdmins(): Promise<(AdminRoles & { accountId: number; address: string })[]>;
  /** Makes the account a server admin or takes it back; false when the account does not exist. */
  setServerAdmin(accountId: number, serverAdmin: boolean): Promise<boolean>;
  /** Makes the account a domain admin of a local domain; false when it already was. Throws for an unknown domain or account. */
  addDomainAdmin(accountId: number, domain: string): Promise<boolean>;
  /** false when the account was not a domain admin of that domain. */
  removeDomainAdmin(accountId: number, domain: string): Promise<boolean>;

  addAlias(address: string, targets: string[]): Promise<AliasRecord>;
  getAlias(address: string): Promise<AliasRecord | null>;
  listAliases(domain?: string): Promise<AliasRecord[]>;
  removeAlias(address: string): Promise<boolean>;
}

export interface MailStore {
  listMailboxes(accountId: number): Promise<MailboxRecord[]>;
  getMailbox(accountId: number, name: string): Promise<MailboxRecord | null>;
  getMailboxById(id: number): Promise<MailboxRecord | null>;
  /** A new mailbox, with an id and a UIDVALIDITY never given before, even to a deleted mailbox. */
  /** Not subscribed: RFC 9051 §6.3.4 CREATE does not subscribe (SUBSCRIBE, §6.3.8, is the client's choice). */
  createMailbox(accountId: number, name: string, specialUse?: SpecialUse | null): Promise<MailboxRecord>;
  /** Deletes the mailbox and its messages (not its children). */
  deleteMailbox(id: number): Promise<void>;
  /** Renames the mailbox and every child below it (`old/x` → `new/x`); a new UIDVALIDITY is not needed (RFC 9051 §6.3.6). */
  renameMailbox(accountId: number, oldName: string, newName: string): Promise<void>;
  /**
   * The JMAP sortOrder of a mailbox (null: the default); the mailbox's JMAP state changes with it. False when
   * the account has no such mailbox.
   */
  setMailboxSortOrder(accountId: number, mailboxId: number, sortOrder: number | null): Promise<boolean>;
  setSubscribed(accountId: number, name: string, subscribed: boolean): Promise<void>;
  listSubscriptions(accountId: number): Promise<string[]>;

  counts(mailboxId: number): Promise<MailboxCounts>;
  accountUsage(accountId: number): Promise<{ bytes: number; messages: number }>;

  /** Like listMessages over a UID range, in the cheap MessageMetaRow form. */
  listMessageMeta(mailboxId: number, options: { uidFrom: number; uidTo: number }): Promise<MessageMetaRow[]>;
  /** null when the mailbox does not exist. */
  selectState(mailboxId: number): Promise<MailboxSelectState | null>;
  /**
   * Changes after `sinceModSeq`; null when the mailbox does not exist or more than `maxChanges` messages
   * changed (reading the whole state is then cheaper).
   */
  mailboxDelta(mailboxId: number, sinceModSeq: number, options: { maxChanges: number }): Promise<MailboxDelta | null>;
  /** The given fields of the messages with UIDs in [uidFrom, uidTo], read in one consistent snapshot. */
  listMetaColumns(mailboxId: number, options: { uidFrom: number; uidTo: number; fields: readonly MessageMetaField[] }): Promise<MessageMetaColumns>;
  /** Messages ordered by UID; with `changedSinceModSeq`, only those whose modseq is greater. */
  listMessages(mailboxId: number, options?: { changedSinceModSeq?: number; uidFrom?: number; uidTo?: number }): Promise<MessageRecord[]>;
  getMessage(mailboxId: number, uid: number): Promise<MessageRecord | null>;
  /** The message bytes, whole or a range [start, end). */
  readMessage(mailboxId: number, uid: number, range?: { start: number; end: number }): Promise<Buffer>;
  /** The message bytes in chunks, so big messages are never held whole. */
  streamMessage(mailboxId: number, uid: number): AsyncIterable<Buffer>;
  /**
   * The first bytes (at most `maxBytes`) of each message with a UID in [uidFrom, uidTo], ascending, missing
   * UIDs omitted, in one read: what a FETCH of many messages' headers needs. A head may stop after the
   * header's blank line (CRLF CRLF); one shorter than maxBytes and the message without it (a body the store
   * keeps in parts) is to be read by itself.
   */
  readMessageHeads(mailboxId: number, range: { uidFrom: number; uidTo: number }, maxBytes: number): Promise<{ uids: number[]; heads: Buffer[] }>;

  /** Changes flags; returns the records that changed (with their new modseq). `unchangedSince`: RFC 7162 §3.1.3. */
  storeFlags(mailboxId: number, uids: number[], op: FlagOperation, flags: string[], options?: { unchangedSince?: number; committed?: WriteOptions['committed'] }): Promise<{ changed: MessageRecord[]; failedUnchangedSince: number[] }>;
  /** Removes the messages; returns the UIDs removed. `committed`: see WriteOptions. */
  expunge(mailboxId: number, uids: number[], options?: { committed?: WriteOptions['committed'] }): Promise<number[]>;
  /** UIDs expunged after `sinceModSeq` (RFC 7162 §3.2.5 VANISHED). */
  vanishedSince(mailboxId: number, sinceModSeq: number): Promise<number[]>;
  /** Copies (or moves) messages; returns [sourceUid, destUid] pairs (RFC 4315 COPYUID). `committed`: see WriteOptions. */
  copyMessages(fromMailboxId: number, uids: number[], toMailboxId: number, options?: { move?: boolean; committed?: WriteOptions['committed'] }): Promise<{ uidValidity: number; pairs: [number, number][] }>;

  /** Starts a message that will be committed to mailboxes and/or the queue. */
  beginDelivery(): DeliveryTransaction;
  /**
   * Commits several transactions from beginDelivery() in one database transaction: every message is
   * stored durably, or none is (IMAP MULTIAPPEND, RFC 3502). The transactions are closed either way.
   * `committed`: see WriteOptions.
   */
  commitDeliveries(batch: { tx: DeliveryTransaction; plan: DeliveryPlan }[], options?: { committed?: WriteOptions['committed'] }): Promise<CommitResult[]>;

}

export type QueueRecipientState = 'queued' | 'deferred' | 'delivered' | 'bounced' | 'held';

export interface QueueRecipientRecord {
  id: number;
  queueId: string;
  address: string;
  domain: string;
  orcpt: string | null;
  notify: string[] | null;
  state: QueueRecipientState;
  attempts: number;
  nextAttemptAt: Date;
  lastResult: string | null;
  updatedAt: Date;
  /**
   * When an administrator last asked for this recipient to be retried now (`postamt queue retry`, the web
   * admin's retry), in whichever process: a runner lifts its backoff of the recipient's destination when the
   * request is not older than the destination's failure. Null when never asked.
   */
  retryRequestedAt: Date | null;
}

export interface QueueMessageRecord {
  id: string;
  sender: string;
  envid: string | null;
  ret: 'FULL' | 'HDRS' | null;
  origin: string;
  submitter: string | null;
  size: number;
  createdAt: Date;
  /** RFC 4865 FUTURERELEASE: held until this time (a delayed send); null for mail sent at once. */
  holdUntil: Date | null;
  recipients: QueueRecipientRecord[];
}

/** One recipient's result, as QueueStore.updateRecipients records it. */
export interface QueueRecipientUpdate {
  id: number;
  state: QueueRecipientState;
  attempts?: number;
  nextAttemptAt?: Date;
  lastResult?: string | null;
  keepHeld?: boolean;
  leaseOwner?: string;
  /** An administrator's request to retry now (QueueRecipientRecord.retryRequestedAt). */
  retryRequestedAt?: Date;
}

/** What one delivery attempt on one queued message leaves behind (QueueStore.recordAttempt). */
export interface QueueAttemptRecord {
  queueId: string;
  updates: QueueRecipientUpdate[];
  /** Messages the attempt queues (its DSNs): durable together with the results that call for them. */
  enqueue?: { input: QueueEnqueueInput; body: Buffer }[];
}

/** A claim on queued recipients by one queue runner (one per node): who holds it and until when. */
export interface QueueLease {
  owner: string;
  until: Date;
}

/** A store location another thread can open read-only to read queued bodies. */
export interface QueueBodySource {
  backend: 'sqlite';
  /** The database file. */
  path: string;
}

export interface QueueStore {
  listQueue(): Promise<QueueMessageRecord[]>;
  getQueueMessage(id: string): Promise<QueueMessageRecord | null>;
  readQueueMessage(id: string): Promise<Buffer>;
  streamQueueMessage(id: string): AsyncIterable<Buffer>;
  /**
   * Where another thread can read queued bodies through a read-only connection of its own (store/queue-body-reader.ts);
   * absent or null when the backend offers none (PostgreSQL: bodies are read in the process's own pool).
   */
  queueBodySource?(): QueueBodySource | null;
  /** Recipients in state queued/deferred whose next attempt is due, oldest first; `excludeIds`: those in flight. */
  dueRecipients(now: Date, limit: number, options?: { excludeIds?: number[] }): Promise<QueueRecipientRecord[]>;
  /**
   * Due recipients leased to `lease.owner` until `lease.until`, oldest first: each one goes to one claimant
   * at a time (another node's live lease is skipped), so a recipient is attempted by one node at a time. A
   * lease ends when its owner records a result (`leaseOwner` in updateRecipients) or when it expires (its
   * node died): then any node may claim the recipient again.
   */
  claimRecipients(now: Date, limit: number, lease: QueueLease): Promise<QueueRecipientRecord[]>;
  /** Extends the leases `lease.owner` still holds on these recipients (attempts in flight); returns the ids still held. */
  renewLeases(ids: number[], lease: QueueLease): Promise<number[]>;
  /** The earliest time a recipient becomes claimable (a live lease counts as its expiry); null when none waits. */
  nextDueAt(): Promise<Date | null>;
  /**
   * Records attempt outcomes durably (one transaction). `keepHeld`: a recipient an admin held while this
   * attempt was in flight stays held (only attempts and lastResult change), so a retry result cannot undo
   * the hold; final states (delivered, bounced) are recorded whatever the row says, since they happened.
   * `leaseOwner`: the node recording the result of its attempt; its lease on the recipient ends.
   */
  updateRecipients(updates: QueueRecipientUpdate[]): Promise<void>;
  /**
   * One attempt's whole record in one transaction: the results (as updateRecipients), the DSNs it queues
   * and, when no recipient of the message is left to deliver (all delivered or bounced), the message's
   * removal. Returns the DSNs' queue ids in order and whether the message was removed.
   */
  recordAttempt(attempt: QueueAttemptRecord): Promise<{ enqueued: string[]; removed: boolean }>;
  /** Removes a queue message and its recipients; the body goes when nothing else refers to it. */
  deleteQueueMessage(id: string): Promise<boolean>;
  /** Enqueues a message outside an SMTP transaction (bounces, DSNs, forwarding). Durable on return. */
  enqueue(input: QueueEnqueueInput, body: Buffer): Promise<string>;
  /** Messages in the queue, their recipients still to be delivered or held, and the oldest entry's time. */
  queueStats(): Promise<QueueStats>;
  /**
   * Removes a message held for a delayed send while its release time is still after `now`, in one statement
   * (so no runner can have claimed it: its recipients are due only from that time); false otherwise.
   */
  cancelHeldMessage(id: string, now: Date): Promise<boolean>;
}

/** The JMAP data types whose history the store keeps (RFC 8620 §5.2 /changes). */
export type ObjectType = 'Mailbox' | 'Email' | 'Thread';

/** One object that changed after a modseq: `created` when it did not exist then, `destroyed` when it is gone now. */
export interface ObjectChange {
  id: number;
  modSeq: number;
  created: boolean;
  destroyed: boolean;
}

/** Where one copy of an email is: IMAP's view of it (mailbox, UID, flags). */
export interface EmailCopy {
  mailboxId: number;
  uid: number;
  flags: string[];
}

/**
 * An email (RFC 8621 §4): one message in one or more mailboxes of an account, with an id that stays when it
 * moves, and its thread. A copy made by IMAP COPY or Email/copy is a new email in the same thread.
 */
export interface EmailRecord {
  id: number;
  accountId: number;
  threadId: number;
  /** Ascending by mailbox id; flags may differ between copies when IMAP changed one of them. */
  copies: EmailCopy[];
  size: number;
  receivedAt: Date;
  /** The Date: header (ms since the epoch) as indexed at delivery; null when absent or unknown. */
  sentAt: number | null;
  modSeq: number;
}

/** A cheap row for listings (Email/query): sort keys and what filters on flags and mailboxes need. */
export interface EmailIndexRow {
  id: number;
  threadId: number;
  mailboxIds: number[];
  /** Flags as stored, of the first copy (space-separated). */
  flags: string;
  size: number;
  receivedAt: number;
  sentAt: number | null;
  baseSubject: string;
  fromSort: string;
  toSort: string;
}

export interface EmailUpdate {
  emailId: number;
  /** Flags of every copy (IMAP flag spelling: \Seen, $Forwarded ...). */
  flags?: { op: FlagOperation; flags: string[] };
  /** The mailboxes the email is in afterwards (at least one): copies are added and removed, the id stays. */
  mailboxIds?: number[];
}

/**
 * The object model JMAP Mail and IMAP OBJECTID (RFC 8474) read: email and thread ids assigned at delivery
 * and kept on move, and one per-account modseq (IMAP MODSEQ values are drawn from it) with tombstones, so
 * `/changes` can answer what was created, changed or destroyed since a state.
 */
export interface EmailStore {
  /** The account's modseq now: the state string of its Mailbox, Email and Thread data. */
  accountModSeq(accountId: number): Promise<number>;
  /**
   * Objects of `type` changed after `sinceModSeq`, ascending by modseq, at most `limit` + 1 (so a caller
   * sees that more exist). Mailboxes whose messages changed count as changed (their counts did).
   */
  objectChanges(accountId: number, type: ObjectType, sinceModSeq: number, limit: number): Promise<ObjectChange[]>;
  /** The lowest modseq from which changes are still known (tombstones older were pruned); 0: all history. */
  changesKnownSince(accountId: number): Promise<number>;
  /** The emails of the account with these ids (others are left out), in no particular order. */
  getEmails(accountId: number, ids: readonly number[]): Promise<EmailRecord[]>;
  /** Email ids of each thread of the account, oldest received first (RFC 8621 §3); a missing thread is left out. */
  threadEmails(accountId: number, threadIds: readonly number[]): Promise<Map<number, number[]>>;
  /** Per mailbox of the account: emails, unread (no \\Seen) emails, threads and threads with an unread email there. */
  mailboxEmailCounts(accountId: number): Promise<Map<number, { emails: number; unread: number; threads: number; unreadThreads: number }>>;
  /** Email and thread id of messages of a mailbox, by UID (IMAP FETCH EMAILID, THREADID). */
  objectIds(mailboxId: number, uids: readonly number[]): Promise<Map<number, { emailId: number; threadId: number }>>;
  /**
   * Index rows of the account's emails, or only those with a copy in `mailboxId`, newest received first;
   * with `ids`, only those of these emails (a search that already knows its candidates).
   */
  listEmailIndex(accountId: number, options?: { mailboxId?: number; ids?: readonly number[] }): Promise<EmailIndexRow[]>;
  /** Newest received first, `limit` ids from `position`, of one mailbox: the first page of a mail client. */
  mailboxEmailPage(mailboxId: number, options: { position: number; limit: number }): Promise<{ ids: number[]; total: number }>;
  /** Applies the updates in one transaction; returns the ids not found in the account. Mailboxes must be the account's. */
  updateEmails(accountId: number, updates: readonly EmailUpdate[]): Promise<{ notFound: number[] }>;
  /** Removes every copy of these emails; returns the ids removed. */
  destroyEmails(accountId: number, ids: readonly number[]): Promise<number[]>;
  /** Where the email's bytes are: one of its copies (readMessage/streamMessage read them), or null. */
  emailLocation(accountId: number, emailId: number): Promise<{ mailboxId: number; uid: number; size: number } | null>;
}

/**
 * What the search index keeps of one email (derived data, written after the email's commit by the
 * background indexer): the texts the JMAP text conditions search (RFC 8621 §4.4.1), already lower-cased
 * by the caller, so a condition is an exact substring test on them; and the list properties as JSON.
 */
export interface SearchDocument {
  emailId: number;
  accountId: number;
  from: string;
  to: string;
  cc: string;
  bcc: string;
  subject: string;
  body: string;
  /** Header fields as [lower-case name, lower-cased raw value]. */
  headers: [string, string][];
  hasAttachment: boolean;
  /** The list properties (preview, from, subject ...) as the JMAP layer made them, JSON. */
  summary: string;
}

/** One leaf of a search: a substring (already lower-cased) of one or several texts, a header, or the attachment flag. */
export type SearchTerm =
  | { kind: 'text'; fields: ('from' | 'to' | 'cc' | 'bcc' | 'subject' | 'body')[]; value: string }
  | { kind: 'header'; name: string; value: string | null }
  | { kind: 'hasAttachment'; value: boolean };

/**
 * The search index: filled after commit, off the delivery path; a reader learns which emails are indexed,
 * so it scans only the rest itself. Emails never change their bytes, so a document is written once;
 * documents of removed emails are harmless (readers intersect with live emails) and pruned.
 */
export interface SearchIndexStore {
  /** Emails (id and account) with an id above `afterEmailId` that have no document yet, lowest id first. */
  unindexedEmails(options: { afterEmailId: number; limit: number }): Promise<{ emailId: number; accountId: number }[]>;
  /** Writes the documents (a document already there is kept). */
  writeSearchDocuments(documents: readonly SearchDocument[]): Promise<void>;
  /**
   * The account's emails without a document (read first), and for each term the indexed emails that satisfy
   * it. An email of the account that existed before the call and is not among `unindexed` is indexed, so
   * its answer is in `matches` (not the set of every indexed id: that costs a read of the whole account).
   */
  searchEmails(accountId: number, terms: readonly SearchTerm[]): Promise<{ unindexed: number[]; matches: Set<number>[] }>;
  /** The stored list properties (JSON) of those of the account's emails that are indexed. */
  emailSummaries(accountId: number, emailIds: readonly number[]): Promise<Map<number, string>>;
  /** Removes the documents of emails that no longer exist; returns how many. */
  pruneSearchDocuments(): Promise<number>;
}

export interface SuppressionRecord {
  address: string; // lower-case
  reason: string; // e.g. "550 5.1.1 user unknown (bounce via VERP)"
  createdAt: Date;
}

export interface QueueStats {
  messages: number;
  /** Recipients queued, deferred or held. */
  pendingRecipients: number;
  oldestCreatedAt: Date | null;
}

/**
 * One step of a message's life in the message trace: received (or refused), stored, queued, each delivery
 * attempt, a DSN, a suppression, removal by expiry. `queueId` is the SMTP transaction id that the queue, the
 * log and the client's 250 reply share; `data` holds what the step learned (peer, TLS, reply, scores).
 */
export type TraceEventKind = 'received' | 'rejected' | 'stored' | 'queued' | 'delivered' | 'deferred' | 'bounced' | 'dsn' | 'suppressed' | 'expired' | 'deleted';

export interface TraceEventInput {
  at: Date;
  queueId: string;
  event: TraceEventKind;
  /** The Message-ID field of the message, without angle brackets, when known. */
  messageId?: string | null;
  /** Envelope sender ('' for the null reverse-path). */
  sender?: string | null;
  /** Recipients this step concerns (lower case). */
  recipients?: string[];
  /** A short outcome to search by: accepted, rejected, delivered, deferred, bounced, ... (default: the event). */
  result?: string | null;
  /** Why, for refusals and failures: the name of the rule that decided (relay_denied, spam, ...). */
  reason?: string | null;
  data?: Record<string, unknown>;
}

export interface TraceEventRecord extends Required<Omit<TraceEventInput, 'data'>> {
  id: number;
  data: Record<string, unknown>;
}

/** Every given criterion must match one event of a message; the answer is every event of the messages found. */
export interface TraceQuery {
  queueId?: string;
  messageId?: string;
  sender?: string;
  recipient?: string;
  result?: string;
  since?: Date;
  until?: Date;
  /**
   * Only messages with a sender or a recipient at one of these domains (a domain admin's view). Applied in
   * the query itself, so that `limit` counts only the messages the reader may see.
   */
  domains?: readonly string[];
  /** Only messages this address submitted (the `received` step's authenticated user: a user's own view). */
  submitter?: string;
  /** Messages (queue ids) at most, newest first; default 50. */
  limit?: number;
}

export interface TraceStore {
  /** Adds events (batched by the caller); durable with the backend's next group commit. */
  appendTrace(events: TraceEventInput[]): Promise<void>;
  /** Events of the messages that match, oldest first within a message, messages newest first. */
  searchTrace(query: TraceQuery): Promise<TraceEventRecord[]>;
  /** Counts of events since a time, by event and result (the dashboard's figures). */
  traceCounts(since: Date): Promise<{ event: TraceEventKind; result: string; reason: string | null; count: number }[]>;
  /** Deletes at most `limit` events older than `before` (small transactions); returns how many. */
  pruneTrace(before: Date, limit: number): Promise<number>;
}

/** Addresses not to send to again: filled from parsed bounces (`postamt suppress list|remove`). */
export interface SuppressionStore {
  /** Adds or refreshes (reason and date) an address. */
  addSuppression(address: string, reason: string): Promise<void>;
  isSuppressed(address: string): Promise<boolean>;
  listSuppressions(): Promise<SuppressionRecord[]>;
  removeSuppression(address: string): Promise<boolean>;
}

/** A blob uploaded over JMAP (RFC 8620 §6.1): the account's own, kept until it expires. */
export interface UploadRecord {
  accountId: number;
  /** The JMAP blob id ("U" + random), unique within the account. */
  blobId: string;
  /** The media type the client gave. */
  type: string;
  size: number;
  createdAt: Date;
  expiresAt: Date;
}

/** The bytes of a stored upload, read back chunk by chunk (never the whole upload in memory). */
export interface StoredUpload extends UploadRecord {
  /** The bytes in order; throws (possibly on the first step) when the upload went away or is damaged. */
  stream(): AsyncIterable<Buffer>;
}

export interface UploadStore {
  /**
   * Streams `body` into storage in chunks and resolves once the whole upload is durable; blob ids are the
   * caller's, unique per account. Until then the upload is invisible; when `body` throws (a size limit, a
   * client that went away) or a write fails, what was written is deleted and the error is rethrown.
   */
  addUpload(input: { accountId: number; blobId: string; type: string; body: AsyncIterable<Buffer> | Buffer; expiresAt: Date }): Promise<UploadRecord>;
  /** The account's complete upload with this blob id, unless it expired before `now`; another account's is null. */
  getUpload(accountId: number, blobId: string, now: Date): Promise<StoredUpload | null>;
  /** Deletes uploads that expired before `now` (also ones never completed); returns how many. */
  removeExpiredUploads(now: Date): Promise<number>;
}

/** RFC 8621 §8: the account's vacation response (one per account, the JMAP singleton). */
export interface VacationRecord {
  accountId: number;
  isEnabled: boolean;
  /** Replies only to mail received at or after this time; null: from now. */
  fromDate: Date | null;
  /** Replies only to mail received before this time; null: until disabled. */
  toDate: Date | null;
  subject: string | null;
  textBody: string | null;
  htmlBody: string | null;
  /** Grows with every change (the VacationResponse state string); 0 for one never set. */
  state: number;
}

export type VacationInput = Omit<VacationRecord, 'accountId' | 'state'>;

/**
 * Vacation responses and the senders already answered (RFC 3834 §2, RFC 5230 §4.2 "days"): one reply per
 * sender per period, remembered durably so a restart does not answer again.
 */
export interface VacationStore {
  /** The account's vacation response; a disabled one with state 0 when never set. */
  getVacation(accountId: number): Promise<VacationRecord>;
  /**
   * Replaces it (durable on return) and reports an account change (event 'vacation'). A new subject or
   * body, or enabling it again, forgets the senders answered so far (RFC 5230 §4.2: a new handle).
   */
  setVacation(accountId: number, input: VacationInput): Promise<VacationRecord>;
  /** Ids of the accounts whose vacation response is enabled (whatever its dates). */
  listEnabledVacations(): Promise<number[]>;
  /**
   * Records a reply to `sender` unless one was recorded at or after `notBefore`, atomically: true when the
   * caller may send it (and the record is durable), false when the sender was answered in the period.
   */
  claimVacationReply(accountId: number, sender: string, now: Date, notBefore: Date): Promise<boolean>;
}

/** A Bearer token of a login session (RFC 6750), stored as a hash of the token only. */
export interface AccessTokenRecord {
  /** SHA-256 of the token, hex: the token itself is never stored. */
  tokenHash: string;
  accountId: number;
  /** What the session is (e.g. "webmail, Firefox"), shown when sessions are listed. */
  label: string;
  /** The account's credential stamp when the token was issued: a later password change ends it. */
  credential: string;
  /** The app password the session logged in with, if any: removing it ends the session. */
  appPasswordId: number | null;
  createdAt: Date;
  expiresAt: Date;
  /**
   * What the token opens: `session` the JMAP API (webmail logins), `admin` the admin API (admin UI logins
   * and per-admin API tokens). Neither is accepted where the other is.
   */
  scope: AccessTokenScope;
}

export type AccessTokenScope = 'session' | 'admin';

export interface AccessTokenStore {
  addAccessToken(record: AccessTokenRecord): Promise<void>;
  getAccessToken(tokenHash: string): Promise<AccessTokenRecord | null>;
  listAccessTokens(accountId: number): Promise<AccessTokenRecord[]>;
  /** Ends one session of the account; false when the account has no such token. */
  removeAccessToken(accountId: number, tokenHash: string): Promise<boolean>;
  removeExpiredAccessTokens(now: Date): Promise<number>;
}

/** An account's TOTP second factor (RFC 6238): the shared secret, unconfirmed until a first code matched it. */
export interface SecondFactorRecord {
  accountId: number;
  /** Base32 (RFC 4648 §6), as authenticator apps take it. */
  secret: string;
  confirmed: boolean;
  /** The time step of the last code accepted: a code is accepted once (RFC 6238 §5.2). */
  lastStep: number;
  createdAt: Date;
}

/**
 * Settings the administration changes at run time (kept as JSON text under a key, e.g. the policy
 * overrides) and the admins' second factors.
 */
export interface AdminSettingsStore {
  getSetting(key: string): Promise<string | null>;
  /** null removes the key. */
  setSetting(key: string, value: string | null): Promise<void>;
  getSecondFactor(accountId: number): Promise<SecondFactorRecord | null>;
  /** Adds or replaces the account's second factor. */
  putSecondFactor(record: SecondFactorRecord): Promise<void>;
  /** Records a code's time step as used; false when that step (or a later one) was already used. */
  useSecondFactorStep(accountId: number, step: number): Promise<boolean>;
  removeSecondFactor(accountId: number): Promise<boolean>;
}

/** A stored body that cannot be read back whole: its blob is missing, or shorter or longer than recorded. */
export interface CorruptBody {
  kind: 'message' | 'queue';
  blobId: number;
  problem: 'missing' | 'truncated';
  /** For mailbox messages. */
  mailboxId?: number;
  mailbox?: string;
  account?: string;
  uid?: number;
  /** For queue entries. */
  queueId?: string;
}

export interface IntegrityOptions {
  /**
   * Check mailbox message bodies too (queue bodies are always checked: there are few, and a bad one
   * would otherwise be retried until it is quarantined). 'auto' checks them when the store holds at most
   * `autoLimit` messages, so a start-up of a very large store stays quick.
   */
  mailboxes: boolean | 'auto';
  autoLimit?: number;
}

export interface IntegrityReport {
  corrupt: CorruptBody[];
  checkedQueue: number;
  /** Null when mailbox bodies were not checked. */
  checkedMessages: number | null;
  ms: number;
}

/** One METADATA entry (RFC 5464 §3.2): its name as the client wrote it under /private or /shared, and its value. */
export interface MetadataEntry {
  entry: string;
  value: Buffer;
}

/**
 * IMAP METADATA (RFC 5464): entries of an account's server (mailboxId null) and of its mailboxes. A
 * mailbox's entries go with it when it is deleted and stay when it is renamed (they follow its id).
 */
export interface MetadataStore {
  /** The entries, ordered by name; a mailbox of another account has none. */
  listMetadata(accountId: number, mailboxId: number | null): Promise<MetadataEntry[]>;
  /**
   * Sets (value) or removes (null) entries in one transaction: 'toomany' and nothing changed when the
   * server or mailbox would then hold more than `maxEntries`; 'nonexistent' for a mailbox not of the account.
   */
  setMetadata(accountId: number, mailboxId: number | null, changes: readonly { entry: string; value: Buffer | null }[], options: { maxEntries: number }): Promise<'ok' | 'toomany' | 'nonexistent'>;
}

/**
 * Small records several nodes on one database share: JSON values by namespace and key, each with an
 * optional expiry (expired ones read as absent). Only backends several nodes can share have it.
 */
export interface SharedStateStore {
  getShared(namespace: string, key: string): Promise<unknown>;
  /** `announce`: written through the commit path with a `shared` change (carrying the value) that every node hears. */
  putShared(namespace: string, key: string, value: unknown, options?: { expiresAt?: Date | null; announce?: boolean }): Promise<void>;
  deleteShared(namespace: string, key: string, options?: { announce?: boolean }): Promise<void>;
  listShared(namespace: string): Promise<{ key: string; value: unknown }[]>;
}

/** An address of RFC 5322 fields as JMAP gives it (RFC 8621 §4.1.2.3 EmailAddress). */
export interface IdentityAddress {
  name: string | null;
  email: string;
}

/**
 * An identity (RFC 8621 §6): an address the account sends as, with a name, Reply-To, Bcc and signatures.
 * The primary one is the account's own address: it always exists (defaults until first changed) and is
 * never destroyed; the others were created by the user for addresses the sender rights allow.
 */
export interface IdentityRecord {
  accountId: number;
  id: number;
  primary: boolean;
  email: string;
  name: string;
  replyTo: IdentityAddress[] | null;
  bcc: IdentityAddress[] | null;
  textSignature: string;
  htmlSignature: string;
}

export type IdentityInput = Pick<IdentityRecord, 'email' | 'name' | 'replyTo' | 'bcc' | 'textSignature' | 'htmlSignature'>;

/** RFC 8621 §7 Address: an SMTP path with its parameters (RFC 5321 §4.1.2). */
export interface SubmissionAddress {
  email: string;
  parameters: Record<string, string | null> | null;
}

/** RFC 8621 §7 DeliveryStatus of one recipient. */
export interface SubmissionDeliveryStatus {
  smtpReply: string;
  delivered: 'queued' | 'yes' | 'no' | 'unknown';
  displayed: 'unknown' | 'yes';
}

export type UndoStatus = 'pending' | 'final' | 'canceled';

/** An EmailSubmission (RFC 8621 §7): one sending of an email, kept until the user destroys it. */
export interface EmailSubmissionRecord {
  accountId: number;
  id: number;
  /** The JMAP id of the identity it was sent as. */
  identityId: string;
  emailId: number;
  threadId: number;
  envelope: { mailFrom: SubmissionAddress; rcptTo: SubmissionAddress[] };
  sendAt: Date;
  undoStatus: UndoStatus;
  /** By recipient address as in the envelope. */
  deliveryStatus: Record<string, SubmissionDeliveryStatus> | null;
  /** The queue entry that carries it (null when every recipient was local and delivered at once). */
  queueId: string | null;
  createdAt: Date;
}

export type SubmissionInput = Omit<EmailSubmissionRecord, 'id' | 'createdAt'>;

/** The JMAP types whose objects this store keeps besides mail, each with its own state counter per account. */
export type AccountObjectType = 'EmailSubmission' | 'Identity';

/**
 * EmailSubmission and Identity objects (RFC 8621 §6, §7), shared by every process and node on the store:
 * each write raises the type's per-account state and reports an account change ('submission',
 * 'identity'); destroyed objects stay as tombstones so `/changes` can tell them.
 */
export interface SubmissionStore {
  /** The type's state counter for the account (0 before its first write). */
  objectState(accountId: number, type: AccountObjectType): Promise<number>;
  /** Objects of the type changed after `sinceState`, ascending, at most `limit` + 1; created-then-destroyed ones are left out. */
  accountObjectChanges(accountId: number, type: AccountObjectType, sinceState: number, limit: number): Promise<ObjectChange[]>;
  /** The account's stored identities (the primary one only once it was changed), by id. */
  listIdentities(accountId: number): Promise<IdentityRecord[]>;
  /** A new identity (not primary). */
  createIdentity(accountId: number, input: IdentityInput): Promise<IdentityRecord>;
  /** Replaces an identity's fields; `primary` writes the account's primary identity. Null when there is no such identity. */
  updateIdentity(accountId: number, id: number | 'primary', input: IdentityInput): Promise<IdentityRecord | null>;
  /** Destroys a non-primary identity; false when there is none. */
  destroyIdentity(accountId: number, id: number): Promise<boolean>;
  addSubmission(input: SubmissionInput): Promise<EmailSubmissionRecord>;
  /** The account's submissions with these ids, or all of them (not destroyed), ascending by id. */
  listSubmissions(accountId: number, ids?: readonly number[]): Promise<EmailSubmissionRecord[]>;
  /** Changes the undo status and/or delivery status; null when there is no such submission. */
  updateSubmission(accountId: number, id: number, patch: { undoStatus?: UndoStatus; deliveryStatus?: Record<string, SubmissionDeliveryStatus> | null }): Promise<EmailSubmissionRecord | null>;
  /** Returns the ids destroyed. */
  destroySubmissions(accountId: number, ids: readonly number[]): Promise<number[]>;
  /**
   * The queue's outcome for recipients of the submission carried by `queueId` (if any): their delivery
   * status, and undoStatus final (once attempted, it cannot be unsent). One write; nothing when no
   * submission has that queue id.
   */
  recordSubmissionDelivery(queueId: string, statuses: Record<string, SubmissionDeliveryStatus>): Promise<void>;
}

/** RFC 8620 §7.2: a push subscription, owned by one login credential. */
export interface PushSubscriptionRecord {
  id: string;
  accountId: number;
  /** The app password the subscription was made with (removing it removes the subscription), or null. */
  appPasswordId: number | null;
  /** The account password stamp it was made with (a new password ends it), or null. */
  credential: string | null;
  /** The hash of the Bearer token (login session) it was made with, or null: the session ending ends it. */
  accessToken: string | null;
  deviceClientId: string;
  url: string;
  /** RFC 8291 keys (base64url), both or neither. */
  keys: { p256dh: string; auth: string } | null;
  verificationCode: string;
  verified: boolean;
  expires: Date;
  /** Data types pushed; null for all. */
  types: string[] | null;
  createdAt: Date;
}

/** Push subscriptions (RFC 8620 §7.2), durable on return; they go with their account and app password. */
export interface PushSubscriptionStore {
  listPushSubscriptions(accountId: number): Promise<PushSubscriptionRecord[]>;
  /** Every subscription of every account (the push sender loads the verified ones at start). */
  listAllPushSubscriptions(): Promise<PushSubscriptionRecord[]>;
  addPushSubscription(record: PushSubscriptionRecord): Promise<void>;
  updatePushSubscription(id: string, patch: { verified?: boolean; expires?: Date; types?: string[] | null }): Promise<boolean>;
  removePushSubscription(id: string): Promise<boolean>;
  /** Removes those expired at `now`; returns their ids. */
  removeExpiredPushSubscriptions(now: Date): Promise<string[]>;
}

export interface Store extends AccountStore, MailStore, EmailStore, SearchIndexStore, QueueStore, SuppressionStore, TraceStore, UploadStore, AccessTokenStore, AdminSettingsStore, MetadataStore, VacationStore, SubmissionStore, PushSubscriptionStore, ChangeFeed {
  /** Checks that every stored body is whole (run at start; damaged items are reported, not repaired). */
  checkIntegrity(options: IntegrityOptions): Promise<IntegrityReport>;
  /** State the nodes share (PostgreSQL); absent where one process owns the store (SQLite: it stays in memory and files). */
  readonly shared?: SharedStateStore;
  /** A write that changes nothing, through the backend's commit path (readiness checks): throws when writes fail. */
  checkWritable(): Promise<void>;
  close(): Promise<void>;
}
