/**
 * Opens the SQLite database: WAL journal with synchronous=FULL (every commit is fsync'd before it returns),
 * foreign keys on, a busy timeout so the CLI can work beside a running server, then the migrations.
 */
import Database from 'better-sqlite3';
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { join } from 'node:path';
import { migrations } from './migrations.ts';

export type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  dataDir: string;
  /** Milliseconds to wait for another process's lock before SQLITE_BUSY. */
  busyTimeoutMs?: number;
  readonly?: boolean;
}

export function openDatabase(options: OpenDatabaseOptions): SqliteDatabase {
  mkdirSync(options.dataDir, { recursive: true, mode: 0o700 });
  const path = join(options.dataDir, 'postamt.db');
  // Made owner-only before SQLite opens it: SQLite gives the -wal and -shm files the database file's mode.
  if (options.readonly !== true) closeSync(openSync(path, 'a', 0o600));
  const db = new Database(path, { readonly: options.readonly ?? false });
  db.pragma(`busy_timeout = ${options.busyTimeoutMs ?? 5000}`);
  // A new database gets 8 KiB pages. Every page a transaction touches is written whole to the WAL at
  // COMMIT; a delivery touches a page in each of about a dozen tables and indexes (message, email, thread,
  // thread key, counters), most of them with a few bytes of change, while a typical 5 KB body still fits in
  // one page. Measured against 16 KiB pages: less CPU per accepted message at 5 KB, the same at 100 KB
  // (docs/performance.md). No effect on an existing file.
  db.pragma('page_size = 8192');
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = FULL');
  db.pragma('foreign_keys = ON');
  db.pragma('cache_size = -65536');
  db.pragma('temp_store = MEMORY');
  migrate(db);
  // Commits do not fsync inside SQLite: GroupCommit fsyncs the WAL file itself, off the event loop, and
  // acknowledges a write only after that fsync (store/sqlite/group-commit.ts). SQLite still syncs the WAL
  // before each checkpoint and the WAL header when the WAL is reused (https://sqlite.org/pragma.html#pragma_synchronous).
  db.pragma('synchronous = NORMAL');
  return db;
}

function migrate(db: SqliteDatabase): void {
  const current = db.pragma('user_version', { simple: true }) as number;
  for (const migration of migrations) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.pragma(`user_version = ${migration.version}`);
    })();
  }
}
