/**
 * EmailStore on SQLite: the JMAP object model over the message rows (docs/decisions/0008). Reads are
 * single queries or one read transaction; writes go through the change feed like every other mail write.
 */
import { parseFlagText } from '../../core/flag-text.ts';
import type { EmailIndexRow, EmailRecord, EmailStore, EmailUpdate, FlagOperation, ObjectChange, StoreChange } from '../types.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';
import type { MailboxTable } from './mailboxes.ts';

interface CopyRow {
  id: number;
  account_id: number;
  thread_id: number;
  sent_at: number | null;
  mod_seq: number;
  mailbox_id: number;
  uid: number;
  flags: string;
  size: number;
  internal_date: number;
  blob_id: number;
  blob_offset: number;
}

/** Flags compare case-insensitively (RFC 9051 §2.3.2); the first spelling seen is kept. */
function applyFlags(current: string[], op: FlagOperation, flags: string[]): string[] {
  const lower = (list: string[]): Set<string> => new Set(list.map((f) => f.toLowerCase()));
  if (op === 'remove') {
    const gone = lower(flags);
    return current.filter((f) => !gone.has(f.toLowerCase()));
  }
  const out = op === 'set' ? [] : [...current];
  const seen = lower(out);
  for (const f of flags) if (!seen.has(f.toLowerCase())) {
    seen.add(f.toLowerCase());
    out.push(f);
  }
  return out;
}

function sameFlags(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const set = new Set(a.map((f) => f.toLowerCase()));
  return b.every((f) => set.has(f.toLowerCase()));
}

export function sqliteEmailStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed; mailboxes: MailboxTable }): EmailStore {
  const { db, changes, mailboxes } = deps;
  const q = {
    accountSeq: db.prepare('SELECT value FROM account_seq WHERE account_id = ?').pluck(),
    mailboxChanges: db.prepare(`SELECT id, max(highest_mod_seq, changed_seq) AS seq, created_seq FROM mailboxes
      WHERE account_id = ? AND max(highest_mod_seq, changed_seq) > ? ORDER BY seq, id LIMIT ?`),
    emailChanges: db.prepare('SELECT id, mod_seq AS seq, created_seq FROM emails INDEXED BY emails_changes WHERE account_id = ? AND mod_seq > ? ORDER BY mod_seq, id LIMIT ?'),
    // Threads with a row, and threads of one email without one (migration 25): the email is the thread, created
    // and last changed at its created seq (its mod seq is never lower, so the email index finds it).
    threadChanges: db.prepare(`SELECT id, mod_seq AS seq, created_seq FROM threads INDEXED BY threads_changes WHERE account_id = :account AND mod_seq > :since
      UNION ALL
      SELECT e.id, e.created_seq AS seq, e.created_seq FROM emails e INDEXED BY emails_changes
        WHERE e.account_id = :account AND e.mod_seq > :since AND e.created_seq > :since AND e.thread_id = e.id AND NOT EXISTS (SELECT 1 FROM threads t WHERE t.id = e.id)
      ORDER BY seq, id LIMIT :limit`),
    tombstones: db.prepare('SELECT object_id AS id, mod_seq AS seq FROM tombstones WHERE account_id = ? AND type = ? AND mod_seq > ? ORDER BY mod_seq, object_id LIMIT ?'),
    copies: db.prepare(`SELECT e.id, e.account_id, e.thread_id, e.sent_at, e.mod_seq, m.mailbox_id, m.uid, m.flags, m.size, m.internal_date, m.blob_id, m.blob_offset
      FROM emails e JOIN messages m ON m.email_id = e.id WHERE e.id = ? AND e.account_id = ? ORDER BY m.mailbox_id`),
    threadEmails: db.prepare(`SELECT e.id, min(m.internal_date) AS d FROM emails e JOIN messages m ON m.email_id = e.id
      WHERE e.thread_id = ? AND e.account_id = ? GROUP BY e.id ORDER BY d, e.id`).raw(),
    objectId: db.prepare('SELECT m.email_id, e.thread_id FROM messages m JOIN emails e ON e.id = m.email_id WHERE m.mailbox_id = ? AND m.uid = ?').raw(),
    indexAll: db.prepare(`SELECT e.id, e.thread_id, group_concat(m.mailbox_id) AS mailboxes, min(m.flags) AS flags, max(m.size) AS size,
      min(m.internal_date) AS received, e.sent_at, e.base_subject, e.from_sort, e.to_sort
      FROM emails e JOIN messages m ON m.email_id = e.id WHERE e.account_id = ? GROUP BY e.id ORDER BY received DESC, e.id DESC`).raw(),
    indexMailbox: db.prepare(`SELECT e.id, e.thread_id, (SELECT group_concat(x.mailbox_id) FROM messages x WHERE x.email_id = e.id) AS mailboxes,
      m.flags, m.size, m.internal_date AS received, e.sent_at, e.base_subject, e.from_sort, e.to_sort
      FROM messages m JOIN emails e ON e.id = m.email_id WHERE m.mailbox_id = ? ORDER BY m.internal_date DESC, e.id DESC`).raw(),
    indexAllIds: db.prepare(`SELECT e.id, e.thread_id, group_concat(m.mailbox_id) AS mailboxes, min(m.flags) AS flags, max(m.size) AS size,
      min(m.internal_date) AS received, e.sent_at, e.base_subject, e.from_sort, e.to_sort
      FROM emails e JOIN messages m ON m.email_id = e.id WHERE e.id IN (SELECT value FROM json_each(?)) AND e.account_id = ? GROUP BY e.id ORDER BY received DESC, e.id DESC`).raw(),
    indexMailboxIds: db.prepare(`SELECT e.id, e.thread_id, (SELECT group_concat(x.mailbox_id) FROM messages x WHERE x.email_id = e.id) AS mailboxes,
      m.flags, m.size, m.internal_date AS received, e.sent_at, e.base_subject, e.from_sort, e.to_sort
      FROM emails e JOIN messages m ON m.email_id = e.id WHERE e.id IN (SELECT value FROM json_each(?)) AND m.mailbox_id = ? ORDER BY m.internal_date DESC, e.id DESC`).raw(),
    page: db.prepare('SELECT email_id FROM messages INDEXED BY messages_date WHERE mailbox_id = ? ORDER BY internal_date DESC, uid DESC LIMIT ? OFFSET ?').pluck(),
    count: db.prepare('SELECT count(*) FROM messages WHERE mailbox_id = ?').pluck(),
    counts: db.prepare(`SELECT m.mailbox_id, count(*), sum(instr(' ' || m.flags || ' ', ' \\Seen ') = 0), count(DISTINCT e.thread_id),
      count(DISTINCT CASE WHEN instr(' ' || m.flags || ' ', ' \\Seen ') = 0 THEN e.thread_id END)
      FROM mailboxes b JOIN messages m ON m.mailbox_id = b.id JOIN emails e ON e.id = m.email_id WHERE b.account_id = ? GROUP BY m.mailbox_id`).raw(),
    mailboxAccount: db.prepare('SELECT account_id FROM mailboxes WHERE id = ?').pluck(),
    setFlags: db.prepare('UPDATE messages SET flags = ?, mod_seq = ? WHERE mailbox_id = ? AND uid = ?'),
    insertMessage: db.prepare('INSERT INTO messages (mailbox_id, uid, blob_id, blob_offset, size, internal_date, flags, mod_seq, email_id, saved_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
    deleteMessage: db.prepare('DELETE FROM messages WHERE mailbox_id = ? AND uid = ?'),
    recordExpunge: db.prepare('INSERT OR REPLACE INTO expunged (mailbox_id, uid, mod_seq) VALUES (?, ?, ?)'),
  };

  function copiesOf(accountId: number, emailId: number): CopyRow[] {
    return q.copies.all(emailId, accountId) as CopyRow[];
  }

  function toChanges(rows: { id: number; seq: number; created_seq: number }[], since: number): ObjectChange[] {
    return rows.map((r) => ({ id: r.id, modSeq: r.seq, created: r.created_seq > since, destroyed: false }));
  }

  const readChanges = db.transaction((accountId: number, type: 'Mailbox' | 'Email' | 'Thread', since: number, limit: number): ObjectChange[] => {
    const rows = type === 'Thread' ? q.threadChanges.all({ account: accountId, since, limit: limit + 1 })
      : (type === 'Mailbox' ? q.mailboxChanges : q.emailChanges).all(accountId, since, limit + 1);
    const live = toChanges(rows as { id: number; seq: number; created_seq: number }[], since);
    const dead = (q.tombstones.all(accountId, type, since, limit + 1) as { id: number; seq: number }[]).map((r) => ({ id: r.id, modSeq: r.seq, created: false, destroyed: true }));
    return [...live, ...dead].sort((a, b) => a.modSeq - b.modSeq || a.id - b.id).slice(0, limit + 1);
  });

  /** Removes one copy at a new modseq of its mailbox; the triggers update or remove the email. */
  function removeCopy(row: CopyRow, log: StoreChange[]): void {
    const modSeq = mailboxes.allocateModSeq(row.mailbox_id);
    q.deleteMessage.run(row.mailbox_id, row.uid);
    q.recordExpunge.run(row.mailbox_id, row.uid, modSeq);
    log.push({ accountId: row.account_id, mailboxId: row.mailbox_id, kind: 'expunge', uids: [row.uid] });
  }

  function applyUpdate(accountId: number, update: EmailUpdate, log: StoreChange[]): boolean {
    let rows = copiesOf(accountId, update.emailId);
    if (rows.length === 0) return false;
    if (update.mailboxIds !== undefined) {
      const wanted = new Set(update.mailboxIds);
      // RFC 8621 §4.1.1: an email is in at least one mailbox; destroying it is a separate operation.
      if (wanted.size === 0) throw new Error('an email must stay in at least one mailbox');
      const present = new Set(rows.map((r) => r.mailbox_id));
      const model = rows[0]!;
      // New copies first, so the email never has none (the delete trigger would remove it).
      for (const mailboxId of wanted) {
        if (present.has(mailboxId)) continue;
        if (q.mailboxAccount.get(mailboxId) !== accountId) throw new Error(`mailbox ${mailboxId} is not the account's`);
        const { uid, modSeq } = mailboxes.allocateUid(mailboxId);
        // RFC 8514 §2: added to a mailbox now.
        q.insertMessage.run(mailboxId, uid, model.blob_id, model.blob_offset, model.size, model.internal_date, model.flags, modSeq, model.id, Date.now());
        log.push({ accountId, mailboxId, kind: 'append', uids: [uid] });
      }
      for (const row of rows) if (!wanted.has(row.mailbox_id)) removeCopy(row, log);
      rows = copiesOf(accountId, update.emailId);
    }
    if (update.flags !== undefined) {
      for (const row of rows) {
        const current = parseFlagText(row.flags);
        const next = applyFlags(current, update.flags.op, update.flags.flags);
        if (sameFlags(current, next)) continue;
        const modSeq = mailboxes.allocateModSeq(row.mailbox_id);
        q.setFlags.run(next.join(' '), modSeq, row.mailbox_id, row.uid);
        log.push({ accountId, mailboxId: row.mailbox_id, kind: 'flags', uids: [row.uid] });
      }
    }
    return true;
  }

  return {
    async accountModSeq(accountId) {
      return (q.accountSeq.get(accountId) as number | undefined) ?? 0;
    },
    async objectChanges(accountId, type, sinceModSeq, limit) {
      return readChanges(accountId, type, sinceModSeq, limit);
    },
    async changesKnownSince() {
      // Tombstones are kept for the life of the account.
      return 0;
    },
    async getEmails(accountId, ids) {
      const out: EmailRecord[] = [];
      for (const id of ids) {
        const rows = copiesOf(accountId, id);
        if (rows.length === 0) continue;
        const first = rows[0]!;
        out.push({
          id,
          accountId,
          threadId: first.thread_id,
          copies: rows.map((r) => ({ mailboxId: r.mailbox_id, uid: r.uid, flags: parseFlagText(r.flags) })),
          size: first.size,
          receivedAt: new Date(Math.min(...rows.map((r) => r.internal_date))),
          sentAt: first.sent_at,
          modSeq: first.mod_seq,
        });
      }
      return out;
    },
    async threadEmails(accountId, threadIds) {
      const out = new Map<number, number[]>();
      for (const threadId of threadIds) {
        const rows = q.threadEmails.all(threadId, accountId) as [number, number][];
        if (rows.length > 0) out.set(threadId, rows.map((r) => r[0]));
      }
      return out;
    },
    async mailboxEmailCounts(accountId) {
      const out = new Map<number, { emails: number; unread: number; threads: number; unreadThreads: number }>();
      for (const r of q.counts.all(accountId) as number[][]) out.set(r[0]!, { emails: r[1]!, unread: r[2]!, threads: r[3]!, unreadThreads: r[4]! });
      return out;
    },
    async objectIds(mailboxId, uids) {
      const out = new Map<number, { emailId: number; threadId: number }>();
      for (const uid of uids) {
        const row = q.objectId.get(mailboxId, uid) as [number, number] | undefined;
        if (row) out.set(uid, { emailId: row[0], threadId: row[1] });
      }
      return out;
    },
    async listEmailIndex(accountId, options = {}) {
      const ids = options.ids === undefined ? null : JSON.stringify(options.ids);
      const rows = (options.mailboxId !== undefined
        ? (ids === null ? q.indexMailbox.all(options.mailboxId) : q.indexMailboxIds.all(ids, options.mailboxId))
        : (ids === null ? q.indexAll.all(accountId) : q.indexAllIds.all(ids, accountId))) as [number, number, string, string, number, number, number | null, string, string, string][];
      return rows.map((r): EmailIndexRow => ({
        id: r[0], threadId: r[1], mailboxIds: String(r[2]).split(',').map(Number), flags: r[3], size: r[4], receivedAt: r[5], sentAt: r[6], baseSubject: r[7], fromSort: r[8], toSort: r[9],
      }));
    },
    async mailboxEmailPage(mailboxId, options) {
      const ids = q.page.all(mailboxId, options.limit, options.position) as number[];
      return { ids, total: q.count.get(mailboxId) as number };
    },
    async updateEmails(accountId, updates) {
      return changes.write((log) => {
        const notFound: number[] = [];
        for (const update of updates) if (!applyUpdate(accountId, update, log)) notFound.push(update.emailId);
        return { notFound };
      });
    },
    async destroyEmails(accountId, ids) {
      return changes.write((log) => {
        const removed: number[] = [];
        for (const id of ids) {
          const rows = copiesOf(accountId, id);
          if (rows.length === 0) continue;
          for (const row of rows) removeCopy(row, log);
          removed.push(id);
        }
        return removed;
      });
    },
    async emailLocation(accountId, emailId) {
      const row = copiesOf(accountId, emailId)[0];
      return row ? { mailboxId: row.mailbox_id, uid: row.uid, size: row.size } : null;
    },
  };
}
