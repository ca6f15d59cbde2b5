/**
 * Mailbox rows and the counters IMAP depends on, on PostgreSQL. UIDNEXT and HIGHESTMODSEQ are bumped by
 * an UPDATE of the mailbox row, whose row lock is held until COMMIT: a second writer on any node waits,
 * so UIDs and modseqs are unique and a larger one is never visible before a smaller one committed.
 */
import type pg from 'pg';
import type { MailboxRecord, SpecialUse } from '../types.ts';

type Queryable = Pick<pg.Pool, 'query'> | Pick<pg.PoolClient, 'query'>;

export interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  uid_validity: number;
  uid_next: number;
  highest_mod_seq: number;
  special_use: string | null;
  subscribed: boolean;
  sort_order: number | null;
}

export function toMailbox(row: MailboxRow): MailboxRecord {
  return {
    id: row.id,
    accountId: row.account_id,
    name: row.name,
    uidValidity: row.uid_validity,
    uidNext: row.uid_next,
    highestModSeq: row.highest_mod_seq,
    specialUse: row.special_use as SpecialUse | null,
    subscribed: row.subscribed,
    sortOrder: row.sort_order,
  };
}

export const SELECT_MAILBOX = `SELECT m.id, m.account_id, m.name, m.uid_validity, m.uid_next, m.highest_mod_seq, m.special_use, m.sort_order,
  EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id AND s.name = m.name) AS subscribed
  FROM mailboxes m`;

/**
 * A new mailbox inside the caller's transaction. Its id comes from a sequence (never given twice); its
 * UIDVALIDITY is seconds since the epoch or one more than the largest ever given (RFC 9051 §2.3.1.1).
 */
export async function createMailbox(client: pg.PoolClient, accountId: number, name: string, specialUse: SpecialUse | null, options: { subscribe: boolean }): Promise<number> {
  const res = await client.query<{ id: number }>({
    name: 'pg-create-mailbox',
    text: `WITH v AS (UPDATE uid_validity_high SET value = greatest(value + 1, $4) WHERE id = 1 RETURNING value),
        s AS (UPDATE account_seq SET value = value + 1 WHERE account_id = $1 RETURNING value)
      INSERT INTO mailboxes (id, account_id, name, uid_validity, special_use, created_seq, changed_seq)
        SELECT nextval('mailbox_ids'), $1, $2, v.value, $3, s.value, s.value FROM v, s RETURNING id`,
    values: [accountId, name, specialUse, Math.floor(Date.now() / 1000) % 0xffffffff],
  });
  if (options.subscribe) await client.query({ name: 'pg-subscribe', text: 'INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', values: [accountId, name] });
  return res.rows[0]!.id;
}

export async function mailboxById(db: Queryable, id: number): Promise<MailboxRecord | null> {
  const row = (await db.query<MailboxRow>({ name: 'pg-mailbox-by-id', text: `${SELECT_MAILBOX} WHERE m.id = $1`, values: [id] })).rows[0];
  return row ? toMailbox(row) : null;
}

/**
 * Advances the account's modseq (the JMAP state, docs/decisions/0008) and returns it. Every mailbox modseq
 * is drawn from it, so a mailbox's HIGHESTMODSEQ still only grows (RFC 7162 §3.1.1) and JMAP states move
 * with IMAP MODSEQ. The account row stays locked until COMMIT, like the mailbox row.
 */
export async function nextAccountSeq(client: pg.PoolClient, accountId: number): Promise<number> {
  const row = (await client.query<{ v: number }>({ name: 'pg-account-seq', text: 'UPDATE account_seq SET value = value + 1 WHERE account_id = $1 RETURNING value AS v', values: [accountId] })).rows[0];
  if (!row) throw new Error(`account ${accountId} has no change sequence`);
  return row.v;
}

/** Marks a mailbox's own properties (name, role, subscription) changed at an account modseq. */
export async function touchMailbox(client: pg.PoolClient, mailboxId: number, seq: number): Promise<void> {
  await client.query({ name: 'pg-touch-mailbox', text: 'UPDATE mailboxes SET changed_seq = $2 WHERE id = $1', values: [mailboxId, seq] });
}

const NEXT_SEQ_OF_MAILBOX = 'WITH s AS (UPDATE account_seq SET value = value + 1 WHERE account_id = (SELECT account_id FROM mailboxes WHERE id = $1) RETURNING value)';

/** The next UID and a new modseq (locks the mailbox row until COMMIT); throws if the mailbox is gone. */
export async function allocateUid(client: pg.PoolClient, mailboxId: number): Promise<{ uid: number; modSeq: number; accountId: number }> {
  const row = (await client.query<{ uid: number; modSeq: number; accountId: number }>({
    name: 'pg-allocate-uid',
    text: `${NEXT_SEQ_OF_MAILBOX} UPDATE mailboxes SET uid_next = uid_next + 1, highest_mod_seq = greatest(highest_mod_seq + 1, s.value) FROM s WHERE id = $1
      RETURNING uid_next - 1 AS "uid", highest_mod_seq AS "modSeq", account_id AS "accountId"`,
    values: [mailboxId],
  })).rows[0];
  if (!row) throw new Error(`mailbox ${mailboxId} does not exist`);
  return row;
}

export async function allocateModSeq(client: pg.PoolClient, mailboxId: number): Promise<number> {
  const row = (await client.query<{ modSeq: number }>({
    name: 'pg-allocate-modseq',
    text: `${NEXT_SEQ_OF_MAILBOX} UPDATE mailboxes SET highest_mod_seq = greatest(highest_mod_seq + 1, s.value) FROM s WHERE id = $1 RETURNING highest_mod_seq AS "modSeq"`,
    values: [mailboxId],
  })).rows[0];
  if (!row) throw new Error(`mailbox ${mailboxId} does not exist`);
  return row.modSeq;
}
