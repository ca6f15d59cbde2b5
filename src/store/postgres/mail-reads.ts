/**
 * The read side of MailStore on PostgreSQL. Reads that must agree with each other (SELECT state, the
 * changes since a modseq, several metadata columns) are one statement each, so they see one snapshot
 * without a transaction of their own; big listings come back as arrays, not a row object per message.
 */
import type pg from 'pg';
import { isKeyword, parseFlagText } from '../../core/flag-text.ts';
import type { MailboxDelta, MailboxSelectState, MessageMetaColumns, MessageMetaField, MessageMetaRow, MessageRecord } from '../types.ts';
import { toMailbox, type MailboxRow } from './mailboxes.ts';

export interface MessageRow {
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

export function toMessage(row: MessageRow): MessageRecord {
  return { mailboxId: row.mailbox_id, uid: row.uid, size: row.size, internalDate: new Date(row.internal_date), flags: parseFlagText(row.flags), modSeq: row.mod_seq };
}

const MAILBOX_JSON = `json_build_object('id', m.id, 'account_id', m.account_id, 'name', m.name, 'uid_validity', m.uid_validity,
  'uid_next', m.uid_next, 'highest_mod_seq', m.highest_mod_seq, 'special_use', m.special_use, 'sort_order', m.sort_order,
  'subscribed', EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id AND s.name = m.name))`;

const COLUMN: Record<MessageMetaField, string> = {
  flags: 'flags', size: 'size', internalDate: 'internal_date', modSeq: 'mod_seq', emailId: 'email_id',
  threadId: '(SELECT e.thread_id FROM emails e WHERE e.id = messages.email_id)',
  saveDate: 'coalesce(saved_at, internal_date)',
};

function keywordsOf(flagTexts: string[]): string[] {
  const keywords = new Set<string>();
  for (const text of flagTexts) for (const f of parseFlagText(text)) if (isKeyword(f)) keywords.add(f);
  return [...keywords].sort();
}

export async function selectState(pool: pg.Pool, mailboxId: number): Promise<MailboxSelectState | null> {
  const row = (await pool.query<{ mailbox: MailboxRow; uids: number[] | null; unseen: number[] | null; flags: string[] | null }>({
    name: 'pg-select-state',
    text: `SELECT ${MAILBOX_JSON} AS mailbox,
      (SELECT array_agg(uid ORDER BY uid) FROM messages WHERE mailbox_id = m.id) AS uids,
      (SELECT array_agg(uid ORDER BY uid) FROM messages WHERE mailbox_id = m.id AND position(' \\Seen ' in ' ' || flags || ' ') = 0) AS unseen,
      (SELECT array_agg(DISTINCT flags) FROM messages WHERE mailbox_id = m.id AND flags <> '') AS flags
      FROM mailboxes m WHERE m.id = $1`,
    values: [mailboxId],
  })).rows[0];
  if (!row) return null;
  return { mailbox: toMailbox(row.mailbox), uids: Uint32Array.from(row.uids ?? []), unseenUids: Uint32Array.from(row.unseen ?? []), keywords: keywordsOf(row.flags ?? []) };
}

export async function mailboxDelta(pool: pg.Pool, mailboxId: number, since: number, maxChanges: number): Promise<MailboxDelta | null> {
  const row = (await pool.query<{ mailbox: MailboxRow; changed: [number, string][] | null; vanished: number[] | null }>({
    name: 'pg-mailbox-delta',
    text: `SELECT ${MAILBOX_JSON} AS mailbox,
      (SELECT json_agg(json_build_array(uid, flags)) FROM (SELECT uid, flags FROM messages WHERE mailbox_id = m.id AND mod_seq > $2 ORDER BY mod_seq LIMIT $3) c) AS changed,
      (SELECT array_agg(uid) FROM (SELECT uid FROM expunged WHERE mailbox_id = m.id AND mod_seq > $2 ORDER BY mod_seq LIMIT $3) v) AS vanished
      FROM mailboxes m WHERE m.id = $1`,
    values: [mailboxId, since, maxChanges + 1],
  })).rows[0];
  if (!row) return null;
  const changed = row.changed ?? [];
  const vanished = row.vanished ?? [];
  if (changed.length > maxChanges || vanished.length > maxChanges) return null;
  changed.sort((a, b) => a[0] - b[0]);
  vanished.sort((a, b) => a - b);
  return { mailbox: toMailbox(row.mailbox), changed, vanished };
}

export async function listMetaColumns(pool: pg.Pool, mailboxId: number, from: number, to: number, fields: readonly MessageMetaField[]): Promise<MessageMetaColumns> {
  if (from > to) return { count: 0, uids: new Uint32Array(0), ...Object.fromEntries(fields.map((f) => [f, []])) };
  const columns = ['uid', ...fields.map((f) => COLUMN[f])];
  const res = await pool.query<unknown[]>({
    text: `SELECT ${columns.join(', ')} FROM messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3 ORDER BY uid`,
    values: [mailboxId, from, to],
    rowMode: 'array',
  });
  const rows = res.rows;
  const out: MessageMetaColumns = { count: rows.length, uids: rows.length === to - from + 1 ? null : Uint32Array.from(rows, (r) => r[0] as number) };
  fields.forEach((field, i) => {
    out[field] = rows.map((r) => r[i + 1]) as never[];
  });
  return out;
}

export async function listMessageMeta(pool: pg.Pool, mailboxId: number, from: number, to: number): Promise<MessageMetaRow[]> {
  const res = await pool.query<[number, number, number, string, number]>({
    name: 'pg-list-meta',
    text: 'SELECT uid, size, internal_date, flags, mod_seq FROM messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3 ORDER BY uid',
    values: [mailboxId, from, to],
    rowMode: 'array',
  });
  return res.rows.map((r) => ({ uid: r[0], size: r[1], internalDate: r[2], flags: r[3], modSeq: r[4] }));
}

export async function listMessages(pool: pg.Pool, mailboxId: number, options: { changedSinceModSeq?: number; uidFrom?: number; uidTo?: number }): Promise<MessageRecord[]> {
  const from = options.uidFrom ?? 1;
  const to = options.uidTo ?? 0xffffffff;
  const res = options.changedSinceModSeq !== undefined
    ? await pool.query<MessageRow>({ name: 'pg-list-changed', text: 'SELECT * FROM messages WHERE mailbox_id = $1 AND mod_seq > $2 AND uid BETWEEN $3 AND $4 ORDER BY uid', values: [mailboxId, options.changedSinceModSeq, from, to] })
    : await pool.query<MessageRow>({ name: 'pg-list-messages', text: 'SELECT * FROM messages WHERE mailbox_id = $1 AND uid BETWEEN $2 AND $3 ORDER BY uid', values: [mailboxId, from, to] });
  return res.rows.map(toMessage);
}
