/**
 * EmailStore on PostgreSQL: the JMAP object model over the message rows (docs/decisions/0008). Reads are
 * single statements; writes go through the group commit like every other mail write, with the account's
 * change sequence locked first.
 */
import type pg from 'pg';
import { parseFlagText } from '../../core/flag-text.ts';
import type { EmailIndexRow, EmailRecord, EmailStore, EmailUpdate, FlagOperation, ObjectChange, ObjectType, StoreChange } from '../types.ts';
import type { PgChangeFeed } from './change-feed.ts';
import { allocateModSeq, allocateUid } from './mailboxes.ts';
import { INSERT_MESSAGE } from './mail.ts';

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

type Queryable = Pick<pg.Pool, 'query'> | pg.PoolClient;

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

const LIVE_CHANGES: Record<ObjectType, string> = {
  Mailbox: 'SELECT id, greatest(highest_mod_seq, changed_seq) AS seq, created_seq FROM mailboxes WHERE account_id = $1 AND greatest(highest_mod_seq, changed_seq) > $2',
  Email: 'SELECT id, mod_seq AS seq, created_seq FROM emails WHERE account_id = $1 AND mod_seq > $2',
  // Threads with a row, and threads of one email without one (migration 20): the email is the thread, created and
  // last changed at its created seq (its mod seq is never lower, so the emails' index finds it).
  Thread: `SELECT id, mod_seq AS seq, created_seq FROM threads WHERE account_id = $1 AND mod_seq > $2
    UNION ALL
    SELECT e.id, e.created_seq AS seq, e.created_seq FROM emails e WHERE e.account_id = $1 AND e.mod_seq > $2 AND e.created_seq > $2
      AND e.thread_id = e.id AND NOT EXISTS (SELECT 1 FROM threads t WHERE t.id = e.id)`,
};

export function pgEmailStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): EmailStore {
  const { pool, changes } = deps;

  async function copiesOf(db: Queryable, accountId: number, emailIds: readonly number[]): Promise<CopyRow[]> {
    return (await db.query<CopyRow>({
      name: 'pg-email-copies',
      text: `SELECT e.id, e.account_id, e.thread_id, e.sent_at, e.mod_seq, m.mailbox_id, m.uid, m.flags, m.size, m.internal_date, m.blob_id, m.blob_offset
        FROM emails e JOIN messages m ON m.email_id = e.id WHERE e.id = ANY($1::bigint[]) AND e.account_id = $2 ORDER BY e.id, m.mailbox_id`,
      values: [emailIds, accountId],
    })).rows;
  }

  /** Removes one copy at a new modseq of its mailbox; the triggers update or remove the email. */
  async function removeCopy(c: pg.PoolClient, row: CopyRow, log: StoreChange[]): Promise<void> {
    const modSeq = await allocateModSeq(c, row.mailbox_id);
    await c.query('DELETE FROM messages WHERE mailbox_id = $1 AND uid = $2', [row.mailbox_id, row.uid]);
    await c.query('INSERT INTO expunged (mailbox_id, uid, mod_seq) VALUES ($1, $2, $3) ON CONFLICT (mailbox_id, uid) DO UPDATE SET mod_seq = excluded.mod_seq', [row.mailbox_id, row.uid, modSeq]);
    log.push({ accountId: row.account_id, mailboxId: row.mailbox_id, kind: 'expunge', uids: [row.uid] });
  }

  async function applyUpdate(c: pg.PoolClient, accountId: number, update: EmailUpdate, log: StoreChange[]): Promise<boolean> {
    let rows = await copiesOf(c, accountId, [update.emailId]);
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
        const owner = (await c.query<{ account_id: number }>('SELECT account_id FROM mailboxes WHERE id = $1', [mailboxId])).rows[0]?.account_id;
        if (owner !== accountId) throw new Error(`mailbox ${mailboxId} is not the account's`);
        const { uid, modSeq } = await allocateUid(c, mailboxId);
        await c.query({ ...INSERT_MESSAGE, values: [mailboxId, uid, model.blob_id, model.blob_offset, model.size, model.internal_date, model.flags, modSeq, model.id] });
        log.push({ accountId, mailboxId, kind: 'append', uids: [uid] });
      }
      for (const row of rows) if (!wanted.has(row.mailbox_id)) await removeCopy(c, row, log);
      rows = await copiesOf(c, accountId, [update.emailId]);
    }
    if (update.flags !== undefined) {
      for (const row of rows) {
        const current = parseFlagText(row.flags);
        const next = applyFlags(current, update.flags.op, update.flags.flags);
        if (sameFlags(current, next)) continue;
        const modSeq = await allocateModSeq(c, row.mailbox_id);
        await c.query('UPDATE messages SET flags = $1, mod_seq = $2 WHERE mailbox_id = $3 AND uid = $4', [next.join(' '), modSeq, row.mailbox_id, row.uid]);
        log.push({ accountId, mailboxId: row.mailbox_id, kind: 'flags', uids: [row.uid] });
      }
    }
    return true;
  }

  return {
    async accountModSeq(accountId) {
      return (await pool.query<{ value: number }>('SELECT value FROM account_seq WHERE account_id = $1', [accountId])).rows[0]?.value ?? 0;
    },
    async objectChanges(accountId, type, sinceModSeq, limit) {
      // One statement: the live rows and the tombstones are read in one snapshot.
      const rows = (await pool.query<{ id: number; seq: number; created_seq: number | null }>(
        `SELECT * FROM (
          (${LIVE_CHANGES[type]} ORDER BY seq, id LIMIT $3)
          UNION ALL
          (SELECT object_id AS id, mod_seq AS seq, NULL AS created_seq FROM tombstones WHERE account_id = $1 AND type = $4 AND mod_seq > $2 ORDER BY mod_seq, object_id LIMIT $3)
        ) x ORDER BY seq, id LIMIT $3`,
        [accountId, sinceModSeq, limit + 1, type],
      )).rows;
      return rows.map((r): ObjectChange => (r.created_seq === null
        ? { id: r.id, modSeq: r.seq, created: false, destroyed: true }
        : { id: r.id, modSeq: r.seq, created: r.created_seq > sinceModSeq, destroyed: false }));
    },
    async changesKnownSince() {
      // Tombstones are kept for the life of the account.
      return 0;
    },
    async getEmails(accountId, ids) {
      const byEmail = new Map<number, CopyRow[]>();
      for (const row of await copiesOf(pool, accountId, ids)) {
        const list = byEmail.get(row.id) ?? [];
        list.push(row);
        byEmail.set(row.id, list);
      }
      const out: EmailRecord[] = [];
      for (const [id, rows] of byEmail) {
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
      const rows = (await pool.query<{ thread_id: number; id: number }>(
        `SELECT e.thread_id, e.id, min(m.internal_date) AS d FROM emails e JOIN messages m ON m.email_id = e.id
          WHERE e.thread_id = ANY($1::bigint[]) AND e.account_id = $2 GROUP BY e.thread_id, e.id ORDER BY e.thread_id, d, e.id`,
        [threadIds, accountId],
      )).rows;
      const out = new Map<number, number[]>();
      for (const r of rows) {
        const list = out.get(r.thread_id) ?? [];
        list.push(r.id);
        out.set(r.thread_id, list);
      }
      return out;
    },
    async mailboxEmailCounts(accountId) {
      const rows = (await pool.query<number[]>({
        text: `SELECT m.mailbox_id, count(*), count(*) FILTER (WHERE position(' \\Seen ' in ' ' || m.flags || ' ') = 0), count(DISTINCT e.thread_id),
          count(DISTINCT e.thread_id) FILTER (WHERE position(' \\Seen ' in ' ' || m.flags || ' ') = 0)
          FROM mailboxes b JOIN messages m ON m.mailbox_id = b.id JOIN emails e ON e.id = m.email_id WHERE b.account_id = $1 GROUP BY m.mailbox_id`,
        values: [accountId],
        rowMode: 'array',
      })).rows;
      return new Map(rows.map((r) => [r[0]!, { emails: r[1]!, unread: r[2]!, threads: r[3]!, unreadThreads: r[4]! }]));
    },
    async objectIds(mailboxId, uids) {
      const rows = (await pool.query<{ uid: number; email_id: number; thread_id: number }>(
        'SELECT m.uid, m.email_id, e.thread_id FROM messages m JOIN emails e ON e.id = m.email_id WHERE m.mailbox_id = $1 AND m.uid = ANY($2::bigint[])',
        [mailboxId, uids],
      )).rows;
      return new Map(rows.map((r) => [r.uid, { emailId: r.email_id, threadId: r.thread_id }]));
    },
    async listEmailIndex(accountId, options = {}) {
      const res = options.mailboxId !== undefined
        ? await pool.query<unknown[]>({
            text: `SELECT e.id, e.thread_id, (SELECT array_agg(x.mailbox_id) FROM messages x WHERE x.email_id = e.id) AS mailboxes,
            m.flags, m.size, m.internal_date AS received, e.sent_at, e.base_subject, e.from_sort, e.to_sort
            FROM messages m JOIN emails e ON e.id = m.email_id WHERE m.mailbox_id = $1 AND ($2::bigint[] IS NULL OR e.id = ANY($2::bigint[]))
            ORDER BY m.internal_date DESC, e.id DESC`,
            values: [options.mailboxId, options.ids ?? null],
            rowMode: 'array',
          })
        : await pool.query<unknown[]>({
            text: `SELECT e.id, e.thread_id, array_agg(m.mailbox_id) AS mailboxes, min(m.flags) AS flags, max(m.size) AS size,
            min(m.internal_date) AS received, e.sent_at, e.base_subject, e.from_sort, e.to_sort
            FROM emails e JOIN messages m ON m.email_id = e.id WHERE e.account_id = $1 AND ($2::bigint[] IS NULL OR e.id = ANY($2::bigint[]))
            GROUP BY e.id ORDER BY received DESC, e.id DESC`,
            values: [accountId, options.ids ?? null],
            rowMode: 'array',
          });
      return (res.rows as [number, number, number[], string, number, number, number | null, string, string, string][]).map((r): EmailIndexRow => ({
        id: r[0], threadId: r[1], mailboxIds: r[2], flags: r[3], size: r[4], receivedAt: r[5], sentAt: r[6], baseSubject: r[7], fromSort: r[8], toSort: r[9],
      }));
    },
    async mailboxEmailPage(mailboxId, options) {
      const row = (await pool.query<{ ids: number[] | null; total: number }>(
        `SELECT (SELECT array_agg(email_id) FROM (SELECT email_id FROM messages WHERE mailbox_id = $1 ORDER BY internal_date DESC, uid DESC LIMIT $2 OFFSET $3) p) AS ids,
          (SELECT count(*) FROM messages WHERE mailbox_id = $1) AS total`,
        [mailboxId, options.limit, options.position],
      )).rows[0]!;
      return { ids: row.ids ?? [], total: row.total };
    },
    async updateEmails(accountId, updates) {
      return changes.write(async (c, log) => {
        const notFound: number[] = [];
        for (const update of updates) if (!(await applyUpdate(c, accountId, update, log))) notFound.push(update.emailId);
        return { notFound };
      }, { lockAccounts: [accountId] });
    },
    async destroyEmails(accountId, ids) {
      return changes.write(async (c, log) => {
        const removed: number[] = [];
        for (const id of ids) {
          const rows = await copiesOf(c, accountId, [id]);
          if (rows.length === 0) continue;
          for (const row of rows) await removeCopy(c, row, log);
          removed.push(id);
        }
        return removed;
      }, { lockAccounts: [accountId] });
    },
    async emailLocation(accountId, emailId) {
      const row = (await copiesOf(pool, accountId, [emailId]))[0];
      return row ? { mailboxId: row.mailbox_id, uid: row.uid, size: row.size } : null;
    },
  };
}
