/**
 * MailStore on PostgreSQL: mailboxes, messages (UID, flags, modseq, internal date), expunge history for
 * QRESYNC, copy/move and the durable delivery commit. Writes go through the group commit and lock the
 * mailbox rows they bump first (mailboxes.ts); every change goes on the feed.
 */
import type pg from 'pg';
import { parseFlagText } from '../../core/flag-text.ts';
import type { CommitResult, DeliveryPlan, DeliveryTransaction, FlagOperation, MailStore, MessageRecord, StoreChange } from '../types.ts';
import { SqliteDeliveryTransaction as SpoolingDeliveryTransaction, type SpooledBody } from '../sqlite/delivery.ts';
import { CHUNK_BYTES, insertBlob, readBlob, streamBlob, wholeBody } from './blobs.ts';
import type { PgChangeFeed } from './change-feed.ts';
import { storedMessageIndexFields } from '../../message/thread-keys.ts';
import { copyEmail, deliverCopy, type NewEmail } from './emails.ts';
import { allocateModSeq, allocateUid, createMailbox, mailboxById, nextAccountSeq, SELECT_MAILBOX, toMailbox, touchMailbox, type MailboxRow } from './mailboxes.ts';
import { listMessageMeta, listMessages, listMetaColumns, mailboxDelta, selectState, toMessage, type MessageRow } from './mail-reads.ts';
import { insertQueueEntry } from './queue.ts';
import { newId } from '../../core/ids.ts';
import type { BatchDelivery, BatchOutcome } from './deliver-batch.ts';
import { insertTrace } from './trace.ts';

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

export const INSERT_MESSAGE = {
  name: 'pg-insert-message',
  text: 'INSERT INTO messages (mailbox_id, uid, blob_id, blob_offset, size, internal_date, flags, mod_seq, email_id) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)',
};

interface BodyRow {
  blob_id: number;
  blob_offset: number;
  size: number;
  blob_size: number;
}

export function pgMailStore(deps: { pool: pg.Pool; changes: PgChangeFeed; tmpDir: string }): MailStore {
  const { pool, changes, tmpDir } = deps;

  // A mailbox never changes owner, so its account is looked up once (notifications ask per message).
  const owners = new Map<number, number>();
  async function accountOf(db: Pick<pg.Pool, 'query'> | pg.PoolClient, mailboxId: number): Promise<number> {
    const known = owners.get(mailboxId);
    if (known !== undefined) return known;
    const accountId = (await db.query<{ account_id: number }>('SELECT account_id FROM mailboxes WHERE id = $1', [mailboxId])).rows[0]?.account_id ?? 0;
    if (accountId !== 0) {
      if (owners.size > 100_000) owners.clear();
      owners.set(mailboxId, accountId);
    }
    return accountId;
  }

  async function bodyRow(mailboxId: number, uid: number): Promise<BodyRow> {
    const row = (await pool.query<BodyRow>({
      name: 'pg-message-body',
      text: 'SELECT m.blob_id, m.blob_offset, m.size, b.size AS blob_size FROM messages m JOIN blobs b ON b.id = m.blob_id WHERE m.mailbox_id = $1 AND m.uid = $2',
      values: [mailboxId, uid],
    })).rows[0];
    if (!row) throw new Error(`message ${uid} does not exist in mailbox ${mailboxId}`);
    return row;
  }

  /** The writes of one delivery, inside a group-commit transaction. */
  async function insertDelivery(c: pg.PoolClient, plan: DeliveryPlan, body: SpooledBody, log: StoreChange[]): Promise<CommitResult> {
    const localHeader = plan.localHeader ?? Buffer.alloc(0);
    const traceHeader = plan.traceHeader ?? Buffer.alloc(0);
    const total = localHeader.length + traceHeader.length + body.size;
    const out: CommitResult = { messages: [], queueId: null, size: total };
    const hasQueue = !!plan.queue && plan.queue.recipients.length > 0;
    if (plan.mailboxes.length === 0 && !hasQueue) return out;
    const blobId = await insertBlob(c, [localHeader, traceHeader], body.ref());
    // SMTP keeps the message header in the trace prefix and spools only the body: the header is read from both.
    const fields = plan.mailboxes.length > 0 ? storedMessageIndexFields(traceHeader, (n) => body.head(n)) : null;
    let shared: NewEmail | null = null;
    for (const target of plan.mailboxes) {
      const internalDate = (target.internalDate ?? new Date()).getTime();
      // Each copy is an email of its own (its account's), unless the plan stores one email in several mailboxes.
      const { uid, accountId, ...email } = await deliverCopy(c, { mailboxId: target.mailboxId, blobId, size: total, internalDate, flags: (target.flags ?? []).join(' '), fields: fields!, emailId: shared?.emailId ?? null });
      if (plan.oneEmail) shared = email;
      out.messages.push({ mailboxId: target.mailboxId, uid, emailId: email.emailId, threadId: email.threadId });
      log.push({ accountId, mailboxId: target.mailboxId, kind: 'append', uids: [uid] });
    }
    if (hasQueue) {
      out.queueId = await insertQueueEntry(c, blobId, localHeader.length, total - localHeader.length, plan.queue!);
      log.push({ kind: 'queue' });
    }
    // The trace of the acceptance is stored with the message, in its transaction.
    if (plan.trace) await insertTrace(c, plan.trace);
    return out;
  }

  const targetsOf = (plans: DeliveryPlan[]): number[] => plans.flatMap((p) => p.mailboxes.map((m) => m.mailboxId));

  /**
   * The delivery as one item of a batch statement (deliver-batch.ts), read from the spool before any
   * transaction; null when it takes the general path (a body over one chunk, a held queue entry).
   */
  async function batchItem(plan: DeliveryPlan, body: SpooledBody): Promise<BatchDelivery | null> {
    const localHeader = plan.localHeader ?? Buffer.alloc(0);
    const traceHeader = plan.traceHeader ?? Buffer.alloc(0);
    const total = localHeader.length + traceHeader.length + body.size;
    const queue = plan.queue && plan.queue.recipients.length > 0 ? plan.queue : null;
    if (total > CHUNK_BYTES || queue?.holdUntil) return null;
    return {
      data: await wholeBody([localHeader, traceHeader], body.ref(), total),
      targets: plan.mailboxes.map((t) => ({ mailboxId: t.mailboxId, flags: (t.flags ?? []).join(' '), internalDate: (t.internalDate ?? new Date()).getTime() })),
      oneEmail: plan.oneEmail === true,
      // SMTP keeps the message header in the trace prefix and spools only the body: the header is read from both.
      fields: plan.mailboxes.length > 0 ? storedMessageIndexFields(traceHeader, (n) => body.head(n)) : null,
      queue: queue ? { id: queue.id ?? newId(), offset: localHeader.length, input: queue } : null,
      trace: plan.trace ?? [],
    };
  }

  const nothingToStore = (plan: DeliveryPlan): boolean => plan.mailboxes.length === 0 && !(plan.queue && plan.queue.recipients.length > 0);
  /** The answer for a plan that stores nothing (as insertDelivery gives it): no transaction needed. */
  const nothingStored = (plan: DeliveryPlan, body: SpooledBody): CommitResult =>
    ({ messages: [], queueId: null, size: (plan.localHeader?.length ?? 0) + (plan.traceHeader?.length ?? 0) + body.size });

  function toResult(outcome: BatchOutcome, size: number): CommitResult {
    return { messages: outcome.copies.map(({ mailboxId, uid, emailId, threadId }) => ({ mailboxId, uid, emailId, threadId })), queueId: outcome.queueId, size };
  }

  async function commitDelivery(plan: DeliveryPlan, body: SpooledBody): Promise<CommitResult> {
    if (nothingToStore(plan)) return nothingStored(plan, body);
    const item = await batchItem(plan, body);
    if (item) return toResult((await changes.deliver([item]))[0]!, item.data.length);
    return changes.write((c, log) => insertDelivery(c, plan, body, log), { lockMailboxes: targetsOf([plan]) });
  }

  /** Stores the deliveries that store something in one group-commit write: all of them, or none. */
  async function storeTogether(taken: { plan: DeliveryPlan; body: SpooledBody }[]): Promise<CommitResult[]> {
    if (taken.length === 0) return [];
    const items = await Promise.all(taken.map((t) => batchItem(t.plan, t.body)));
    if (items.every((i) => i !== null)) {
      const outcomes = await changes.deliver(items as BatchDelivery[]);
      return outcomes.map((o, i) => toResult(o, items[i]!.data.length));
    }
    return changes.write(async (c, log) => {
      const results: CommitResult[] = [];
      for (const t of taken) results.push(await insertDelivery(c, t.plan, t.body, log));
      return results;
    }, { lockMailboxes: targetsOf(taken.map((t) => t.plan)) });
  }

  /** Every delivery in one group-commit write (all are stored, or none); plans that store nothing are answered at once. */
  async function commitDeliveries(batch: { tx: DeliveryTransaction; plan: DeliveryPlan }[]): Promise<CommitResult[]> {
    const taken: { plan: DeliveryPlan; body: SpooledBody; done: () => void }[] = [];
    try {
      for (const { tx, plan } of batch) {
        if (!(tx instanceof SpoolingDeliveryTransaction)) throw new Error('commitDeliveries takes transactions of this store');
        taken.push({ plan, ...tx.takeBody() });
      }
      const stored = await storeTogether(taken.filter((t) => !nothingToStore(t.plan)));
      let next = 0;
      return taken.map((t) => (nothingToStore(t.plan) ? nothingStored(t.plan, t.body) : stored[next++]!));
    } finally {
      for (const t of taken) t.done();
      for (const { tx } of batch) tx.abort();
    }
  }

  return {
    async listMailboxes(accountId) {
      return (await pool.query<MailboxRow>({ name: 'pg-list-mailboxes', text: `${SELECT_MAILBOX} WHERE m.account_id = $1 ORDER BY m.name`, values: [accountId] })).rows.map(toMailbox);
    },
    async getMailbox(accountId, name) {
      const row = (await pool.query<MailboxRow>({ name: 'pg-mailbox-by-name', text: `${SELECT_MAILBOX} WHERE m.account_id = $1 AND m.name = $2`, values: [accountId, name] })).rows[0];
      return row ? toMailbox(row) : null;
    },
    async getMailboxById(id) {
      return mailboxById(pool, id);
    },
    async createMailbox(accountId, name, specialUse) {
      const id = await changes.write(async (c, log) => {
        const created = await createMailbox(c, accountId, name, specialUse ?? null, { subscribe: false });
        log.push({ accountId, mailboxId: created, kind: 'mailbox' });
        return created;
      }, { lockAccounts: [accountId] });
      return (await mailboxById(pool, id))!;
    },
    async deleteMailbox(id) {
      const accountId = await accountOf(pool, id);
      await changes.write(async (c, log) => {
        // The removal of the mailbox and of its emails is recorded at a new account modseq (the triggers read it).
        if (accountId !== 0) await nextAccountSeq(c, accountId);
        if (((await c.query('DELETE FROM mailboxes WHERE id = $1', [id])).rowCount ?? 0) > 0) log.push({ accountId, mailboxId: id, kind: 'mailbox' });
      }, { lockMailboxes: [id] });
    },
    async renameMailbox(accountId, oldName, newName) {
      await changes.write(async (c, log) => {
        const seq = await nextAccountSeq(c, accountId);
        const res = await c.query("UPDATE mailboxes SET name = $1 || substr(name, $2), changed_seq = $5 WHERE account_id = $3 AND (name = $4 OR substr(name, 1, $2) = $4 || '/')", [newName, oldName.length + 1, accountId, oldName, seq]);
        if ((res.rowCount ?? 0) === 0) throw new Error(`mailbox ${oldName} does not exist`);
        log.push({ accountId, mailboxId: 0, kind: 'mailbox' });
      }, { lockAccounts: [accountId] });
    },
    async setSubscribed(accountId, name, subscribed) {
      await changes.write(async (c, log) => {
        const res = subscribed
          ? await c.query('INSERT INTO subscriptions (account_id, name) VALUES ($1, $2) ON CONFLICT DO NOTHING', [accountId, name])
          : await c.query('DELETE FROM subscriptions WHERE account_id = $1 AND name = $2', [accountId, name]);
        // JMAP isSubscribed is this subscription: the mailbox's state changes with it.
        const mailboxId = (await c.query<{ id: number }>('SELECT id FROM mailboxes WHERE account_id = $1 AND name = $2', [accountId, name])).rows[0]?.id;
        if ((res.rowCount ?? 0) > 0 && mailboxId !== undefined) await touchMailbox(c, mailboxId, await nextAccountSeq(c, accountId));
        // Other sessions learn of it (IMAP NOTIFY SubscriptionChange, RFC 5465 §5.5).
        if ((res.rowCount ?? 0) > 0) log.push({ accountId, mailboxId: 0, kind: 'mailbox' });
      }, { lockAccounts: [accountId] });
    },
    async setMailboxSortOrder(accountId, mailboxId, sortOrder) {
      return changes.write(async (c, log) => {
        const res = await c.query('UPDATE mailboxes SET sort_order = $3 WHERE id = $1 AND account_id = $2', [mailboxId, accountId, sortOrder]);
        if ((res.rowCount ?? 0) === 0) return false;
        // The JMAP Mailbox state changes with it; other sessions learn of it.
        await touchMailbox(c, mailboxId, await nextAccountSeq(c, accountId));
        log.push({ accountId, mailboxId: 0, kind: 'mailbox' });
        return true;
      }, { lockAccounts: [accountId] });
    },
    async listSubscriptions(accountId) {
      return (await pool.query<{ name: string }>('SELECT name FROM subscriptions WHERE account_id = $1 ORDER BY name', [accountId])).rows.map((r) => r.name);
    },
    async counts(mailboxId) {
      return (await pool.query<{ messages: number; unseen: number; deleted: number; sizeBytes: number }>({
        name: 'pg-counts',
        text: `SELECT count(*) AS messages,
          count(*) FILTER (WHERE position(' \\seen ' in ' ' || lower(flags) || ' ') = 0) AS unseen,
          count(*) FILTER (WHERE position(' \\deleted ' in ' ' || lower(flags) || ' ') > 0) AS deleted,
          coalesce(sum(size), 0) AS "sizeBytes" FROM messages WHERE mailbox_id = $1`,
        values: [mailboxId],
      })).rows[0]!;
    },
    async accountUsage(accountId) {
      return (await pool.query<{ bytes: number; messages: number }>({
        name: 'pg-usage',
        text: 'SELECT coalesce(sum(msg.size), 0) AS bytes, count(*) AS messages FROM messages msg JOIN mailboxes mb ON mb.id = msg.mailbox_id WHERE mb.account_id = $1',
        values: [accountId],
      })).rows[0]!;
    },
    async listMessages(mailboxId, options = {}) {
      return listMessages(pool, mailboxId, options);
    },
    async listMessageMeta(mailboxId, options) {
      return listMessageMeta(pool, mailboxId, options.uidFrom, options.uidTo);
    },
    async selectState(mailboxId) {
      return selectState(pool, mailboxId);
    },
    async mailboxDelta(mailboxId, sinceModSeq, options) {
      return mailboxDelta(pool, mailboxId, sinceModSeq, options.maxChanges);
    },
    async listMetaColumns(mailboxId, options) {
      return listMetaColumns(pool, mailboxId, options.uidFrom, options.uidTo, options.fields);
    },
    async getMessage(mailboxId, uid) {
      const row = (await pool.query<MessageRow>({ name: 'pg-get-message', text: 'SELECT * FROM messages WHERE mailbox_id = $1 AND uid = $2', values: [mailboxId, uid] })).rows[0];
      return row ? toMessage(row) : null;
    },
    async readMessage(mailboxId, uid, range) {
      const row = await bodyRow(mailboxId, uid);
      const start = Math.max(0, Math.min(range?.start ?? 0, row.size));
      const end = Math.max(start, Math.min(range?.end ?? row.size, row.size));
      return readBlob(pool, row.blob_id, row.blob_size, row.blob_offset + start, row.blob_offset + end);
    },
    async readMessageHeads(mailboxId, range, maxBytes) {
      // From each body's first chunk (a head reaching past it comes back short, and the caller reads it
      // apart): the header up to its blank line when found within maxBytes, else the first maxBytes. A missing
      // or truncated chunk is not read here: the empty head, read apart (where a broken body is refused).
      const rows = (await pool.query<{ uid: number; head: Buffer }>({
        name: 'pg-message-heads',
        text: `SELECT m.uid, coalesce(CASE WHEN octet_length(c.data) <> least(b.size, ${CHUNK_BYTES}) THEN ''::bytea WHEN m.blob_offset = 0 AND position('\\x0d0a0d0a'::bytea in c.data) BETWEEN 1 AND $4::integer - 3
            THEN substring(c.data from 1 for position('\\x0d0a0d0a'::bytea in c.data) + 3)
            ELSE substring(c.data from (m.blob_offset + 1)::integer for least($4::integer, m.size::integer)) END, ''::bytea) AS head
          FROM messages m LEFT JOIN blobs b ON b.id = m.blob_id LEFT JOIN blob_chunks c ON c.blob_id = m.blob_id AND c.seq = 0 WHERE m.mailbox_id = $1 AND m.uid BETWEEN $2 AND $3 ORDER BY m.uid`,
        values: [mailboxId, range.uidFrom, range.uidTo, maxBytes],
      })).rows;
      return { uids: rows.map((r) => Number(r.uid)), heads: rows.map((r) => r.head) };
    },
    async *streamMessage(mailboxId, uid) {
      const row = await bodyRow(mailboxId, uid);
      yield* streamBlob(pool, row.blob_id, row.blob_size, row.blob_offset, row.blob_offset + row.size);
    },
    async storeFlags(mailboxId, uids, op, flags, options = {}) {
      return changes.write(async (c, log) => {
        const changed: MessageRecord[] = [];
        const failedUnchangedSince: number[] = [];
        const rows = (await c.query<MessageRow>('SELECT * FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[]) ORDER BY uid', [mailboxId, uids])).rows;
        const byUid = new Map(rows.map((r) => [r.uid, r]));
        const updates: { uid: number; flags: string }[] = [];
        for (const uid of uids) {
          const row = byUid.get(uid);
          if (!row) continue;
          // RFC 7162 §3.1.3: UNCHANGEDSINCE fails for messages modified after the given modseq.
          if (options.unchangedSince !== undefined && row.mod_seq > options.unchangedSince) {
            failedUnchangedSince.push(uid);
            continue;
          }
          const current = parseFlagText(row.flags);
          const next = applyFlags(current, op, flags);
          if (sameFlags(current, next)) continue;
          updates.push({ uid, flags: next.join(' ') });
          changed.push({ ...toMessage(row), flags: next });
        }
        if (updates.length > 0) {
          const modSeq = await allocateModSeq(c, mailboxId);
          await c.query('UPDATE messages m SET flags = u.flags, mod_seq = $2 FROM unnest($3::bigint[], $4::text[]) AS u(uid, flags) WHERE m.mailbox_id = $1 AND m.uid = u.uid', [mailboxId, modSeq, updates.map((u) => u.uid), updates.map((u) => u.flags)]);
          for (const m of changed) m.modSeq = modSeq;
          log.push({ accountId: await accountOf(c, mailboxId), mailboxId, kind: 'flags', uids: changed.map((m) => m.uid) });
        }
        return { changed, failedUnchangedSince };
      }, { lockMailboxes: [mailboxId] });
    },
    async expunge(mailboxId, uids) {
      return changes.write(async (c, log) => {
        const removed = (await c.query<{ uid: number }>('SELECT uid FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])', [mailboxId, uids])).rows.map((r) => r.uid);
        if (removed.length === 0) return [];
        // The modseq first: the delete trigger stamps the email's change with the account's current one.
        const modSeq = await allocateModSeq(c, mailboxId);
        await c.query('DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])', [mailboxId, removed]);
        await c.query('INSERT INTO expunged (mailbox_id, uid, mod_seq) SELECT $1, uid, $2 FROM unnest($3::bigint[]) AS uid ON CONFLICT (mailbox_id, uid) DO UPDATE SET mod_seq = excluded.mod_seq', [mailboxId, modSeq, removed]);
        const order = new Map(uids.map((u, i) => [u, i]));
        removed.sort((a, b) => order.get(a)! - order.get(b)!);
        log.push({ accountId: await accountOf(c, mailboxId), mailboxId, kind: 'expunge', uids: removed });
        return removed;
      }, { lockMailboxes: [mailboxId] });
    },
    async vanishedSince(mailboxId, sinceModSeq) {
      return (await pool.query<{ uid: number }>('SELECT uid FROM expunged WHERE mailbox_id = $1 AND mod_seq > $2 ORDER BY uid', [mailboxId, sinceModSeq])).rows.map((r) => r.uid);
    },
    async copyMessages(fromMailboxId, uids, toMailboxId, options = {}) {
      return changes.write(async (c, log) => {
        const target = await mailboxById(c, toMailboxId);
        if (!target) throw new Error(`mailbox ${toMailboxId} does not exist`);
        const rows = new Map((await c.query<MessageRow>('SELECT * FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])', [fromMailboxId, uids])).rows.map((r) => [r.uid, r]));
        const pairs: [number, number][] = [];
        for (const uid of uids) {
          const row = rows.get(uid);
          if (!row) continue;
          const { uid: newUid, modSeq } = await allocateUid(c, toMailboxId);
          // A move keeps the email id (RFC 8474 §5.1: EMAILID survives MOVE); a copy is a new email in the same thread.
          const emailId = options.move ? row.email_id : ((await copyEmail(c, row.email_id, modSeq))?.emailId ?? row.email_id);
          await c.query({ ...INSERT_MESSAGE, values: [toMailboxId, newUid, row.blob_id, row.blob_offset, row.size, row.internal_date, row.flags, modSeq, emailId] });
          pairs.push([uid, newUid]);
        }
        if (pairs.length > 0) {
          log.push({ accountId: await accountOf(c, toMailboxId), mailboxId: toMailboxId, kind: 'append', uids: pairs.map((p) => p[1]) });
          if (options.move) {
            const moved = pairs.map((p) => p[0]);
            const sourceModSeq = await allocateModSeq(c, fromMailboxId);
            await c.query('DELETE FROM messages WHERE mailbox_id = $1 AND uid = ANY($2::bigint[])', [fromMailboxId, moved]);
            await c.query('INSERT INTO expunged (mailbox_id, uid, mod_seq) SELECT $1, uid, $2 FROM unnest($3::bigint[]) AS uid ON CONFLICT (mailbox_id, uid) DO UPDATE SET mod_seq = excluded.mod_seq', [fromMailboxId, sourceModSeq, moved]);
            log.push({ accountId: await accountOf(c, fromMailboxId), mailboxId: fromMailboxId, kind: 'expunge', uids: moved });
          }
        }
        return { uidValidity: target.uidValidity, pairs };
      }, { lockMailboxes: [fromMailboxId, toMailboxId] });
    },
    commitDeliveries,
    beginDelivery() {
      return new SpoolingDeliveryTransaction({ tmpDir, commitDelivery });
    },
  };
}
