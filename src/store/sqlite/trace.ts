/**
 * The message trace on SQLite: one row per event, searched by queue id, Message-ID, sender, recipient,
 * result and time. Rows are written with the message they describe (through the group commit, see
 * mail.ts) into an unindexed staging table, so a delivery's transaction appends to one page instead of
 * touching five B-trees; every second, and before any read, the staged rows move into the indexed table
 * in one transaction, which writes each index page once for the whole batch. Staged rows are as durable as
 * the message: a crash only delays their move.
 */
import type { TraceEventInput, TraceEventKind, TraceStore } from '../types.ts';
import { expandAcceptance, toTraceRecord, traceSearchSql, traceValues, type TraceRow } from '../trace-query.ts';
import type { GroupCommit } from './group-commit.ts';
import type { SqliteDatabase } from './database.ts';

/** How long staged rows wait before they move into the indexed table (reads move them at once). */
const MERGE_DELAY_MS = 250;
/** Rows moved in one write at most: a move shares the group commit with deliveries and must stay short. */
const MOVE_BATCH_ROWS = 500;

const COLUMNS = 'at, queue_id, event, result, reason, message_id, sender, recipients, data';

/** The writes of trace rows, for the writers that add them to a transaction of their own (deliveries). */
export class TraceTable {
  private readonly insert;
  private readonly moveStaged;
  private readonly dropStaged;
  private readonly lastStaged;
  /** Called when rows were staged, so that a move is scheduled. */
  onStaged: () => void = () => undefined;

  constructor(db: SqliteDatabase) {
    this.insert = db.prepare(`INSERT INTO message_trace_staged (${COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`);
    this.lastStaged = db.prepare(`SELECT max(id) FROM (SELECT id FROM message_trace_staged ORDER BY id LIMIT ${MOVE_BATCH_ROWS})`).pluck();
    this.moveStaged = db.prepare(`INSERT INTO message_trace (${COLUMNS}) SELECT ${COLUMNS} FROM message_trace_staged WHERE id <= ? ORDER BY id`);
    this.dropStaged = db.prepare('DELETE FROM message_trace_staged WHERE id <= ?');
  }

  add(events: readonly TraceEventInput[]): void {
    if (events.length === 0) return;
    for (const e of events) this.insert.run(...traceValues(e));
    this.onStaged();
  }

  /** Moves up to MOVE_BATCH_ROWS staged rows into the indexed table, oldest first, inside a write transaction. */
  moveToIndexed(): number {
    const last = this.lastStaged.get() as number | null;
    if (last === null) return 0;
    const moved = this.moveStaged.run(last).changes;
    this.dropStaged.run(last);
    return moved;
  }
}

/** Moves staged rows on a database opened outside the store (before a copy of the whole store). */
export function moveStagedTrace(db: SqliteDatabase): number {
  const table = new TraceTable(db);
  const move = db.transaction(() => table.moveToIndexed());
  let total = 0;
  for (let n = move.immediate(); n > 0; n = move.immediate()) total += n;
  return total;
}

export function sqliteTraceStore(deps: { db: SqliteDatabase; commits: GroupCommit; table: TraceTable }): TraceStore & { closeTrace(): Promise<void> } {
  const { db, commits, table } = deps;
  const q = {
    counts: db.prepare('SELECT event, result, reason, count(*) AS count FROM message_trace WHERE at >= ? GROUP BY event, result, reason'),
    prune: db.prepare('DELETE FROM message_trace WHERE id IN (SELECT id FROM message_trace WHERE at < ? ORDER BY at LIMIT ?)'),
  };
  let timer: NodeJS.Timeout | null = null;
  let closed = false;
  // Staged rows of this or another process (the CLI, a second server) move before every read, a bounded
  // batch per write so that deliveries sharing the group commit never wait long.
  const moveStaged = async (): Promise<void> => {
    if (timer !== null) clearTimeout(timer);
    timer = null;
    while ((await commits.run(() => table.moveToIndexed(), { rerunnable: true })) === MOVE_BATCH_ROWS) { /* more to move */ }
  };
  table.onStaged = () => {
    if (timer !== null || closed) return;
    timer = setTimeout(() => {
      timer = null;
      // A failed move leaves the rows staged for the next one; nothing is lost.
      moveStaged().catch(() => undefined);
    }, MERGE_DELAY_MS);
    timer.unref();
  };
  return {
    async appendTrace(events) {
      if (events.length > 0) await commits.run(() => table.add(events), { rerunnable: true });
    },
    async searchTrace(query) {
      await moveStaged();
      const { text, values } = traceSearchSql(query, 'sqlite');
      const ids = db.prepare(text).pluck().all(...values) as string[];
      if (ids.length === 0) return [];
      const rows = db.prepare(`SELECT * FROM message_trace WHERE queue_id IN (${ids.map(() => '?').join(',')}) ORDER BY at, id`).all(...ids) as TraceRow[];
      const order = new Map(ids.map((id, i) => [id, i]));
      return rows.map(toTraceRecord).flatMap(expandAcceptance).sort((a, b) => order.get(a.queueId)! - order.get(b.queueId)! || a.at.getTime() - b.at.getTime() || a.id - b.id);
    },
    async traceCounts(since) {
      await moveStaged();
      return (q.counts.all(since.getTime()) as { event: TraceEventKind; result: string; reason: string | null; count: number }[]).map((r) => ({ ...r, count: Number(r.count) }));
    },
    async pruneTrace(before, limit) {
      return commits.run(() => q.prune.run(before.getTime(), limit).changes);
    },
    async closeTrace() {
      closed = true;
      if (timer !== null) await moveStaged();
    },
  };
}
