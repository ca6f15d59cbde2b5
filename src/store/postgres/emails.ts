/**
 * Emails and threads on PostgreSQL (docs/decisions/0008): a new email id for every message stored, its
 * thread found at that moment from Message-ID, In-Reply-To and References (a reply's subject when those
 * are missing), by postamt_new_email (migration 3), called for a delivered copy by postamt_deliver_copy
 * (migration 5) in the same round trip as its UID and message row; triggers keep the rest.
 */
import type pg from 'pg';
import type { MessageIndexFields } from '../../message/thread-keys.ts';

/** How far back (ms) a reply found only by its subject may join a thread. */
export const SUBJECT_THREAD_WINDOW_MS = 30 * 24 * 3600_000;

export interface NewEmail {
  emailId: number;
  threadId: number;
}

/** What postamt_new_email needs to find and record a message's thread, named (postamt_deliver_batch reads these names). */
export interface ThreadingKeys {
  /** The keys to look up. */
  keys: string[];
  /** The reply subject to look up when there are no references. */
  reply: string | null;
  /** The keys to record. */
  put: string[];
  messageId: string | null;
  subject: string;
  sentAt: number | null;
  fromSort: string;
  toSort: string;
}

export function threadingKeys(fields: MessageIndexFields): ThreadingKeys {
  const refs = fields.references;
  const keys = (fields.messageId !== null ? [fields.messageId, ...refs] : refs).map((k) => `id:${k}`);
  // Without any reference, a reply ("Re: x") joins the thread of its base subject if that was active lately.
  const reply = refs.length === 0 && fields.isReplySubject && fields.baseSubject !== '' ? `subject:${fields.baseSubject}` : null;
  // Its own id, its parent and its root are enough for later messages of the thread to find it.
  const put = new Set<string>();
  if (fields.messageId !== null) put.add(`id:${fields.messageId}`);
  if (refs.length > 0) {
    put.add(`id:${refs[0]!}`);
    put.add(`id:${refs[refs.length - 1]!}`);
  }
  if (fields.baseSubject !== '') put.add(`subject:${fields.baseSubject}`);
  return { keys, reply, put: [...put], messageId: fields.messageId, subject: fields.baseSubject, sentAt: fields.sentAt, fromSort: fields.fromSort, toSort: fields.toSort };
}

/**
 * The arguments postamt_new_email takes after account and modseq: the keys to look up, the reply subject,
 * the keys to record, the index fields, now and the subject window.
 */
export function threadingArgs(fields: MessageIndexFields): unknown[] {
  const t = threadingKeys(fields);
  return [t.keys, t.reply, t.put, t.messageId, t.subject, t.sentAt, t.fromSort, t.toSort, Date.now(), SUBJECT_THREAD_WINDOW_MS];
}

/**
 * Stores one delivered copy in one round trip (postamt_deliver_copy, migration 5): the UID and modseq, the
 * email (a new one, or `emailId` when the plan stores one email in several mailboxes) and the message row.
 */
export async function deliverCopy(c: pg.PoolClient, input: DeliverCopyInput): Promise<{ uid: number; accountId: number } & NewEmail> {
  const row = (await c.query<{ o_uid: number; o_account: number; o_email: number; o_thread: number }>({
    name: 'pg-deliver-copy',
    text: 'SELECT o_uid, o_blob, o_account, o_email, o_thread FROM postamt_deliver_copy($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17)',
    // The last argument (a body to store with the copy) is left null: the body is stored before, once per delivery.
    values: [input.mailboxId, input.blobId, input.size, input.internalDate, input.flags, ...threadingArgs(input.fields), input.emailId, null],
  })).rows[0]!;
  return { uid: row.o_uid, accountId: row.o_account, emailId: row.o_email, threadId: row.o_thread };
}

export interface DeliverCopyInput {
  mailboxId: number;
  /** The stored body. */
  blobId: number;
  size: number;
  internalDate: number;
  flags: string;
  fields: MessageIndexFields;
  emailId: number | null;
}

/** A copy of an email (IMAP COPY, Email/copy into the same account): a new id in the same thread. */
export async function copyEmail(c: pg.PoolClient, sourceEmailId: number, seq: number): Promise<NewEmail | null> {
  const row = (await c.query<{ id: number; thread_id: number }>({
    name: 'pg-copy-email',
    text: `INSERT INTO emails (id, account_id, thread_id, created_seq, mod_seq, message_id, base_subject, sent_at, from_sort, to_sort)
      SELECT nextval('email_ids'), account_id, thread_id, $2, $2, message_id, base_subject, sent_at, from_sort, to_sort FROM emails WHERE id = $1
      RETURNING id, thread_id`,
    values: [sourceEmailId, seq],
  })).rows[0];
  return row ? { emailId: row.id, threadId: row.thread_id } : null;
}
