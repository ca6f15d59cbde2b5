/**
 * The change feed on SQLite (docs/decisions/0006): the writes of a group-commit batch log their changes as
 * one row of `change_log` inside the batch's transaction. Listeners of this store hear them right after the commit is durable; changes made by other
 * connections (the CLI, a second server) are read from the log by a timer, only when `PRAGMA data_version`
 * says another connection committed, so an idle poll costs no disk read.
 */
import { randomBytes } from 'node:crypto';
import type { ChangeFeed, ChangeSource, StoreChange, WriteOptions } from '../types.ts';
import type { SqliteDatabase } from './database.ts';
import type { GroupCommit } from './group-commit.ts';

type Listener = (change: StoreChange, source: ChangeSource) => void;

export interface ChangeFeedOptions {
  /** How often other connections' commits are looked for (default 100 ms). */
  pollMs?: number;
  /** How long logged changes are kept for slow readers (default 10 minutes). */
  retentionMs?: number;
}

/** UIDs logged per change at most: more are left out and readers look at the mailbox (a change is a hint). */
const MAX_LOGGED_UIDS = 1000;
/** Rows read per query when catching up. */
const READ_BATCH = 500;
const PRUNE_EVERY_MS = 60_000;
const LOCAL: ChangeSource = Object.freeze({ local: true });
const REMOTE: ChangeSource = Object.freeze({ local: false });

function forLog(change: StoreChange): StoreChange {
  if ('uids' in change && change.uids !== undefined && change.uids.length > MAX_LOGGED_UIDS) {
    const { uids: _omitted, ...rest } = change;
    return rest;
  }
  return change;
}

export class SqliteChangeFeed implements ChangeFeed {
  /** Marks this store's rows in the log, which its own listeners have heard already. */
  readonly origin = randomBytes(9).toString('base64url');
  private readonly listeners = new Set<Listener>();
  private readonly commits: GroupCommit;
  private readonly pollMs: number;
  private readonly retentionMs: number;
  private readonly q;
  private timer: NodeJS.Timeout | null = null;
  /** The highest sequence number read from the log. */
  private lastSeq = 0;
  private dataVersion = -1;
  private lastPruneAt = 0;
  /** A poll failed: changes may have been missed, so the next good one tells listeners to reset. */
  private missed = false;
  private closed = false;
  /** Changes of the batch being written, logged as one row just before its COMMIT. */
  private batch: StoreChange[] = [];

  constructor(db: SqliteDatabase, commits: GroupCommit, options: ChangeFeedOptions = {}) {
    this.commits = commits;
    this.pollMs = options.pollMs ?? 100;
    this.retentionMs = options.retentionMs ?? 10 * 60_000;
    this.q = {
      insert: db.prepare('INSERT INTO change_log (origin, at, changes) VALUES (?, ?, ?)'),
      dataVersion: db.prepare('PRAGMA data_version').pluck(),
      maxSeq: db.prepare('SELECT coalesce(max(seq), 0) FROM change_log').pluck(),
      minSeq: db.prepare('SELECT min(seq) FROM change_log').pluck(),
      since: db.prepare('SELECT seq, origin, changes FROM change_log WHERE seq > ? ORDER BY seq LIMIT ?').raw(),
      // Rows are in time order by seq (no index on `at`, so a commit writes one page less): the oldest is the
      // first, and pruning removes the rows before the first one still young, always keeping the newest, so
      // that the next seq is never one a reader has seen.
      oldest: db.prepare('SELECT at FROM change_log ORDER BY seq LIMIT 1').pluck(),
      prune: db.prepare(`DELETE FROM change_log WHERE seq < coalesce((SELECT seq FROM change_log WHERE at >= ? ORDER BY seq LIMIT 1),
        (SELECT max(seq) FROM change_log))`),
    };
    // One row per batch, not per write: 50 deliveries committed together cost one small insert. A batch that
    // fails to commit takes its row with it; a write that failed alone (its savepoint rolled back) added none.
    commits.beforeCommit(() => {
      if (this.batch.length === 0) return;
      const changes = this.batch;
      this.batch = [];
      this.q.insert.run(this.origin, Date.now(), JSON.stringify(changes));
    });
    // A batch rolled back whole runs again: the changes its writes logged so far are gone with it.
    commits.onRollback(() => {
      this.batch = [];
    });
  }

  /**
   * Runs `work` in the group commit; the changes it pushes are logged in the same transaction (if `work`
   * succeeds) and heard by this store's listeners once the commit is durable (no timer in between).
   * `rerunnable`: `work` has no effect but its SQL and the changes it pushes (see GroupCommit.run).
   * `committed`: resolves at COMMIT (see GroupCommit.run); listeners still hear the changes only once durable.
   */
  async write<T>(work: (changes: StoreChange[]) => T, options: WriteOptions = {}): Promise<T> {
    let changes: StoreChange[] = [];
    let durable: Promise<void> | null = null;
    const committed = options.committed;
    const result = await this.commits.run(() => {
      changes = [];
      const value = work(changes);
      for (const change of changes) this.batch.push(forLog(change));
      return value;
    }, committed === undefined ? options : {
      ...options,
      committed: (d) => {
        durable = d;
        committed(d);
      },
    });
    // Other sessions are told of a write only once it is durable: what they report cannot be lost.
    if (durable === null) this.emit(changes, LOCAL);
    else (durable as Promise<void>).then(() => this.emit(changes, LOCAL), () => undefined);
    return result;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    if (this.timer === null && !this.closed) this.startPolling();
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0) this.stopPolling();
    };
  }

  close(): void {
    this.closed = true;
    this.stopPolling();
    this.listeners.clear();
  }

  private emit(changes: StoreChange[], source: ChangeSource): void {
    for (const change of changes) {
      for (const listener of this.listeners) {
        try {
          listener(change, source);
        } catch {
          // a listener's failure is its own; the others still hear the change
        }
      }
    }
  }

  private startPolling(): void {
    // What is in the log now was committed before anyone here listened: only later changes are news.
    this.dataVersion = this.q.dataVersion.get() as number;
    this.lastSeq = this.q.maxSeq.get() as number;
    this.timer = setInterval(() => this.poll(), this.pollMs);
    this.timer.unref();
  }

  private stopPolling(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /** Reads the changes other connections logged since the last poll. */
  poll(): void {
    try {
      const version = this.q.dataVersion.get() as number;
      if (version !== this.dataVersion) {
        this.dataVersion = version;
        this.readNew();
      }
      if (this.missed) {
        this.missed = false;
        this.emit([{ kind: 'reset' }], REMOTE);
      }
      this.pruneSometimes();
    } catch {
      // The next poll tries again; whatever was missed meanwhile is covered by a reset.
      this.missed = true;
    }
  }

  private readNew(): void {
    const first = this.q.minSeq.get() as number | null;
    // Rows after the last one read were pruned before being read (a long stall): they are lost to us.
    if (first !== null && first > this.lastSeq + 1) this.missed = true;
    for (;;) {
      const rows = this.q.since.all(this.lastSeq, READ_BATCH) as [number, string, string][];
      for (const [seq, origin, text] of rows) {
        this.lastSeq = seq;
        if (origin === this.origin) continue;
        let changes: StoreChange[];
        try {
          changes = JSON.parse(text) as StoreChange[];
        } catch {
          this.missed = true;
          continue;
        }
        this.emit(changes, REMOTE);
      }
      if (rows.length < READ_BATCH) return;
    }
  }

  /** Drops log rows older than the retention, now and then; any process that polls does it. */
  private pruneSometimes(): void {
    const now = Date.now();
    if (now - this.lastPruneAt < PRUNE_EVERY_MS) return;
    this.lastPruneAt = now;
    const oldest = this.q.oldest.get() as number | null;
    const cutoff = now - this.retentionMs;
    if (oldest === null || oldest >= cutoff) return;
    this.commits.run(() => this.q.prune.run(cutoff)).catch(() => {
      // pruning is housekeeping: a busy database is tried again at the next round
    });
  }
}
