/**
 * The message trace on SQLite: one row per event, written through the group commit (with the message
 * itself for the events of its acceptance, see mail.ts), searched by queue id, Message-ID, sender,
 * recipient, result and time.
 */
import type { TraceEventInput, TraceEventKind, TraceStore } from '../types.ts';
import { expandAcceptance, toTraceRecord, traceSearchSql, traceValues, type TraceRow } from '../trace-query.ts';
import type { GroupCommit } from './group-commit.ts';
import type { SqliteDatabase } from './database.ts';

/** The insert of trace rows, for the writers that add them to a transaction of their own (deliveries). */
export class TraceTable {
  private readonly insert;
  constructor(db: SqliteDatabase) {
    this.insert = db.prepare('INSERT INTO message_trace (at, queue_id, event, result, reason, message_id, sender, recipients, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  }
  add(events: readonly TraceEventInput[]): void {
    for (const e of events) this.insert.run(...traceValues(e));
  }
}

export function sqliteTraceStore(deps: { db: SqliteDatabase; commits: GroupCommit; table: TraceTable }): TraceStore {
  const { db, commits, table } = deps;
  const q = {
    counts: db.prepare('SELECT event, result, reason, count(*) AS count FROM message_trace WHERE at >= ? GROUP BY event, result, reason'),
    prune: db.prepare('DELETE FROM message_trace WHERE id IN (SELECT id FROM message_trace WHERE at < ? ORDER BY at LIMIT ?)'),
  };
  return {
    async appendTrace(events) {
      if (events.length > 0) await commits.run(() => table.add(events));
    },
    async searchTrace(query) {
      const { text, values } = traceSearchSql(query, 'sqlite');
      const ids = db.prepare(text).pluck().all(...values) as string[];
      if (ids.length === 0) return [];
      const rows = db.prepare(`SELECT * FROM message_trace WHERE queue_id IN (${ids.map(() => '?').join(',')}) ORDER BY at, id`).all(...ids) as TraceRow[];
      const order = new Map(ids.map((id, i) => [id, i]));
      return rows.map(toTraceRecord).flatMap(expandAcceptance).sort((a, b) => order.get(a.queueId)! - order.get(b.queueId)! || a.at.getTime() - b.at.getTime() || a.id - b.id);
    },
    async traceCounts(since) {
      return (q.counts.all(since.getTime()) as { event: TraceEventKind; result: string; reason: string | null; count: number }[]).map((r) => ({ ...r, count: Number(r.count) }));
    },
    async pruneTrace(before, limit) {
      return commits.run(() => q.prune.run(before.getTime(), limit).changes);
    },
  };
}
