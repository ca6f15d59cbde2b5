/**
 * The change feed on PostgreSQL (docs/decisions/0006): the changes of each group-commit transaction are
 * logged as one `change_log` row and announced with NOTIFY in that same transaction, so PostgreSQL
 * delivers the notice only if and when it commits, to every node's LISTEN connection. The notice carries
 * the row's sequence number, the writer's origin and, when short enough, the changes themselves (no read
 * needed); a longer one is read from the log. This store's own listeners hear their changes right after
 * the commit, as on SQLite. A lost LISTEN connection is re-opened and listeners get `reset`.
 */
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import type { ChangeFeed, ChangeSource, StoreChange } from '../types.ts';
import { clientConfig, type PgConnectionOptions } from './database.ts';
import { MAX_INLINE_BYTES, type BatchDelivery, type BatchOutcome } from './deliver-batch.ts';
import type { PgGroupCommit, PgWork, PgWriteOptions } from './group-commit.ts';

type Listener = (change: StoreChange, source: ChangeSource) => void;

export const CHANGE_CHANNEL = 'postamt_changes';
/** UIDs logged per change at most: more are left out and readers look at the mailbox (a change is a hint). */
const MAX_LOGGED_UIDS = 1000;
const PRUNE_EVERY_MS = 60_000;
const RECONNECT_MS = 1000;
const LOCAL: ChangeSource = Object.freeze({ local: true });
const REMOTE: ChangeSource = Object.freeze({ local: false });

function forLog(change: StoreChange): StoreChange {
  if ('uids' in change && change.uids !== undefined && change.uids.length > MAX_LOGGED_UIDS) {
    const { uids: _omitted, ...rest } = change;
    return rest;
  }
  return change;
}

/** Logs a batch's changes and queues its NOTIFY; called by the group commit just before COMMIT. */
export async function logChanges(client: pg.PoolClient, origin: string, changes: StoreChange[]): Promise<void> {
  if (changes.length === 0) return;
  const text = JSON.stringify(changes.map(forLog));
  await client.query({
    name: 'pg-log-changes',
    text: `WITH ins AS (INSERT INTO change_log (origin, at, changes) VALUES ($1, $2, $3) RETURNING seq)
      SELECT pg_notify('${CHANGE_CHANNEL}', seq || ' ' || $1 || CASE WHEN octet_length($3) <= ${MAX_INLINE_BYTES} THEN ' ' || $3 ELSE '' END) FROM ins`,
    values: [origin, Date.now(), text],
  });
}

export class PgChangeFeed implements ChangeFeed {
  /** Marks this store's rows and notices, which its own listeners have heard already. */
  readonly origin = randomBytes(9).toString('base64url');
  private readonly listeners = new Set<Listener>();
  private readonly pool: pg.Pool;
  private readonly connection: PgConnectionOptions;
  private readonly retentionMs: number;
  private commits: PgGroupCommit | null = null;
  private listenClient: pg.Client | null = null;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private pruneTimer: NodeJS.Timeout | null = null;
  /** Remote changes are emitted in the order their notices came, even when some must be read first. */
  private emitting: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(pool: pg.Pool, connection: PgConnectionOptions, options: { retentionMs?: number } = {}) {
    this.pool = pool;
    this.connection = connection;
    this.retentionMs = options.retentionMs ?? 10 * 60_000;
  }

  attach(commits: PgGroupCommit): void {
    this.commits = commits;
  }

  /** Opens the LISTEN connection; resolves once notices are being received. */
  async start(): Promise<void> {
    await this.connect();
    this.pruneTimer = setInterval(() => this.prune(), PRUNE_EVERY_MS);
    this.pruneTimer.unref();
  }

  /**
   * Runs `work` in the group commit; its changes are logged in the same transaction and heard by this
   * store's listeners once the commit returned.
   */
  async write<T>(work: PgWork<T>, options?: PgWriteOptions): Promise<T> {
    if (this.commits === null) throw new Error('change feed is not attached to a group commit');
    const { value, changes } = await this.commits.run(work, options);
    this.emit(changes, LOCAL);
    return value;
  }

  /**
   * Stores deliveries that must succeed or fail together (group-commit.ts: batched with other deliveries
   * into one statement); their changes are heard by this store's listeners once committed.
   */
  async deliver(deliveries: BatchDelivery[]): Promise<BatchOutcome[]> {
    if (this.commits === null) throw new Error('change feed is not attached to a group commit');
    const outcomes = await this.commits.deliver(deliveries);
    this.emit(outcomes.flatMap((o) => o.changes), LOCAL);
    return outcomes;
  }

  subscribe(listener: Listener): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listeners.clear();
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    if (this.pruneTimer) clearInterval(this.pruneTimer);
    const client = this.listenClient;
    this.listenClient = null;
    await client?.end().catch(() => undefined);
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

  private async connect(): Promise<void> {
    const client = new pg.Client(clientConfig(this.connection));
    client.on('error', () => this.lost(client));
    client.on('end', () => this.lost(client));
    client.on('notification', (msg) => {
      if (msg.channel === CHANGE_CHANNEL && msg.payload !== undefined) this.heard(msg.payload);
    });
    await client.connect();
    await client.query(`LISTEN ${CHANGE_CHANNEL}`);
    if (this.closed) {
      await client.end().catch(() => undefined);
      return;
    }
    this.listenClient = client;
  }

  /** The LISTEN connection broke: notices sent meanwhile are lost, so listeners re-read what they hold. */
  private lost(client: pg.Client): void {
    if (this.listenClient !== client || this.closed) return;
    this.listenClient = null;
    client.end().catch(() => undefined);
    const retry = (): void => {
      this.reconnectTimer = null;
      if (this.closed) return;
      this.connect().then(
        () => this.emit([{ kind: 'reset' }], REMOTE),
        () => {
          this.reconnectTimer = setTimeout(retry, RECONNECT_MS);
          this.reconnectTimer.unref();
        },
      );
    };
    this.reconnectTimer = setTimeout(retry, RECONNECT_MS);
    this.reconnectTimer.unref();
  }

  /** A notice: "seq origin [changes JSON]". */
  private heard(payload: string): void {
    const first = payload.indexOf(' ');
    const second = payload.indexOf(' ', first + 1);
    const origin = second < 0 ? payload.slice(first + 1) : payload.slice(first + 1, second);
    if (origin === this.origin || this.listeners.size === 0) return;
    const seq = Number(payload.slice(0, first));
    const inline = second < 0 ? null : payload.slice(second + 1);
    this.emitting = this.emitting.then(async () => {
      try {
        const text = inline ?? (await this.pool.query<{ changes: string }>('SELECT changes FROM change_log WHERE seq = $1', [seq])).rows[0]?.changes;
        if (text === undefined) throw new Error(`change ${seq} is no longer in the log`);
        this.emit(JSON.parse(text) as StoreChange[], REMOTE);
      } catch {
        this.emit([{ kind: 'reset' }], REMOTE);
      }
    });
  }

  /** Drops log rows older than the retention; any node may do it. */
  private prune(): void {
    this.pool.query('DELETE FROM change_log WHERE at < $1', [Date.now() - this.retentionMs]).catch(() => {
      // housekeeping: tried again at the next round
    });
  }
}
