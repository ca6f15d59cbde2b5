/**
 * QueueStore on PostgreSQL: one row per queued message (pointing at a shared blob, after any local-only
 * header) and one row per recipient with its state, attempts, next attempt and last result.
 */
import type pg from 'pg';
import { newId } from '../../core/ids.ts';
import type { QueueEnqueueInput, QueueMessageRecord, QueueRecipientRecord, QueueRecipientState, QueueRecipientUpdate, QueueStore } from '../types.ts';
import { insertBlob, readBlob, streamBlob } from './blobs.ts';
import type { PgChangeFeed } from './change-feed.ts';

interface RecipientRow {
  id: number;
  queue_id: string;
  address: string;
  domain: string;
  orcpt: string | null;
  notify: string | null;
  state: string;
  attempts: number;
  next_attempt_at: number;
  last_result: string | null;
  updated_at: number;
  retry_requested_at: number | string | null;
  lease_owner?: string | null;
  lease_until?: number | null;
}

interface MessageRow {
  id: string;
  blob_id: number;
  blob_offset: number;
  size: number;
  sender: string;
  envid: string | null;
  ret: string | null;
  origin: string;
  submitter: string | null;
  created_at: number;
  hold_until: number | string | null;
}

function toRecipient(row: RecipientRow): QueueRecipientRecord {
  return {
    id: row.id,
    queueId: row.queue_id,
    address: row.address,
    domain: row.domain,
    orcpt: row.orcpt,
    notify: row.notify ? row.notify.split(',') : null,
    state: row.state as QueueRecipientState,
    attempts: row.attempts,
    nextAttemptAt: new Date(row.next_attempt_at),
    lastResult: row.last_result,
    updatedAt: new Date(row.updated_at),
    retryRequestedAt: row.retry_requested_at === null ? null : new Date(Number(row.retry_requested_at)),
  };
}

function toMessage(row: MessageRow, recipients: QueueRecipientRecord[]): QueueMessageRecord {
  return {
    id: row.id,
    sender: row.sender,
    envid: row.envid,
    ret: row.ret as 'FULL' | 'HDRS' | null,
    origin: row.origin,
    submitter: row.submitter,
    size: row.size,
    createdAt: new Date(row.created_at),
    holdUntil: row.hold_until === null ? null : new Date(Number(row.hold_until)),
    recipients,
  };
}

/** The domain part of a recipient, lower-cased: the queue groups recipients by it. */
export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

/** An entry's columns as stored, defaults applied: shared by this insert and the batch statement (deliver-batch.ts). */
export function queueEntryValues(input: QueueEnqueueInput): {
  sender: string;
  envid: string | null;
  ret: string | null;
  origin: string;
  submitter: string | null;
  recipients: { address: string; domain: string; orcpt: string | null; notify: string | null }[];
} {
  return {
    sender: input.sender, envid: input.envid ?? null, ret: input.ret ?? null, origin: input.origin ?? 'smtp', submitter: input.submitter ?? null,
    recipients: input.recipients.map((r) => ({ address: r.address, domain: domainOf(r.address), orcpt: r.orcpt ?? null, notify: r.notify ? r.notify.join(',') : null })),
  };
}

/** Inside a write transaction: adds the queue entry for a stored blob (one round trip); returns the queue id. */
export async function insertQueueEntry(c: pg.PoolClient, blobId: number, blobOffset: number, size: number, input: QueueEnqueueInput): Promise<string> {
  const id = input.id ?? newId();
  const now = Date.now();
  const v = queueEntryValues(input);
  const rs = v.recipients;
  await c.query({
    name: 'pg-insert-queue-entry',
    text: `WITH m AS (INSERT INTO queue_messages (id, blob_id, blob_offset, size, sender, envid, ret, origin, submitter, created_at)
        VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) RETURNING id)
      INSERT INTO queue_recipients (queue_id, address, domain, orcpt, notify, state, next_attempt_at, updated_at)
        SELECT m.id, r.address, r.domain, r.orcpt, r.notify, 'queued', $10, $10
        FROM m, unnest($11::text[], $12::text[], $13::text[], $14::text[]) WITH ORDINALITY AS r(address, domain, orcpt, notify, n) ORDER BY r.n`,
    values: [id, blobId, blobOffset, size, v.sender, v.envid, v.ret, v.origin, v.submitter, now,
      rs.map((r) => r.address), rs.map((r) => r.domain), rs.map((r) => r.orcpt), rs.map((r) => r.notify)],
  });
  // RFC 4865 §3: a held message's recipients are due at its release time. Only delayed sends pay for this
  // second statement; the one every accepted message runs stays as it was.
  if (input.holdUntil) {
    const due = Math.max(now, input.holdUntil.getTime());
    await c.query('WITH m AS (UPDATE queue_messages SET hold_until = $2 WHERE id = $1) UPDATE queue_recipients SET next_attempt_at = $2 WHERE queue_id = $1', [id, due]);
  }
  return id;
}

/** Inside a write transaction: records the results and ends the recording node's leases on the recipients. */
async function applyUpdates(c: pg.PoolClient, updates: QueueRecipientUpdate[]): Promise<void> {
  const now = Date.now();
  for (const u of updates) {
    const keepHeld = u.keepHeld === true && (u.state === 'queued' || u.state === 'deferred');
    const values: unknown[] = [u.state, now];
    const sets = keepHeld ? ["state = CASE state WHEN 'held' THEN 'held' ELSE $1 END", 'updated_at = $2'] : ['state = $1', 'updated_at = $2'];
    if (u.attempts !== undefined) {
      values.push(u.attempts);
      sets.push(`attempts = $${values.length}`);
    }
    if (u.nextAttemptAt !== undefined) {
      values.push(u.nextAttemptAt.getTime());
      sets.push(keepHeld ? `next_attempt_at = CASE state WHEN 'held' THEN next_attempt_at ELSE $${values.length}::bigint END` : `next_attempt_at = $${values.length}`);
    }
    if (u.lastResult !== undefined) {
      values.push(u.lastResult);
      sets.push(`last_result = $${values.length}`);
    }
    if (u.retryRequestedAt !== undefined) {
      values.push(u.retryRequestedAt.getTime());
      sets.push(`retry_requested_at = $${values.length}`);
    }
    if (u.leaseOwner !== undefined) {
      values.push(u.leaseOwner);
      const k = `$${values.length}::text`;
      sets.push(`lease_owner = CASE WHEN lease_owner = ${k} THEN NULL ELSE lease_owner END`, `lease_until = CASE WHEN lease_owner = ${k} THEN NULL ELSE lease_until END`);
    }
    values.push(u.id);
    await c.query(`UPDATE queue_recipients SET ${sets.join(', ')} WHERE id = $${values.length}`, values);
  }
}

export function pgQueueStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): QueueStore {
  const { pool, changes } = deps;

  async function messageRow(id: string): Promise<MessageRow & { blob_size: number }> {
    const row = (await pool.query<MessageRow & { blob_size: number }>('SELECT q.*, b.size AS blob_size FROM queue_messages q JOIN blobs b ON b.id = q.blob_id WHERE q.id = $1', [id])).rows[0];
    if (!row) throw new Error(`queue message ${id} does not exist`);
    return row;
  }

  return {
    async queueStats() {
      const row = (await pool.query<{ messages: string; oldest: string | null; pending: string }>(
        "SELECT (SELECT count(*) FROM queue_messages) AS messages, (SELECT min(created_at) FROM queue_messages) AS oldest, (SELECT count(*) FROM queue_recipients WHERE state IN ('queued', 'deferred', 'held')) AS pending",
      )).rows[0]!;
      return { messages: Number(row.messages), pendingRecipients: Number(row.pending), oldestCreatedAt: row.oldest === null ? null : new Date(Number(row.oldest)) };
    },
    async listQueue() {
      const byQueue = new Map<string, QueueRecipientRecord[]>();
      for (const r of (await pool.query<RecipientRow>('SELECT * FROM queue_recipients ORDER BY queue_id, id')).rows) {
        const list = byQueue.get(r.queue_id) ?? [];
        list.push(toRecipient(r));
        byQueue.set(r.queue_id, list);
      }
      return (await pool.query<MessageRow>('SELECT * FROM queue_messages ORDER BY created_at, id')).rows.map((m) => toMessage(m, byQueue.get(m.id) ?? []));
    },
    async getQueueMessage(id) {
      const row = (await pool.query<MessageRow>('SELECT * FROM queue_messages WHERE id = $1', [id])).rows[0];
      if (!row) return null;
      return toMessage(row, (await pool.query<RecipientRow>('SELECT * FROM queue_recipients WHERE queue_id = $1 ORDER BY id', [id])).rows.map(toRecipient));
    },
    async readQueueMessage(id) {
      const row = await messageRow(id);
      return readBlob(pool, row.blob_id, row.blob_size, row.blob_offset, row.blob_offset + row.size);
    },
    async *streamQueueMessage(id) {
      const row = await messageRow(id);
      yield* streamBlob(pool, row.blob_id, row.blob_size, row.blob_offset, row.blob_offset + row.size);
    },
    async dueRecipients(now, limit, options = {}) {
      const rows = (await pool.query<RecipientRow>({
        name: 'pg-due',
        text: "SELECT * FROM queue_recipients WHERE state IN ('queued', 'deferred') AND next_attempt_at <= $1 AND id <> ALL($2::bigint[]) ORDER BY next_attempt_at, id LIMIT $3",
        values: [now.getTime(), options.excludeIds ?? [], limit],
      })).rows;
      return rows.map(toRecipient);
    },
    async claimRecipients(now, limit, lease) {
      // One statement: the due rows no live lease covers are locked (SKIP LOCKED: rows another node is
      // claiming right now are passed over, not waited for) and leased. Autocommit: a claim lost in a
      // crash only makes the recipients claimable again.
      const rows = (await pool.query<RecipientRow>({
        name: 'pg-claim',
        text: `UPDATE queue_recipients r SET lease_owner = $1, lease_until = $2
          FROM (SELECT id FROM queue_recipients WHERE state IN ('queued', 'deferred') AND next_attempt_at <= $3
                  AND (lease_until IS NULL OR lease_until <= $3)
                ORDER BY next_attempt_at, id LIMIT $4 FOR UPDATE SKIP LOCKED) d
          WHERE r.id = d.id RETURNING r.*`,
        values: [lease.owner, lease.until.getTime(), now.getTime(), limit],
      })).rows;
      return rows.sort((a, b) => a.next_attempt_at - b.next_attempt_at || a.id - b.id).map(toRecipient);
    },
    async renewLeases(ids, lease) {
      if (ids.length === 0) return [];
      return (await pool.query<{ id: number }>({
        name: 'pg-renew-leases',
        text: 'UPDATE queue_recipients SET lease_until = $2 WHERE id = ANY($3::bigint[]) AND lease_owner = $1 RETURNING id',
        values: [lease.owner, lease.until.getTime(), ids],
      })).rows.map((r) => r.id);
    },
    async nextDueAt() {
      const t = (await pool.query<{ t: number | null }>("SELECT min(CASE WHEN lease_until IS NULL THEN next_attempt_at ELSE greatest(next_attempt_at, lease_until) END) AS t FROM queue_recipients WHERE state IN ('queued', 'deferred')")).rows[0]!.t;
      return t === null ? null : new Date(t);
    },
    async updateRecipients(updates) {
      if (updates.length === 0) return;
      await changes.write(async (c, log) => {
        await applyUpdates(c, updates);
        log.push({ kind: 'queue' });
      });
    },
    async recordAttempt(attempt) {
      // The message row is locked with the batch's other locks, before any write and in id order (so two
      // nodes recording attempts on the same messages never wait on each other in a cycle): two nodes
      // recording the last results of one message one after the other, each then sees the other's
      // committed results, so the one that comes second removes it.
      return changes.write(async (c, log) => {
        await applyUpdates(c, attempt.updates);
        const enqueued: string[] = [];
        for (const m of attempt.enqueue ?? []) enqueued.push(await insertQueueEntry(c, await insertBlob(c, [], { data: m.body }), 0, m.body.length, m.input));
        const removed = ((await c.query({
          name: 'pg-delete-finished',
          text: "DELETE FROM queue_messages WHERE id = $1 AND NOT EXISTS (SELECT 1 FROM queue_recipients WHERE queue_id = $1 AND state NOT IN ('delivered', 'bounced'))",
          values: [attempt.queueId],
        })).rowCount ?? 0) > 0;
        log.push({ kind: 'queue' });
        return { enqueued, removed };
      }, { lockQueueMessages: [attempt.queueId] });
    },
    async deleteQueueMessage(id) {
      return changes.write(async (c, log) => {
        if (((await c.query('DELETE FROM queue_messages WHERE id = $1', [id])).rowCount ?? 0) === 0) return false;
        log.push({ kind: 'queue' });
        return true;
      }, { lockQueueMessages: [id] });
    },
    async cancelHeldMessage(id, now) {
      // Not once any recipient may have been claimed (due, attempted, leased, or released early by an admin's retry).
      return changes.write(async (c, log) => {
        if (((await c.query(`DELETE FROM queue_messages WHERE id = $1 AND hold_until > $2 AND NOT EXISTS (SELECT 1 FROM queue_recipients r WHERE r.queue_id = $1
          AND (r.attempts > 0 OR r.state NOT IN ('queued', 'held') OR (r.state = 'queued' AND r.next_attempt_at <= $2) OR r.lease_until > $2))`, [id, now.getTime()])).rowCount ?? 0) === 0) return false;
        log.push({ kind: 'queue' });
        return true;
      }, { lockQueueMessages: [id] });
    },
    async enqueue(input, body) {
      return changes.write(async (c, log) => {
        const blobId = await insertBlob(c, [], { data: body });
        log.push({ kind: 'queue' });
        return insertQueueEntry(c, blobId, 0, body.length, input);
      });
    },
  };
}
