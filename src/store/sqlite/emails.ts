/**
 * Emails and threads on SQLite (docs/decisions/0008): a new email id for every message stored, its thread
 * found at that moment from Message-ID, In-Reply-To and References (a reply's subject when those are
 * missing). Synchronous helpers that run inside a write transaction; triggers keep the rest.
 */
import type { MessageIndexFields } from '../../message/thread-keys.ts';
import type { Statement } from 'better-sqlite3';
import type { SqliteDatabase } from './database.ts';

/** Keys a new email leaves: its own id, its parent's and its root's. */
const MAX_KEYS = 3;

/**
 * How many of an account's most recently changed emails a reply without references is compared with by
 * subject. Such replies are rare, so they pay a bounded scan rather than every delivery paying a subject key.
 */
const SUBJECT_THREAD_SCAN = 2000;

/** How far back (ms) a reply found only by its subject may join a thread. */
const SUBJECT_THREAD_WINDOW_MS = 30 * 24 * 3600_000;

export interface NewEmail {
  emailId: number;
  threadId: number;
}

export class EmailTable {
  private readonly q;

  /** Upserts of 1..MAX_KEYS thread keys in one statement; an unchanged key is left alone (REPLACE would rewrite it). */
  private readonly putKeys: Statement[];

  constructor(db: SqliteDatabase) {
    this.putKeys = Array.from({ length: MAX_KEYS }, (_, i) => db.prepare(`INSERT INTO thread_keys (account_id, key, thread_id) VALUES ${Array(i + 1).fill('(?, ?, ?)').join(', ')}
      ON CONFLICT (account_id, key) DO UPDATE SET thread_id = excluded.thread_id WHERE thread_id <> excluded.thread_id`));
    this.q = {
      // The high-water mark of email ids is account_seq's row 0 (migration 24): ids are never given twice.
      // Advanced and read back in two statements, cheaper than RETURNING (see mailboxes.ts).
      advanceId: db.prepare('UPDATE account_seq SET value = value + 1 WHERE account_id = 0'),
      lastId: db.prepare('SELECT value FROM account_seq WHERE account_id = 0').pluck(),
      insert: db.prepare(`INSERT INTO emails (id, account_id, thread_id, created_seq, mod_seq, message_id, base_subject, sent_at, from_sort, to_sort)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`),
      copy: db.prepare(`INSERT INTO emails (id, account_id, thread_id, created_seq, mod_seq, message_id, base_subject, sent_at, from_sort, to_sort)
        SELECT ?, account_id, thread_id, ?, ?, message_id, base_subject, sent_at, from_sort, to_sort FROM emails WHERE id = ?`),
      newKey: db.prepare('INSERT INTO thread_keys (account_id, key, thread_id) VALUES (?, ?, ?) ON CONFLICT (account_id, key) DO NOTHING'),
      // A key of a thread whose emails are all gone is stale (a thread of one email has no row: migration 25).
      threadOfKey: db.prepare(`SELECT k.thread_id FROM thread_keys k WHERE k.account_id = ? AND k.key = ?
        AND EXISTS (SELECT 1 FROM emails e WHERE e.thread_id = k.thread_id)`).pluck(),
      threadOf: db.prepare('SELECT thread_id FROM emails WHERE id = ?').pluck(),
      threadOfSubject: db.prepare(`SELECT thread_id FROM (SELECT thread_id, base_subject FROM emails INDEXED BY emails_changes
        WHERE account_id = ? ORDER BY mod_seq DESC LIMIT ${SUBJECT_THREAD_SCAN}) WHERE base_subject = ? LIMIT 1`).pluck(),
      subjectDate: db.prepare('SELECT max(m.internal_date) FROM emails e JOIN messages m ON m.email_id = e.id WHERE e.thread_id = ?').pluck(),
    };
  }

  private nextId(): number {
    this.q.advanceId.run();
    return this.q.lastId.get() as number;
  }

  private findThread(accountId: number, fields: MessageIndexFields, now: number): number | null {
    const keys = fields.messageId !== null ? [fields.messageId, ...fields.references] : fields.references;
    for (const key of keys) {
      const thread = this.q.threadOfKey.get(accountId, `id:${key}`) as number | undefined;
      if (thread !== undefined) return thread;
    }
    // Without any reference, a reply ("Re: x") joins the thread of its base subject if that was active lately.
    if (fields.references.length === 0 && fields.isReplySubject && fields.baseSubject !== '') {
      const thread = this.q.threadOfSubject.get(accountId, fields.baseSubject) as number | undefined;
      if (thread !== undefined) {
        const last = this.q.subjectDate.get(thread) as number | null;
        if (last !== null && now - last <= SUBJECT_THREAD_WINDOW_MS) return thread;
      }
    }
    return null;
  }

  /** A new email of the account, created at `seq`, in the thread its header points to (or a new one). */
  create(accountId: number, fields: MessageIndexFields, seq: number): NewEmail {
    const emailId = this.nextId();
    // Most messages name no parent and carry a Message-ID never seen: the key of their own id, inserted only
    // if new, says so in one statement, and the email starts its own thread. Otherwise (a known id, a
    // reply) the thread is looked up as below and the keys are written after.
    if (fields.messageId !== null && fields.references.length === 0 && !(fields.isReplySubject && fields.baseSubject !== '')
      && this.q.newKey.run(accountId, `id:${fields.messageId}`, emailId).changes === 1) {
      this.q.insert.run(emailId, accountId, emailId, seq, seq, fields.messageId, fields.baseSubject, fields.sentAt, fields.fromSort, fields.toSort);
      return { emailId, threadId: emailId };
    }
    const threadId = this.findThread(accountId, fields, Date.now()) ?? emailId;
    this.q.insert.run(emailId, accountId, threadId, seq, seq, fields.messageId, fields.baseSubject, fields.sentAt, fields.fromSort, fields.toSort);
    // Its own id, its parent and its root are enough for later messages of the thread to find it.
    const refs = fields.references;
    const keys = new Set<string>();
    if (fields.messageId !== null) keys.add(fields.messageId);
    if (refs.length > 0) {
      keys.add(refs[0]!);
      keys.add(refs[refs.length - 1]!);
    }
    const rows: (string | number)[] = [];
    for (const key of keys) rows.push(accountId, `id:${key}`, threadId);
    if (rows.length > 0) this.putKeys[rows.length / 3 - 1]!.run(...rows);
    return { emailId, threadId };
  }

  /** A copy of an email (IMAP COPY, Email/copy into the same account): a new id in the same thread. */
  copy(sourceEmailId: number, seq: number): NewEmail | null {
    const emailId = this.nextId();
    const result = this.q.copy.run(emailId, seq, seq, sourceEmailId);
    if (result.changes === 0) return null;
    return { emailId, threadId: this.q.threadOf.get(emailId) as number };
  }
}
