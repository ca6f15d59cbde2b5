/**
 * MailStore on SQLite: mailboxes, messages (UID, flags, modseq, internal date), expunge history for
 * QRESYNC, copy/move and the durable delivery commit; every change goes on the change feed.
 */
import { isKeyword, parseFlagText } from '../../core/flag-text.ts';
import type { CommitResult, DeliveryPlan, DeliveryTransaction, FlagOperation, MailboxDelta, MailboxSelectState, MailStore, MessageMetaColumns, MessageMetaField, MessageRecord, StoreChange, WriteOptions } from '../types.ts';
import type { BlobTable } from './blobs.ts';
import { storedMessageIndexFields } from '../../message/thread-keys.ts';
import { EmailTable, type NewEmail } from './emails.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';
import { SqliteDeliveryTransaction, type SpooledBody } from './delivery.ts';
import type { MailboxTable } from './mailboxes.ts';
import type { QueueTable } from './queue.ts';
import type { TraceTable } from './trace.ts';

interface MessageRow {
  mailbox_id: number;
  uid: number;
  blob_id: number;
  blob_offset: number;
  size: number;
  internal_date: number;
  flags: string;
  mod_seq: number;
  email_id: number;
}

function toMessage(row: MessageRow): MessageRecord {
  return { mailboxId: row.mailbox_id, uid: row.uid, size: row.size, internalDate: new Date(row.internal_date), flags: parseFlagText(row.flags), modSeq: row.mod_seq };
}

/** Flags compare case-insensitively (RFC 9051 §2.3.2); the first spelling seen is kept. */
function applyFlags(current: string[], op: FlagOperation, flags: string[]): string[] {
  const has = (list: string[], f: string): boolean => list.some((x) => x.toLowerCase() === f.toLowerCase());
  if (op === 'set') {
    const out: string[] = [];
    for (const f of flags) if (!has(out, f)) out.push(f);
    return out;
  }
  if (op === 'add') {
    const out = [...current];
    for (const f of flags) if (!has(out, f)) out.push(f);
    return out;
  }
  return current.filter((f) => !has(flags, f));
}

function sameFlags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => set.has(f.toLowerCase()));
}

export function sqliteMailStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed; blobs: BlobTable; mailboxes: MailboxTable; emails: EmailTable; queue: QueueTable; trace: TraceTable; tmpDir: string }): MailStore {
  const { db, changes, blobs, mailboxes, emails, queue, trace, tmpDir } = deps;
  const q = {
    insertMessage: db.prepare('INSERT INTO messages (mailbox_id, uid, blob_id, blob_offset, size, internal_date, flags, mod_seq, email_id, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    getMessage: db.prepare('SELECT * FROM messages WHERE mailbox_id = ? AND uid = ?'),
    listMessages: db.prepare('SELECT * FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid'),
    listMeta: db.prepare('SELECT uid, size, internal_date, flags, mod_seq FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').raw(),
    distinctFlags: db.prepare("SELECT DISTINCT flags FROM messages WHERE mailbox_id = ? AND flags <> ''").pluck(),
    // One scan for SELECT: each UID doubled, plus one when the message is unseen (a double holds 2^33 exactly).
    uidsWithUnseen: db.prepare(`SELECT uid * 2 + (instr(' ' || flags || ' ', ' \\Seen ') = 0) FROM messages WHERE mailbox_id = ? ORDER BY uid`).pluck(),
    changedSince: db.prepare('SELECT uid, flags FROM messages INDEXED BY messages_modseq WHERE mailbox_id = ? AND mod_seq > ? ORDER BY mod_seq LIMIT ?').raw(),
    vanishedLimited: db.prepare('SELECT uid FROM expunged INDEXED BY expunged_modseq WHERE mailbox_id = ? AND mod_seq > ? ORDER BY mod_seq LIMIT ?').pluck(),
    rangeUids: db.prepare('SELECT uid FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').pluck(),
    // The header up to its blank line when SQLite finds it within maxBytes (only those bytes are copied out),
    // else the first maxBytes. A body kept in chunks has no inline data, and a missing or truncated one is
    // not read here: the empty blob, read apart by the caller (where a broken one is refused, as for any read).
    rangeHeads: db.prepare(
      `SELECT m.uid, CASE WHEN b.data IS NULL OR length(b.data) <> b.size THEN x''
        WHEN m.blob_offset = 0 AND instr(b.data, x'0d0a0d0a') BETWEEN 1 AND :max - 3 THEN substr(b.data, 1, instr(b.data, x'0d0a0d0a') + 3)
        ELSE substr(b.data, m.blob_offset + 1, min(:max, m.size)) END
       FROM messages m LEFT JOIN blobs b ON b.id = m.blob_id WHERE m.mailbox_id = :mailbox AND m.uid BETWEEN :from AND :to ORDER BY m.uid`,
    ).raw(),
    rangeColumn: {
      flags: db.prepare('SELECT flags FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').pluck(),
      size: db.prepare('SELECT size FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').pluck(),
      internalDate: db.prepare('SELECT internal_date FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').pluck(),
      modSeq: db.prepare('SELECT mod_seq FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').pluck(),
      emailId: db.prepare('SELECT email_id FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').pluck(),
      threadId: db.prepare('SELECT e.thread_id FROM messages m JOIN emails e ON e.id = m.email_id WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid').pluck(),
      saveDate: db.prepare('SELECT coalesce(saved_at, internal_date) FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').pluck(),
    } satisfies Record<MessageMetaField, unknown>,
    rangeUidColumn: {
      flags: db.prepare('SELECT uid, flags FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').raw(),
      size: db.prepare('SELECT uid, size FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').raw(),
      internalDate: db.prepare('SELECT uid, internal_date FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').raw(),
      modSeq: db.prepare('SELECT uid, mod_seq FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').raw(),
      emailId: db.prepare('SELECT uid, email_id FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').raw(),
      threadId: db.prepare('SELECT m.uid, e.thread_id FROM messages m JOIN emails e ON e.id = m.email_id WHERE m.mailbox_id = ? AND m.uid BETWEEN ? AND ? ORDER BY m.uid').raw(),
      saveDate: db.prepare('SELECT uid, coalesce(saved_at, internal_date) FROM messages WHERE mailbox_id = ? AND uid BETWEEN ? AND ? ORDER BY uid').raw(),
    } satisfies Record<MessageMetaField, unknown>,
    // Through the modseq index: the planner picks the UID order of the primary key and scans the whole
    // mailbox, which every selected session does after each flag change (7 ms at 100,000 messages vs 0.02).
    listChanged: db.prepare('SELECT * FROM messages INDEXED BY messages_modseq WHERE mailbox_id = ? AND mod_seq > ? AND uid BETWEEN ? AND ? ORDER BY uid'),
    setFlags: db.prepare('UPDATE messages SET flags = ?, mod_seq = ? WHERE mailbox_id = ? AND uid = ?'),
    deleteMessage: db.prepare('DELETE FROM messages WHERE mailbox_id = ? AND uid = ?'),
    recordExpunge: db.prepare('INSERT OR REPLACE INTO expunged (mailbox_id, uid, mod_seq) VALUES (?, ?, ?)'),
    vanished: db.prepare('SELECT uid FROM expunged INDEXED BY expunged_modseq WHERE mailbox_id = ? AND mod_seq > ? ORDER BY uid'),
    counts: db.prepare(`SELECT count(*) AS messages,
        coalesce(sum(CASE WHEN instr(' ' || lower(flags) || ' ', ' \\seen ') = 0 THEN 1 ELSE 0 END), 0) AS unseen,
        coalesce(sum(CASE WHEN instr(' ' || lower(flags) || ' ', ' \\deleted ') > 0 THEN 1 ELSE 0 END), 0) AS deleted,
        coalesce(sum(size), 0) AS sizeBytes FROM messages WHERE mailbox_id = ?`),
    usage: db.prepare('SELECT coalesce(sum(msg.size), 0) AS bytes, count(*) AS messages FROM messages msg JOIN mailboxes mb ON mb.id = msg.mailbox_id WHERE mb.account_id = ?'),
    deleteMailbox: db.prepare('DELETE FROM mailboxes WHERE id = ?'),
    renameMailbox: db.prepare("UPDATE mailboxes SET name = ? || substr(name, ?), changed_seq = ? WHERE account_id = ? AND (name = ? OR substr(name, 1, ?) = ? || '/')"),
    mailboxIdByName: db.prepare('SELECT id FROM mailboxes WHERE account_id = ? AND name = ?').pluck(),
    subscribe: db.prepare('INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)'),
    unsubscribe: db.prepare('DELETE FROM subscriptions WHERE account_id = ? AND name = ?'),
    subscriptions: db.prepare('SELECT name FROM subscriptions WHERE account_id = ? ORDER BY name'),
    setSortOrder: db.prepare('UPDATE mailboxes SET sort_order = ? WHERE id = ? AND account_id = ?'),
  };

  const accountOf = (mailboxId: number): number => mailboxes.accountOf(mailboxId);

  function messageRow(mailboxId: number, uid: number): MessageRow {
    const row = q.getMessage.get(mailboxId, uid) as MessageRow | undefined;
    if (!row) throw new Error(`message ${uid} does not exist in mailbox ${mailboxId}`);
    return row;
  }

  // One single-column query per field (plucked values, no row objects: the cheap form for 100,000 rows);
  // the UID column only when the range has holes. Several queries share one read transaction.
  const readMetaColumns = db.transaction((mailboxId: number, from: number, to: number, fields: readonly MessageMetaField[]): MessageMetaColumns => {
    const out: MessageMetaColumns = { count: 0, uids: null };
    const span = to - from + 1;
    for (const field of fields) {
      const values = q.rangeColumn[field].all(mailboxId, from, to) as never[];
      out[field] = values;
      out.count = values.length;
    }
    if (fields.length === 0 || out.count !== span) {
      out.uids = new Uint32Array(q.rangeUids.all(mailboxId, from, to) as number[]);
      out.count = out.uids.length;
    }
    return out;
  });

  function metaColumns(mailboxId: number, from: number, to: number, fields: readonly MessageMetaField[]): MessageMetaColumns {
    if (from > to) return { count: 0, uids: new Uint32Array(0), ...Object.fromEntries(fields.map((f) => [f, []])) };
    // A single query needs no transaction of its own.
    if (fields.length === 1) {
      const field = fields[0]!;
      const values = q.rangeColumn[field].all(mailboxId, from, to) as never[];
      if (values.length === to - from + 1) return { count: values.length, uids: null, [field]: values };
      // Holes: the UIDs and the column again, in one query (consistent by itself).
      const rows = q.rangeUidColumn[field].all(mailboxId, from, to) as [number, never][];
      const uids = new Uint32Array(rows.length);
      const column: unknown[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) {
        uids[i] = rows[i]![0];
        column[i] = rows[i]![1];
      }
      return { count: rows.length, uids, [field]: column as never[] };
    }
    return readMetaColumns(mailboxId, from, to, fields);
  }

  function keywordsOf(flagTexts: string[]): string[] {
    const keywords = new Set<string>();
    for (const text of flagTexts) for (const f of parseFlagText(text)) if (isKeyword(f)) keywords.add(f);
    return [...keywords].sort();
  }

  const readSelectState = db.transaction((mailboxId: number): MailboxSelectState | null => {
    const mailbox = mailboxes.byId(mailboxId);
    if (mailbox === null) return null;
    const coded = q.uidsWithUnseen.all(mailboxId) as number[];
    const uids = new Uint32Array(coded.length);
    let unseen = 0;
    for (let i = 0; i < coded.length; i++) {
      const c = coded[i]!;
      uids[i] = Math.floor(c / 2);
      if (c % 2 === 1) unseen++;
    }
    const unseenUids = new Uint32Array(unseen);
    for (let i = 0, j = 0; i < coded.length; i++) if (coded[i]! % 2 === 1) unseenUids[j++] = uids[i]!;
    return { mailbox, uids, unseenUids, keywords: keywordsOf(q.distinctFlags.all(mailboxId) as string[]) };
  });

  const readDelta = db.transaction((mailboxId: number, since: number, maxChanges: number): MailboxDelta | null => {
    const mailbox = mailboxes.byId(mailboxId);
    if (mailbox === null) return null;
    const changed = q.changedSince.all(mailboxId, since, maxChanges + 1) as [number, string][];
    if (changed.length > maxChanges) return null;
    const vanished = q.vanishedLimited.all(mailboxId, since, maxChanges + 1) as number[];
    if (vanished.length > maxChanges) return null;
    changed.sort((a, b) => a[0] - b[0]);
    vanished.sort((a, b) => a - b);
    return { mailbox, changed, vanished };
  });

  /**
   * The writes of one delivery; runs inside a group-commit operation. Its only effects are SQL and the
   * changes it logs (the mailbox-owner cache holds facts that never change), so it may run again after a
   * rollback: deliveries share a batch without a savepoint each.
   */
  function insertDelivery(plan: DeliveryPlan, body: SpooledBody, log: StoreChange[]): CommitResult {
    const localHeader = plan.localHeader ?? Buffer.alloc(0);
    const traceHeader = plan.traceHeader ?? Buffer.alloc(0);
    const total = localHeader.length + traceHeader.length + body.size;
    const out: CommitResult = { messages: [], queueId: null, size: total };
    const hasQueue = !!plan.queue && plan.queue.recipients.length > 0;
    if (plan.mailboxes.length === 0 && !hasQueue) return out;
    // The body is written last, with the count of the rows that reference it (blobs.ts `insert`).
    const blobId = blobs.nextId();
    // The message header may be in the trace prefix (SMTP keeps it apart from the body it spools).
    const fields = plan.mailboxes.length > 0 ? storedMessageIndexFields(traceHeader, (n) => body.head(n)) : null;
    let shared: NewEmail | null = null;
    // RFC 8514 §2: the save date is when the message was stored here, whatever internal date it was given.
    const savedAt = Date.now();
    for (const target of plan.mailboxes) {
      const { uid, modSeq } = mailboxes.allocateUid(target.mailboxId);
      const internalDate = (target.internalDate ?? new Date()).getTime();
      // Each copy is an email of its own (its account's), unless the plan stores one email in several mailboxes.
      const email: NewEmail = shared ?? emails.create(accountOf(target.mailboxId), fields!, modSeq);
      if (plan.oneEmail) shared = email;
      q.insertMessage.run(target.mailboxId, uid, blobId, 0, total, internalDate, (target.flags ?? []).join(' '), modSeq, email.emailId, savedAt);
      out.messages.push({ mailboxId: target.mailboxId, uid, emailId: email.emailId, threadId: email.threadId });
      log.push({ accountId: accountOf(target.mailboxId), mailboxId: target.mailboxId, kind: 'append', uids: [uid] });
    }
    if (hasQueue) {
      out.queueId = queue.insert(blobId, localHeader.length, total - localHeader.length, plan.queue!);
      log.push({ kind: 'queue' });
    }
    blobs.insert([localHeader, traceHeader], body, { id: blobId, refs: plan.mailboxes.length + (hasQueue ? 1 : 0) });
    // The trace of the acceptance is stored with the message: no write of its own.
    if (plan.trace) trace.add(plan.trace);
    return out;
  }

  async function commitDelivery(plan: DeliveryPlan, body: SpooledBody, options: { committed?: WriteOptions['committed'] } = {}): Promise<CommitResult> {
    return changes.write((log): CommitResult => insertDelivery(plan, body, log), withCommitted({ rerunnable: true }, options));
  }

  /**
   * One group-commit operation for every delivery: all are stored, or none. Re-runnable like a single
   * delivery: it takes a savepoint only in a batch that needs them.
   */
  async function commitDeliveries(batch: { tx: DeliveryTransaction; plan: DeliveryPlan }[], options: { committed?: WriteOptions['committed'] } = {}): Promise<CommitResult[]> {
    const taken: { plan: DeliveryPlan; body: SpooledBody; done: () => void }[] = [];
    try {
      for (const { tx, plan } of batch) {
        if (!(tx instanceof SqliteDeliveryTransaction)) throw new Error('commitDeliveries takes transactions of this store');
        taken.push({ plan, ...tx.takeBody() });
      }
      return await changes.write((log): CommitResult[] => taken.map((t) => insertDelivery(t.plan, t.body, log)), withCommitted({ rerunnable: true }, options));
    } finally {
      for (const t of taken) t.done();
      for (const { tx } of batch) tx.abort();
    }
  }

  return {
    async listMailboxes(accountId) {
      return mailboxes.list(accountId);
    },
    async getMailbox(accountId, name) {
      return mailboxes.byName(accountId, name);
    },
    async getMailboxById(id) {
      return mailboxes.byId(id);
    },
    async createMailbox(accountId, name, specialUse) {
      const id = await changes.write((log) => {
        const created = mailboxes.create(accountId, name, specialUse ?? null, { subscribe: false });
        log.push({ accountId, mailboxId: created, kind: 'mailbox' });
        return created;
      });
      return mailboxes.byId(id)!;
    },
    async deleteMailbox(id) {
      const accountId = accountOf(id);
      await changes.write((log) => {
        // The removal of the mailbox and of its emails is recorded at a new account modseq (the triggers read it).
        if (accountId !== 0) mailboxes.nextAccountSeq(accountId);
        if (q.deleteMailbox.run(id).changes > 0) log.push({ accountId, mailboxId: id, kind: 'mailbox' });
      });
    },
    async renameMailbox(accountId, oldName, newName) {
      await changes.write((log) => {
        const seq = mailboxes.nextAccountSeq(accountId);
        const result = q.renameMailbox.run(newName, oldName.length + 1, seq, accountId, oldName, oldName.length + 1, oldName);
        if (result.changes === 0) throw new Error(`mailbox ${oldName} does not exist`);
        log.push({ accountId, mailboxId: 0, kind: 'mailbox' });
      });
    },
    async setSubscribed(accountId, name, subscribed) {
      await changes.write((log) => {
        const result = (subscribed ? q.subscribe : q.unsubscribe).run(accountId, name);
        // JMAP isSubscribed is this subscription: the mailbox's state changes with it.
        const mailboxId = q.mailboxIdByName.get(accountId, name) as number | undefined;
        if (result.changes > 0 && mailboxId !== undefined) mailboxes.touch(mailboxId, mailboxes.nextAccountSeq(accountId));
        // Other sessions learn of it (IMAP NOTIFY SubscriptionChange, RFC 5465 §5.5).
        if (result.changes > 0) log.push({ accountId, mailboxId: 0, kind: 'mailbox' });
      });
    },
    async setMailboxSortOrder(accountId, mailboxId, sortOrder) {
      return changes.write((log) => {
        const result = q.setSortOrder.run(sortOrder, mailboxId, accountId);
        if (result.changes === 0) return false;
        // The JMAP Mailbox state changes with it; other sessions learn of it.
        mailboxes.touch(mailboxId, mailboxes.nextAccountSeq(accountId));
        log.push({ accountId, mailboxId: 0, kind: 'mailbox' });
        return true;
      });
    },
    async listSubscriptions(accountId) {
      return (q.subscriptions.all(accountId) as { name: string }[]).map((r) => r.name);
    },
    async counts(mailboxId) {
      return q.counts.get(mailboxId) as { messages: number; unseen: number; deleted: number; sizeBytes: number };
    },
    async accountUsage(accountId) {
      return q.usage.get(accountId) as { bytes: number; messages: number };
    },
    async listMessages(mailboxId, options = {}) {
      const from = options.uidFrom ?? 1;
      const to = options.uidTo ?? 0xffffffff;
      const rows = (options.changedSinceModSeq !== undefined ? q.listChanged.all(mailboxId, options.changedSinceModSeq, from, to) : q.listMessages.all(mailboxId, from, to)) as MessageRow[];
      return rows.map(toMessage);
    },
    async listMessageMeta(mailboxId, options) {
      const rows = q.listMeta.all(mailboxId, options.uidFrom, options.uidTo) as [number, number, number, string, number][];
      return rows.map((r) => ({ uid: r[0], size: r[1], internalDate: r[2], flags: r[3], modSeq: r[4] }));
    },
    async selectState(mailboxId) {
      return readSelectState(mailboxId);
    },
    async mailboxDelta(mailboxId, sinceModSeq, options) {
      return readDelta(mailboxId, sinceModSeq, options.maxChanges);
    },
    async listMetaColumns(mailboxId, options) {
      return metaColumns(mailboxId, options.uidFrom, options.uidTo, options.fields);
    },
    async readMessageHeads(mailboxId, range, maxBytes) {
      const rows = q.rangeHeads.all({ max: maxBytes, mailbox: mailboxId, from: range.uidFrom, to: range.uidTo }) as [number, Buffer][];
      const uids: number[] = new Array(rows.length);
      const heads: Buffer[] = new Array(rows.length);
      for (let i = 0; i < rows.length; i++) [uids[i], heads[i]] = rows[i]!;
      return { uids, heads };
    },
    async getMessage(mailboxId, uid) {
      const row = q.getMessage.get(mailboxId, uid) as MessageRow | undefined;
      return row ? toMessage(row) : null;
    },
    async readMessage(mailboxId, uid, range) {
      const row = messageRow(mailboxId, uid);
      const start = Math.max(0, Math.min(range?.start ?? 0, row.size));
      const end = Math.max(start, Math.min(range?.end ?? row.size, row.size));
      return blobs.read(row.blob_id, row.blob_offset + start, row.blob_offset + end);
    },
    streamMessage(mailboxId, uid) {
      const row = messageRow(mailboxId, uid);
      return blobs.stream(row.blob_id, row.blob_offset, row.blob_offset + row.size);
    },
    async storeFlags(mailboxId, uids, op, flags, options = {}) {
      return changes.write((log) => {
        const changed: MessageRecord[] = [];
        const failedUnchangedSince: number[] = [];
        let modSeq = 0;
        for (const uid of uids) {
          const row = q.getMessage.get(mailboxId, uid) as MessageRow | undefined;
          if (!row) continue;
          // RFC 7162 §3.1.3: UNCHANGEDSINCE fails for messages modified after the given modseq.
          if (options.unchangedSince !== undefined && row.mod_seq > options.unchangedSince) {
            failedUnchangedSince.push(uid);
            continue;
          }
          const current = parseFlagText(row.flags);
          const next = applyFlags(current, op, flags);
          if (sameFlags(current, next)) continue;
          if (modSeq === 0) modSeq = mailboxes.allocateModSeq(mailboxId);
          q.setFlags.run(next.join(' '), modSeq, mailboxId, uid);
          changed.push({ ...toMessage(row), flags: next, modSeq });
        }
        if (changed.length > 0) log.push({ accountId: accountOf(mailboxId), mailboxId, kind: 'flags', uids: changed.map((m) => m.uid) });
        return { changed, failedUnchangedSince };
      }, { rerunnable: true, ...(options.committed !== undefined ? { committed: options.committed } : {}) });
    },
    async expunge(mailboxId, uids, options = {}) {
      return changes.write((log) => {
        const out: number[] = [];
        let modSeq = 0;
        for (const uid of uids) {
          if (q.getMessage.get(mailboxId, uid) === undefined) continue;
          // The modseq first: the delete trigger stamps the email's change with the account's current one.
          if (modSeq === 0) modSeq = mailboxes.allocateModSeq(mailboxId);
          q.deleteMessage.run(mailboxId, uid);
          q.recordExpunge.run(mailboxId, uid, modSeq);
          out.push(uid);
        }
        if (out.length > 0) log.push({ accountId: accountOf(mailboxId), mailboxId, kind: 'expunge', uids: out });
        return out;
      }, { rerunnable: true, ...(options.committed !== undefined ? { committed: options.committed } : {}) });
    },
    async vanishedSince(mailboxId, sinceModSeq) {
      return (q.vanished.all(mailboxId, sinceModSeq) as { uid: number }[]).map((r) => r.uid);
    },
    async copyMessages(fromMailboxId, uids, toMailboxId, options = {}) {
      return changes.write((log) => {
        const target = mailboxes.byId(toMailboxId);
        if (!target) throw new Error(`mailbox ${toMailboxId} does not exist`);
        const pairs: [number, number][] = [];
        // RFC 8514 §2: a copy or a moved message is saved in its new mailbox now.
        const savedAt = Date.now();
        let sourceModSeq = 0;
        for (const uid of uids) {
          const row = q.getMessage.get(fromMailboxId, uid) as MessageRow | undefined;
          if (!row) continue;
          const { uid: newUid, modSeq } = mailboxes.allocateUid(toMailboxId);
          // A move keeps the email id (RFC 8474 §5.1: EMAILID survives MOVE); a copy is a new email in the same thread.
          const emailId = options.move ? row.email_id : (emails.copy(row.email_id, modSeq)?.emailId ?? row.email_id);
          q.insertMessage.run(toMailboxId, newUid, row.blob_id, row.blob_offset, row.size, row.internal_date, row.flags, modSeq, emailId, savedAt);
          pairs.push([uid, newUid]);
          if (options.move) {
            if (sourceModSeq === 0) sourceModSeq = mailboxes.allocateModSeq(fromMailboxId);
            q.deleteMessage.run(fromMailboxId, uid);
            q.recordExpunge.run(fromMailboxId, uid, sourceModSeq);
          }
        }
        if (pairs.length > 0) {
          log.push({ accountId: accountOf(toMailboxId), mailboxId: toMailboxId, kind: 'append', uids: pairs.map((p) => p[1]) });
          if (options.move) log.push({ accountId: accountOf(fromMailboxId), mailboxId: fromMailboxId, kind: 'expunge', uids: pairs.map((p) => p[0]) });
        }
        return { uidValidity: target.uidValidity, pairs };
      }, withCommitted({ rerunnable: true }, options));
    },
    commitDeliveries,
    beginDelivery() {
      return new SqliteDeliveryTransaction({ tmpDir, commitDelivery });
    },
  };
}

/** Write options with the caller's `committed` (see WriteOptions), when it asked to hear of the COMMIT. */
function withCommitted(options: WriteOptions, from: { committed?: WriteOptions['committed'] }): WriteOptions {
  return from.committed === undefined ? options : { ...options, committed: from.committed };
}
