/**
 * Copies a SQLite store (a consistent snapshot: one read transaction) into an empty PostgreSQL database
 * table by table, keeping every id, UID, UIDVALIDITY, MODSEQ, flag, body, queue entry and JMAP id, then
 * verifies row counts and a checksum of every copied table on both sides. The tables are one for one
 * (docs/decisions/0009); the differences are handled here: SQLite keeps small bodies inline in
 * `blobs.data` (PostgreSQL always in `blob_chunks`), stores booleans as 0/1, and keeps id high-water
 * marks in tables where PostgreSQL has sequences.
 */
import { createHash } from 'node:crypto';
import type pg from 'pg';
import { openDatabase, type SqliteDatabase } from '../sqlite/database.ts';
import { migrate, openPool } from '../postgres/database.ts';
import { moveStagedTrace } from '../sqlite/trace.ts';

/** Node-local or SQLite-only tables that are not copied; the search index is derived and built again. */
const SKIP = new Set(['message_trace_staged', 'email_search', 'email_search_meta', 'change_log', 'schema_migrations', 'shared_state', 'account_id_high', 'app_password_id_high', 'mailbox_id_high', 'email_id_high']);
/** Tables in an order that satisfies foreign keys (any table not listed is copied after these). */
const ORDER = ['domains', 'accounts', 'account_seq', 'app_passwords', 'aliases', 'domain_admins', 'mailboxes', 'uid_validity_high', 'blobs', 'blob_chunks',
  'threads', 'thread_keys', 'emails', 'messages', 'expunged', 'tombstones', 'subscriptions', 'queue_messages', 'queue_recipients', 'suppressions'];
/** Named sequences and where their high-water mark is (the SQLite table that keeps it, if any). */
const SEQUENCES: { sequence: string; table: string; high: string | null; where?: string }[] = [
  { sequence: 'account_ids', table: 'accounts', high: 'account_id_high' },
  { sequence: 'app_password_ids', table: 'app_passwords', high: 'app_password_id_high' },
  { sequence: 'mailbox_ids', table: 'mailboxes', high: 'mailbox_id_high' },
  // SQLite keeps the email id high-water mark as account_seq's row 0 (no account has id 0).
  { sequence: 'email_ids', table: 'emails', high: 'account_seq', where: 'account_id = 0' },
];
/** SQLite rows that are not rows of their table in PostgreSQL: account_seq's row 0 is the email id high-water mark. */
const ROW_FILTER: Record<string, string> = { account_seq: 'account_id <> 0' };
const MAX_PARAMS = 30_000;
const MAX_BATCH_BYTES = 16 * 1024 * 1024;

export interface TableCopy {
  table: string;
  rows: number;
  checksum: string;
}

export interface ImportReport {
  tables: TableCopy[];
  messages: number;
  bodyBytes: number;
  ms: number;
}

interface PgColumn {
  name: string;
  type: string;
}

type Row = Record<string, unknown>;

/** One canonical text per value, the same for a SQLite and a PostgreSQL read of the same data. */
function canonical(value: unknown, type: string): string {
  if (value === null || value === undefined) return '\u0000';
  if (Buffer.isBuffer(value)) return createHash('sha256').update(value).digest('hex');
  if (type === 'boolean') return value === true || value === 1 ? '1' : '0';
  return String(value);
}

function hashRows(hash: ReturnType<typeof createHash>, rows: Row[], columns: PgColumn[]): void {
  for (const row of rows) hash.update(columns.map((c) => canonical(row[c.name], c.type)).join('\u0001') + '\u0002');
}

async function pgColumns(client: pg.PoolClient): Promise<Map<string, PgColumn[]>> {
  const rows = (await client.query<{ table_name: string; column_name: string; data_type: string }>(
    'SELECT table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = current_schema() ORDER BY table_name, ordinal_position',
  )).rows;
  const out = new Map<string, PgColumn[]>();
  for (const r of rows) {
    const list = out.get(r.table_name) ?? [];
    list.push({ name: r.column_name, type: r.data_type });
    out.set(r.table_name, list);
  }
  return out;
}

function sqliteColumns(db: SqliteDatabase, table: string): Set<string> | null {
  const cols = db.prepare(`SELECT name FROM pragma_table_info(?)`).all(table) as { name: string }[];
  return cols.length ? new Set(cols.map((c) => c.name)) : null;
}

function primaryKey(db: SqliteDatabase, table: string, columns: PgColumn[]): string[] {
  const pk = (db.prepare('SELECT name, pk FROM pragma_table_info(?) WHERE pk > 0 ORDER BY pk').all(table) as { name: string }[]).map((c) => c.name);
  return pk.length ? pk : columns.map((c) => c.name);
}

/** The rows of one SQLite table as PostgreSQL will hold them, in primary-key order, in pages. */
function* sqlitePages(db: SqliteDatabase, table: string, columns: PgColumn[], order: string[]): Generator<Row[]> {
  const select = db.prepare(`SELECT ${columns.map((c) => `"${c.name}"`).join(', ')} FROM "${table}"${ROW_FILTER[table] ? ` WHERE ${ROW_FILTER[table]}` : ''} ORDER BY ${order.map((c) => `"${c}"`).join(', ')}`);
  let page: Row[] = [];
  let bytes = 0;
  const limit = Math.max(1, Math.floor(MAX_PARAMS / columns.length));
  for (const raw of select.iterate() as Iterable<Row>) {
    const row: Row = {};
    for (const c of columns) {
      const v = raw[c.name];
      row[c.name] = c.type === 'boolean' && v !== null ? v === 1 || v === true : v;
      if (Buffer.isBuffer(v)) bytes += v.length;
    }
    page.push(row);
    if (page.length >= limit || bytes >= MAX_BATCH_BYTES) {
      yield page;
      page = [];
      bytes = 0;
    }
  }
  if (page.length) yield page;
}

async function insertPage(client: pg.PoolClient, table: string, columns: PgColumn[], rows: Row[]): Promise<void> {
  const values: unknown[] = [];
  const tuples = rows.map((row) => `(${columns.map((c) => {
    values.push(row[c.name] ?? null);
    return `$${values.length}`;
  }).join(', ')})`);
  await client.query(`INSERT INTO "${table}" (${columns.map((c) => `"${c.name}"`).join(', ')}) VALUES ${tuples.join(', ')}`, values);
}

/** Reads one PostgreSQL table in the same order and checksums it. */
async function pgChecksum(client: pg.PoolClient, table: string, columns: PgColumn[], order: string[]): Promise<{ rows: number; checksum: string }> {
  const hash = createHash('sha256');
  let rows = 0;
  const cursorName = `c_${table}`;
  await client.query(`DECLARE ${cursorName} NO SCROLL CURSOR FOR SELECT ${columns.map((c) => `"${c.name}"`).join(', ')} FROM "${table}" ORDER BY ${order.map((c) => `"${c}"`).join(', ')}`);
  for (;;) {
    const page = (await client.query<Row>(`FETCH 2000 FROM ${cursorName}`)).rows;
    if (page.length === 0) break;
    hashRows(hash, page, columns);
    rows += page.length;
  }
  await client.query(`CLOSE ${cursorName}`);
  return { rows, checksum: hash.digest('hex') };
}

export async function importSqliteStore(options: { dataDir: string; url: string; log?: (line: string) => void }): Promise<ImportReport> {
  const started = Date.now();
  const log = options.log ?? (() => undefined);
  // Trace rows still staged go into message_trace first, so that the copy has them (and its checksum too).
  const writable = openDatabase({ dataDir: options.dataDir });
  try {
    moveStagedTrace(writable);
  } finally {
    writable.close();
  }
  const db = openDatabase({ dataDir: options.dataDir, readonly: true });
  const pool = openPool({ url: options.url, poolSize: 1, statementTimeoutMs: 0 });
  try {
    await migrate(pool);
    const client = await pool.connect();
    try {
      const existing = (await client.query<{ n: number }>('SELECT (SELECT count(*) FROM accounts) + (SELECT count(*) FROM domains) + (SELECT count(*) FROM blobs) AS n')).rows[0]!.n;
      if (existing > 0) throw new Error('the PostgreSQL database is not empty (it has domains, accounts or bodies): copy into a new, empty database');
      const columnsByTable = await pgColumns(client);
      const tables = [...ORDER, ...[...columnsByTable.keys()].filter((t) => !ORDER.includes(t)).sort()]
        .filter((t) => columnsByTable.has(t) && !SKIP.has(t) && sqliteColumns(db, t) !== null);
      // One snapshot of the live SQLite store for the copy and its checksums.
      db.prepare('BEGIN').run();
      await client.query('BEGIN');
      // The copy brings reference counts, thread rows and account sequences as they are: no triggers.
      for (const t of tables) await client.query(`ALTER TABLE "${t}" DISABLE TRIGGER USER`);
      // Seeded rows the migrations made (uid_validity_high) are replaced by the copied ones.
      await client.query('DELETE FROM uid_validity_high');
      const report: TableCopy[] = [];
      let bodyBytes = 0;
      for (const table of tables) {
        const sqliteCols = sqliteColumns(db, table)!;
        const columns = columnsByTable.get(table)!.filter((c) => sqliteCols.has(c.name));
        const order = primaryKey(db, table, columns);
        const hash = createHash('sha256');
        let rows = 0;
        for (const page of sqlitePages(db, table, columns, order)) {
          await insertPage(client, table, columns, page);
          hashRows(hash, page, columns);
          rows += page.length;
        }
        report.push({ table, rows, checksum: hash.digest('hex') });
        log(`copied ${table}: ${rows} rows`);
      }
      // Small bodies SQLite keeps inline become chunk 0 of their blob.
      const inline = db.prepare('SELECT id, data FROM blobs WHERE data IS NOT NULL ORDER BY id');
      let batch: Row[] = [];
      let bytes = 0;
      const inlineHash = createHash('sha256');
      let inlineRows = 0;
      const chunkColumns: PgColumn[] = [{ name: 'blob_id', type: 'bigint' }, { name: 'seq', type: 'integer' }, { name: 'data', type: 'bytea' }];
      for (const r of inline.iterate() as Iterable<{ id: number; data: Buffer }>) {
        batch.push({ blob_id: r.id, seq: 0, data: r.data });
        hashRows(inlineHash, [{ blob_id: r.id, seq: 0, data: r.data }], chunkColumns);
        inlineRows++;
        bytes += r.data.length;
        if (batch.length >= 5000 || bytes >= MAX_BATCH_BYTES) {
          await insertPage(client, 'blob_chunks', chunkColumns, batch);
          batch = [];
          bytes = 0;
        }
      }
      if (batch.length) await insertPage(client, 'blob_chunks', chunkColumns, batch);
      log(`copied inline bodies: ${inlineRows}`);
      bodyBytes = (db.prepare('SELECT coalesce(sum(size), 0) AS n FROM blobs').get() as { n: number }).n;
      // Sequences continue after the highest id ever given (SQLite's high-water marks included).
      for (const s of SEQUENCES) {
        if (!columnsByTable.has(s.table)) continue;
        const maxId = (db.prepare(`SELECT coalesce(max(id), 0) AS n FROM "${s.table}"`).get() as { n: number }).n;
        const high = s.high && sqliteColumns(db, s.high) ? ((db.prepare(`SELECT coalesce(max(value), 0) AS n FROM "${s.high}"${s.where ? ` WHERE ${s.where}` : ''}`).get() as { n: number } | undefined)?.n ?? 0) : 0;
        const next = Math.max(maxId, high);
        if (next > 0) await client.query('SELECT setval($1::regclass, $2)', [s.sequence, next]);
      }
      const serials = (await client.query<{ table_name: string; column_name: string; seq: string | null }>(
        "SELECT table_name, column_name, pg_get_serial_sequence(quote_ident(table_name), column_name) AS seq FROM information_schema.columns WHERE table_schema = current_schema() AND column_default LIKE 'nextval%'",
      )).rows;
      for (const s of serials) {
        if (!s.seq || !tables.includes(s.table_name)) continue;
        await client.query(`SELECT setval($1::regclass, greatest((SELECT coalesce(max("${s.column_name}"), 0) FROM "${s.table_name}"), 1))`, [s.seq]);
      }
      for (const t of tables) await client.query(`ALTER TABLE "${t}" ENABLE TRIGGER USER`);
      // Verification inside the copy's transaction: counts and checksums read back from PostgreSQL.
      for (const copy of report) {
        const columns = columnsByTable.get(copy.table)!.filter((c) => sqliteColumns(db, copy.table)!.has(c.name));
        if (copy.table === 'blob_chunks') continue;
        const back = await pgChecksum(client, copy.table, columns, primaryKey(db, copy.table, columns));
        if (back.rows !== copy.rows || back.checksum !== copy.checksum) throw new Error(`verification failed for ${copy.table}: ${copy.rows} rows copied, ${back.rows} read back, checksums ${copy.checksum.slice(0, 12)} / ${back.checksum.slice(0, 12)}`);
      }
      // Every body as PostgreSQL holds it (chunked) against SQLite's chunks and inline bodies together.
      const chunkCopy = report.find((r) => r.table === 'blob_chunks');
      const expected = createHash('sha256');
      let expectedRows = 0;
      const allBodies = db.prepare('SELECT blob_id, seq, data FROM (SELECT id AS blob_id, 0 AS seq, data FROM blobs WHERE data IS NOT NULL UNION ALL SELECT blob_id, seq, data FROM blob_chunks) ORDER BY blob_id, seq');
      for (const r of allBodies.iterate() as Iterable<Row>) {
        hashRows(expected, [r], chunkColumns);
        expectedRows++;
      }
      const backChunks = await pgChecksum(client, 'blob_chunks', chunkColumns, ['blob_id', 'seq']);
      const expectedSum = expected.digest('hex');
      if (backChunks.rows !== expectedRows || backChunks.checksum !== expectedSum) throw new Error(`verification failed for message bodies: ${expectedRows} chunks expected, ${backChunks.rows} read back`);
      if (chunkCopy) Object.assign(chunkCopy, { rows: expectedRows, checksum: expectedSum });
      await client.query('COMMIT');
      db.prepare('COMMIT').run();
      const messages = report.find((r) => r.table === 'messages')?.rows ?? 0;
      return { tables: report, messages, bodyBytes, ms: Date.now() - started };
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      if (db.inTransaction) db.prepare('ROLLBACK').run();
      throw err;
    } finally {
      client.release();
    }
  } finally {
    db.close();
    await pool.end();
  }
}
