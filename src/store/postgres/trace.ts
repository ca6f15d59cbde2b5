/**
 * The message trace on PostgreSQL: one row per event, added in the group commit (with the message itself
 * for the events of its acceptance, see mail.ts), searched like SQLite's (store/trace-query.ts).
 */
import type pg from 'pg';
import type { TraceEventInput, TraceEventKind, TraceStore } from '../types.ts';
import { expandAcceptance, toTraceRecord, traceSearchSql, traceValues, type TraceRow } from '../trace-query.ts';
import type { PgChangeFeed } from './change-feed.ts';

/** The events as the nine columns of message_trace, one array each (unnest's and the batch statement's input). */
export function traceColumns(events: readonly TraceEventInput[]): (string | number | null)[][] {
  const columns: (string | number | null)[][] = Array.from({ length: 9 }, () => []);
  for (const e of events) traceValues(e).forEach((v, i) => columns[i]!.push(v));
  return columns;
}

/** Adds trace rows in one statement, inside the caller's transaction. */
export async function insertTrace(c: pg.PoolClient, events: readonly TraceEventInput[]): Promise<void> {
  if (events.length === 0) return;
  const columns = traceColumns(events);
  await c.query({
    name: 'pg-insert-trace',
    text: `INSERT INTO message_trace (at, queue_id, event, result, reason, message_id, sender, recipients, data)
      SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[], $9::text[])`,
    values: columns,
  });
}

export function pgTraceStore(deps: { pool: pg.Pool; changes: PgChangeFeed }): TraceStore {
  const { pool, changes } = deps;
  return {
    async appendTrace(events) {
      if (events.length > 0) await changes.write((c) => insertTrace(c, events));
    },
    async searchTrace(query) {
      const { text, values } = traceSearchSql(query, 'postgres');
      const ids = (await pool.query<{ queue_id: string }>(text, values)).rows.map((r) => r.queue_id);
      if (ids.length === 0) return [];
      const rows = (await pool.query<TraceRow>('SELECT * FROM message_trace WHERE queue_id = ANY($1::text[]) ORDER BY at, id', [ids])).rows;
      const order = new Map(ids.map((id, i) => [id, i]));
      return rows.map(toTraceRecord).flatMap(expandAcceptance).sort((a, b) => order.get(a.queueId)! - order.get(b.queueId)! || a.at.getTime() - b.at.getTime() || a.id - b.id);
    },
    async traceCounts(since) {
      const rows = (await pool.query<{ event: TraceEventKind; result: string; reason: string | null; count: string }>(
        'SELECT event, result, reason, count(*) AS count FROM message_trace WHERE at >= $1 GROUP BY event, result, reason', [since.getTime()],
      )).rows;
      return rows.map((r) => ({ ...r, count: Number(r.count) }));
    },
    async pruneTrace(before, limit) {
      return changes.write(async (c) => (await c.query('DELETE FROM message_trace WHERE id IN (SELECT id FROM message_trace WHERE at < $1 ORDER BY at LIMIT $2)', [before.getTime(), limit])).rowCount ?? 0);
    },
  };
}
