/**
 * QueueStore on SQLite: one row per queued message (pointing at a shared blob, after any local-only
 * header) and one row per recipient with its state, attempts, next attempt and last result.
 */
import type { Statement } from 'better-sqlite3';
import { newId } from '../../core/ids.ts';
import type { QueueEnqueueInput, QueueMessageRecord, QueueRecipientRecord, QueueRecipientState, QueueRecipientUpdate, QueueStore } from '../types.ts';
import { LocalLeases } from '../local-leases.ts';
import type { BlobTable } from './blobs.ts';
import type { SqliteChangeFeed } from './change-feed.ts';
import type { SqliteDatabase } from './database.ts';

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
  hold_until: number | null;
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

function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1).toLowerCase();
}

export class QueueTable {
  private readonly q;

  constructor(db: SqliteDatabase) {
    this.q = {
      insertMessage: db.prepare('INSERT INTO queue_messages (id, blob_id, blob_offset, size, sender, envid, ret, origin, submitter, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)'),
      insertRecipient: db.prepare('INSERT INTO queue_recipients (queue_id, address, domain, orcpt, notify, state, next_attempt_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)'),
      hold: db.prepare('UPDATE queue_messages SET hold_until = ? WHERE id = ?'),
    };
  }

  /** Inside a write transaction: adds the queue entry for a stored blob; returns the queue id. */
  insert(blobId: number, blobOffset: number, size: number, input: QueueEnqueueInput): string {
    const id = input.id ?? newId();
    const now = Date.now();
    this.q.insertMessage.run(id, blobId, blobOffset, size, input.sender, input.envid ?? null, input.ret ?? null, input.origin ?? 'smtp', input.submitter ?? null, now);
    // RFC 4865 §3: a held message's recipients are due at its release time, not before.
    const due = input.holdUntil ? Math.max(now, input.holdUntil.getTime()) : now;
    for (const r of input.recipients) {
      this.q.insertRecipient.run(id, r.address, domainOf(r.address), r.orcpt ?? null, r.notify ? r.notify.join(',') : null, 'queued', due, now);
    }
    // Only delayed sends write the column: the statement every accepted message runs stays as it was.
    if (input.holdUntil) this.q.hold.run(due, id);
    return id;
  }
}

export function sqliteQueueStore(deps: { db: SqliteDatabase; changes: SqliteChangeFeed; blobs: BlobTable; queue: QueueTable }): QueueStore {
  const { db, changes, blobs, queue } = deps;
  const q = {
    listMessages: db.prepare('SELECT * FROM queue_messages ORDER BY created_at, id'),
    getMessage: db.prepare('SELECT * FROM queue_messages WHERE id = ?'),
    recipientsOf: db.prepare('SELECT * FROM queue_recipients WHERE queue_id = ? ORDER BY id'),
    allRecipients: db.prepare('SELECT * FROM queue_recipients ORDER BY queue_id, id'),
    due: db.prepare("SELECT * FROM queue_recipients INDEXED BY queue_recipients_due_order WHERE state IN ('queued', 'deferred') AND next_attempt_at <= ? AND id NOT IN (SELECT value FROM json_each(?)) ORDER BY next_attempt_at, id LIMIT ?"),
    nextDue: db.prepare("SELECT min(next_attempt_at) AS t FROM queue_recipients WHERE state IN ('queued', 'deferred') AND id NOT IN (SELECT value FROM json_each(?))"),
    deleteMessage: db.prepare('DELETE FROM queue_messages WHERE id = ?'),
    deleteFinished: db.prepare("DELETE FROM queue_messages WHERE id = @id AND NOT EXISTS (SELECT 1 FROM queue_recipients WHERE queue_id = @id AND state NOT IN ('delivered', 'bounced'))"),
    // Not once any recipient may have been claimed (due, attempted, or released early by an admin's retry).
    cancelHeld: db.prepare(`DELETE FROM queue_messages WHERE id = @id AND hold_until > @now AND NOT EXISTS (SELECT 1 FROM queue_recipients r WHERE r.queue_id = @id
      AND (r.attempts > 0 OR r.state NOT IN ('queued', 'held') OR (r.state = 'queued' AND r.next_attempt_at <= @now)))`),
    stats: db.prepare("SELECT (SELECT count(*) FROM queue_messages) AS messages, (SELECT min(created_at) FROM queue_messages) AS oldest, (SELECT count(*) FROM queue_recipients WHERE state IN ('queued', 'deferred', 'held')) AS pending"),
  };
  // One node serves a SQLite store, so its leases live in memory (see local-leases.ts).
  const leases = new LocalLeases();

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
      holdUntil: row.hold_until === null ? null : new Date(row.hold_until),
      recipients,
    };
  }

  /** One prepared UPDATE per shape of update (which columns it sets), made once. */
  const updateStatements = new Map<string, Statement<unknown[]>>();

  /** Inside a write transaction: records the results and ends this node's leases on the recipients. */
  function applyUpdates(updates: QueueRecipientUpdate[]): void {
    const now = Date.now();
    for (const u of updates) {
      const keepHeld = u.keepHeld === true && (u.state === 'queued' || u.state === 'deferred');
      const shape = `${keepHeld ? 'k' : ''}${u.attempts !== undefined ? 'a' : ''}${u.nextAttemptAt !== undefined ? 'n' : ''}${u.lastResult !== undefined ? 'r' : ''}${u.retryRequestedAt !== undefined ? 'q' : ''}`;
      let statement = updateStatements.get(shape);
      if (!statement) {
        const sets = keepHeld ? ["state = CASE state WHEN 'held' THEN 'held' ELSE ? END", 'updated_at = ?'] : ['state = ?', 'updated_at = ?'];
        if (u.attempts !== undefined) sets.push('attempts = ?');
        if (u.nextAttemptAt !== undefined) sets.push(keepHeld ? "next_attempt_at = CASE state WHEN 'held' THEN next_attempt_at ELSE ? END" : 'next_attempt_at = ?');
        if (u.lastResult !== undefined) sets.push('last_result = ?');
        if (u.retryRequestedAt !== undefined) sets.push('retry_requested_at = ?');
        statement = db.prepare(`UPDATE queue_recipients SET ${sets.join(', ')} WHERE id = ?`);
        updateStatements.set(shape, statement);
      }
      const values: unknown[] = [u.state, now];
      if (u.attempts !== undefined) values.push(u.attempts);
      if (u.nextAttemptAt !== undefined) values.push(u.nextAttemptAt.getTime());
      if (u.lastResult !== undefined) values.push(u.lastResult);
      if (u.retryRequestedAt !== undefined) values.push(u.retryRequestedAt.getTime());
      statement.run(...values, u.id);
      leases.release(u.id, u.leaseOwner);
    }
  }

  /** Inside a write transaction: stores a body and queues it. */
  function insertMessage(input: QueueEnqueueInput, body: Buffer): string {
    const blobId = blobs.insert([], { size: body.length, forEachChunk: (emit) => emit(body) });
    return queue.insert(blobId, 0, body.length, input);
  }

  function messageRow(id: string): MessageRow {
    const row = q.getMessage.get(id) as MessageRow | undefined;
    if (!row) throw new Error(`queue message ${id} does not exist`);
    return row;
  }

  return {
    async queueStats() {
      const row = q.stats.get() as { messages: number; oldest: number | null; pending: number };
      return { messages: Number(row.messages), pendingRecipients: Number(row.pending), oldestCreatedAt: row.oldest === null ? null : new Date(Number(row.oldest)) };
    },
    async listQueue() {
      const byQueue = new Map<string, QueueRecipientRecord[]>();
      for (const r of q.allRecipients.all() as RecipientRow[]) {
        const list = byQueue.get(r.queue_id) ?? [];
        list.push(toRecipient(r));
        byQueue.set(r.queue_id, list);
      }
      return (q.listMessages.all() as MessageRow[]).map((m) => toMessage(m, byQueue.get(m.id) ?? []));
    },
    async getQueueMessage(id) {
      const row = q.getMessage.get(id) as MessageRow | undefined;
      if (!row) return null;
      return toMessage(row, (q.recipientsOf.all(id) as RecipientRow[]).map(toRecipient));
    },
    queueBodySource() {
      return db.memory ? null : { backend: 'sqlite', path: db.name };
    },
    async readQueueMessage(id) {
      const row = messageRow(id);
      return blobs.read(row.blob_id, row.blob_offset, row.blob_offset + row.size);
    },
    streamQueueMessage(id) {
      const row = messageRow(id);
      return blobs.stream(row.blob_id, row.blob_offset, row.blob_offset + row.size);
    },
    async dueRecipients(now, limit, options = {}) {
      return (q.due.all(now.getTime(), JSON.stringify(options.excludeIds ?? []), limit) as RecipientRow[]).map(toRecipient);
    },
    async claimRecipients(now, limit, lease) {
      const rows = (q.due.all(now.getTime(), JSON.stringify(leases.liveIds(now.getTime())), limit) as RecipientRow[]).map(toRecipient);
      leases.take(rows.map((r) => r.id), lease);
      return rows;
    },
    async renewLeases(ids, lease) {
      return leases.renew(ids, lease);
    },
    async nextDueAt() {
      const now = Date.now();
      const t = (q.nextDue.get(JSON.stringify(leases.liveIds(now))) as { t: number | null }).t;
      const expiry = leases.earliestExpiry(now);
      const first = t === null ? expiry : expiry === null ? t : Math.min(t, expiry);
      return first === null ? null : new Date(first);
    },
    // Both re-runnable (they share a batch with deliveries without a savepoint): besides their SQL they only
    // end leases, which a second run ends again.
    async updateRecipients(updates) {
      if (updates.length === 0) return;
      await changes.write((log) => {
        applyUpdates(updates);
        log.push({ kind: 'queue' });
      }, { rerunnable: true });
    },
    async recordAttempt(attempt) {
      return changes.write((log) => {
        applyUpdates(attempt.updates);
        const enqueued = (attempt.enqueue ?? []).map((m) => insertMessage(m.input, m.body));
        const removed = q.deleteFinished.run({ id: attempt.queueId }).changes > 0;
        log.push({ kind: 'queue' });
        return { enqueued, removed };
      }, { rerunnable: true });
    },
    async deleteQueueMessage(id) {
      return changes.write((log) => {
        if (q.deleteMessage.run(id).changes === 0) return false;
        log.push({ kind: 'queue' });
        return true;
      });
    },
    async cancelHeldMessage(id, now) {
      return changes.write((log) => {
        if (q.cancelHeld.run({ id, now: now.getTime() }).changes === 0) return false;
        log.push({ kind: 'queue' });
        return true;
      });
    },
    async enqueue(input, body) {
      return changes.write((log) => {
        log.push({ kind: 'queue' });
        return insertMessage(input, body);
      });
    },
  };
}
