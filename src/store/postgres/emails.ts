/**
 * Emails and threads on PostgreSQL (docs/decisions/0008): a new email id for every message stored, its
 * thread found at that moment from Message-ID, In-Reply-To and References (a reply's subject when those
 * are missing), in one call of postamt_new_email (migration 3); triggers keep the rest.
 */
import type pg from 'pg';
import { messageIndexFields, type MessageIndexFields } from '../../message/thread-keys.ts';

/** Bytes of a message read for its header fields at delivery. */
export const INDEX_HEAD_BYTES = 64 * 1024;

/** How far back (ms) a reply found only by its subject may join a thread. */
const SUBJECT_THREAD_WINDOW_MS = 30 * 24 * 3600_000;

export interface NewEmail {
  emailId: number;
  threadId: number;
}

/** Reads the index fields from a message's first bytes; a header that cannot be read indexes as empty. */
export function indexFieldsOf(head: Buffer): MessageIndexFields {
  try {
    return messageIndexFields(head);
  } catch {
    return { messageId: null, references: [], baseSubject: '', isReplySubject: false, sentAt: null, fromSort: '', toSort: '' };
  }
}

/** A new email of the account, created at `seq`, in the thread its header points to (or a new one). */
export async function createEmail(c: pg.PoolClient, accountId: number, fields: MessageIndexFields, seq: number): Promise<NewEmail> {
  const refs = fields.references;
  const lookup = (fields.messageId !== null ? [fields.messageId, ...refs] : refs).map((k) => `id:${k}`);
  // Without any reference, a reply ("Re: x") joins the thread of its base subject if that was active lately.
  const replySubject = refs.length === 0 && fields.isReplySubject && fields.baseSubject !== '' ? `subject:${fields.baseSubject}` : null;
  // Its own id, its parent and its root are enough for later messages of the thread to find it.
  const put = new Set<string>();
  if (fields.messageId !== null) put.add(`id:${fields.messageId}`);
  if (refs.length > 0) {
    put.add(`id:${refs[0]!}`);
    put.add(`id:${refs[refs.length - 1]!}`);
  }
  if (fields.baseSubject !== '') put.add(`subject:${fields.baseSubject}`);
  const row = (await c.query<{ o_email: number; o_thread: number }>({
    name: 'pg-new-email',
    text: 'SELECT o_email, o_thread FROM postamt_new_email($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)',
    values: [accountId, seq, lookup, replySubject, [...put], fields.messageId, fields.baseSubject, fields.sentAt, fields.fromSort, fields.toSort, Date.now(), SUBJECT_THREAD_WINDOW_MS],
  })).rows[0]!;
  return { emailId: row.o_email, threadId: row.o_thread };
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
