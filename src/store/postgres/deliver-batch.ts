/**
 * A batch of deliveries as one statement (postamt_deliver_batch, migration 16): the whole transaction in
 * one round trip, so the group commit's cost per batch no longer grows with round trips per message.
 * Deliveries whose body is at most one chunk qualify (nearly all mail); others take the general path.
 */
import type pg from 'pg';
import type { QueueEnqueueInput, StoreChange, TraceEventInput } from '../types.ts';
import type { MessageIndexFields } from '../../message/thread-keys.ts';
import { SUBJECT_THREAD_WINDOW_MS, threadingKeys } from './emails.ts';
import { queueEntryValues } from './queue.ts';
import { traceColumns } from './trace.ts';

/** NOTIFY payloads must stay under 8,000 bytes; longer change lists are read from the log (change-feed.ts). */
export const MAX_INLINE_BYTES = 7000;

/** One delivery: its whole stored body (at most one chunk), its mailbox copies, its queue entry, its trace. */
export interface BatchDelivery {
  data: Buffer;
  targets: { mailboxId: number; flags: string; internalDate: number }[];
  oneEmail: boolean;
  /** Threading and index fields, when there are mailbox copies. */
  fields: MessageIndexFields | null;
  /** The queue entry (its id already chosen) and where the queued message starts in `data`. */
  queue: { id: string; offset: number; input: QueueEnqueueInput } | null;
  trace: readonly TraceEventInput[];
}

export interface BatchCopy {
  mailboxId: number;
  uid: number;
  accountId: number;
  emailId: number;
  threadId: number;
}

export interface BatchOutcome {
  copies: BatchCopy[];
  queueId: string | null;
  /** What the delivery changed, as the feed carries it. */
  changes: StoreChange[];
}

interface Row {
  r_item: number;
  r_mailbox: number | null;
  r_uid: number | null;
  r_account: number | null;
  r_email: number | null;
  r_thread: number | null;
  r_queue: string | null;
}

function itemJson(d: BatchDelivery): Record<string, unknown> {
  const item: Record<string, unknown> = {
    size: d.data.length,
    oneEmail: d.oneEmail,
    targets: d.targets.map((t) => ({ mailbox: t.mailboxId, flags: t.flags, date: t.internalDate })),
  };
  if (d.fields) Object.assign(item, threadingKeys(d.fields));
  if (d.queue) item.queue = { id: d.queue.id, offset: d.queue.offset, ...queueEntryValues(d.queue.input) };
  return item;
}

/**
 * Runs the deliveries in one statement, sent outside a transaction: it is one (it commits when it returns)
 * and logs its changes on the feed as written by `origin`.
 */
export async function deliverBatch(client: pg.PoolClient, deliveries: readonly BatchDelivery[], origin: string): Promise<BatchOutcome[]> {
  const trace = traceColumns(deliveries.flatMap((d) => d.trace));
  const rows = (await client.query<Row>({
    name: 'pg-deliver-batch',
    text: `SELECT r_item, r_mailbox, r_uid, r_account, r_email, r_thread, r_queue FROM postamt_deliver_batch($1::jsonb, $2::bytea,
      $3::bigint[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12, $13, $14, $15)`,
    values: [JSON.stringify(deliveries.map(itemJson)), deliveries.length === 1 ? deliveries[0]!.data : Buffer.concat(deliveries.map((d) => d.data)),
      ...trace, origin, Date.now(), SUBJECT_THREAD_WINDOW_MS, MAX_INLINE_BYTES],
  })).rows;
  const out: BatchOutcome[] = deliveries.map(() => ({ copies: [], queueId: null, changes: [] }));
  for (const r of rows) {
    const o = out[r.r_item]!;
    if (r.r_queue !== null) {
      o.queueId = r.r_queue;
      o.changes.push({ kind: 'queue' });
    } else {
      o.copies.push({ mailboxId: r.r_mailbox!, uid: r.r_uid!, accountId: r.r_account!, emailId: r.r_email!, threadId: r.r_thread! });
      o.changes.push({ accountId: r.r_account!, mailboxId: r.r_mailbox!, kind: 'append', uids: [r.r_uid!] });
    }
  }
  return out;
}
