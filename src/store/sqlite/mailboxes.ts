/**
 * Mailbox rows and the counters IMAP depends on: UIDVALIDITY (unique per mailbox name lifetime),
 * UIDNEXT (strictly ascending, never reused) and HIGHESTMODSEQ (RFC 7162). Synchronous helpers that
 * run inside a write transaction.
 */
import type { MailboxRecord, SpecialUse } from '../types.ts';
import type { SqliteDatabase } from './database.ts';

interface MailboxRow {
  id: number;
  account_id: number;
  name: string;
  uid_validity: number;
  uid_next: number;
  highest_mod_seq: number;
  special_use: string | null;
  subscribed: number;
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
    subscribed: row.subscribed !== 0,
    sortOrder: row.sort_order,
  };
}

const SELECT_MAILBOX = `SELECT m.id, m.account_id, m.name, m.uid_validity, m.uid_next, m.highest_mod_seq, m.special_use, m.sort_order,
  EXISTS (SELECT 1 FROM subscriptions s WHERE s.account_id = m.account_id AND s.name = m.name) AS subscribed
  FROM mailboxes m`;

export class MailboxTable {
  private readonly q;

  constructor(db: SqliteDatabase) {
    this.q = {
      insert: db.prepare('INSERT INTO mailboxes (id, account_id, name, uid_validity, special_use, created_seq, changed_seq) VALUES (?, ?, ?, ?, ?, ?, ?)'),
      nextId: db.prepare('UPDATE mailbox_id_high SET value = value + 1 WHERE id = 1 RETURNING value AS v'),
      subscribe: db.prepare('INSERT OR IGNORE INTO subscriptions (account_id, name) VALUES (?, ?)'),
      nextValidity: db.prepare('UPDATE uid_validity_high SET value = max(value + 1, ?) WHERE id = 1 RETURNING value AS v'),
      byName: db.prepare(`${SELECT_MAILBOX} WHERE m.account_id = ? AND m.name = ?`),
      byId: db.prepare(`${SELECT_MAILBOX} WHERE m.id = ?`),
      list: db.prepare(`${SELECT_MAILBOX} WHERE m.account_id = ? ORDER BY m.name`),
      // The counters are advanced by a plain UPDATE and read back by a SELECT: RETURNING makes SQLite buffer
      // the result in a temporary table, about twice the cost of the two statements (on every delivery).
      accountSeq: db.prepare('UPDATE account_seq SET value = value + 1 WHERE account_id = ?'),
      accountSeqValue: db.prepare('SELECT value FROM account_seq WHERE account_id = ?').pluck(),
      accountOf: db.prepare('SELECT account_id FROM mailboxes WHERE id = ?').pluck(),
      nextUid: db.prepare('UPDATE mailboxes SET uid_next = uid_next + 1, highest_mod_seq = max(highest_mod_seq + 1, ?) WHERE id = ?'),
      lastUid: db.prepare('SELECT uid_next - 1, highest_mod_seq FROM mailboxes WHERE id = ?').raw(),
      nextModSeq: db.prepare('UPDATE mailboxes SET highest_mod_seq = max(highest_mod_seq + 1, ?) WHERE id = ? RETURNING highest_mod_seq AS modSeq'),
      touch: db.prepare('UPDATE mailboxes SET changed_seq = ? WHERE id = ?'),
    };
  }

  /**
   * A UIDVALIDITY never given before, even to a deleted mailbox (RFC 9051 §2.3.1.1): seconds since the
   * epoch, or one more than the largest ever given.
   */
  private newUidValidity(): number {
    return (this.q.nextValidity.get(Math.floor(Date.now() / 1000) % 0xffffffff) as { v: number }).v;
  }

  /** `subscribe`: the account's default mailboxes are subscribed; IMAP CREATE leaves that to SUBSCRIBE. */
  create(accountId: number, name: string, specialUse: SpecialUse | null, options: { subscribe: boolean }): number {
    // Never an id a deleted mailbox had (migration 4): holders of an id may not check its owner again.
    const id = (this.q.nextId.get() as { v: number }).v;
    const seq = this.nextAccountSeq(accountId);
    this.q.insert.run(id, accountId, name, this.newUidValidity(), specialUse, seq, seq);
    if (options.subscribe) this.q.subscribe.run(accountId, name);
    return id;
  }

  byName(accountId: number, name: string): MailboxRecord | null {
    const row = this.q.byName.get(accountId, name) as MailboxRow | undefined;
    return row ? toMailbox(row) : null;
  }

  byId(id: number): MailboxRecord | null {
    const row = this.q.byId.get(id) as MailboxRow | undefined;
    return row ? toMailbox(row) : null;
  }

  list(accountId: number): MailboxRecord[] {
    return (this.q.list.all(accountId) as MailboxRow[]).map(toMailbox);
  }

  /**
   * Advances the account's modseq (the JMAP state, docs/decisions/0008) and returns it. Every mailbox
   * modseq is drawn from it, so a mailbox's HIGHESTMODSEQ still only grows (RFC 7162 §3.1.1) and JMAP
   * states move with IMAP MODSEQ.
   */
  nextAccountSeq(accountId: number): number {
    if (this.q.accountSeq.run(accountId).changes === 0) throw new Error(`account ${accountId} has no change sequence`);
    return this.q.accountSeqValue.get(accountId) as number;
  }

  // A mailbox never changes owner and its id is never given again, so its account is looked up once
  // (every delivery and notification asks).
  private readonly owners = new Map<number, number>();

  /** The account a mailbox belongs to; 0 when there is no such mailbox. */
  accountOf(mailboxId: number): number {
    const known = this.owners.get(mailboxId);
    if (known !== undefined) return known;
    const accountId = (this.q.accountOf.get(mailboxId) as number | undefined) ?? 0;
    if (accountId !== 0) {
      if (this.owners.size > 100_000) this.owners.clear();
      this.owners.set(mailboxId, accountId);
    }
    return accountId;
  }

  private nextSeqOfMailbox(mailboxId: number): number {
    const accountId = this.accountOf(mailboxId);
    if (accountId === 0) throw new Error(`mailbox ${mailboxId} does not exist`);
    return this.nextAccountSeq(accountId);
  }

  /** Allocates the next UID and a new modseq; throws if the mailbox is gone. */
  allocateUid(mailboxId: number): { uid: number; modSeq: number } {
    if (this.q.nextUid.run(this.nextSeqOfMailbox(mailboxId), mailboxId).changes === 0) throw new Error(`mailbox ${mailboxId} does not exist`);
    const [uid, modSeq] = this.q.lastUid.get(mailboxId) as [number, number];
    return { uid, modSeq };
  }

  allocateModSeq(mailboxId: number): number {
    const row = this.q.nextModSeq.get(this.nextSeqOfMailbox(mailboxId), mailboxId) as { modSeq: number } | undefined;
    if (!row) throw new Error(`mailbox ${mailboxId} does not exist`);
    return row.modSeq;
  }

  /** Marks a mailbox's own properties (name, role, subscription) changed at an account modseq. */
  touch(mailboxId: number, seq: number): void {
    this.q.touch.run(seq, mailboxId);
  }
}
