/**
 * The embedded SQLite backend: one connection, one group-commit writer, and the stores (accounts, mail,
 * emails, queue, suppressions) composed into the `Store` contract.
 */
import { sqlitePushSubscriptionStore } from './push-subscriptions.ts';
import { join } from 'node:path';
import { readdirSync, rmSync } from 'node:fs';
import type { Store } from '../types.ts';
import { sqliteAccountStore } from './accounts.ts';
import { BlobTable } from './blobs.ts';
import { SqliteChangeFeed } from './change-feed.ts';
import { openDatabase, type SqliteDatabase } from './database.ts';
import { GroupCommit } from './group-commit.ts';
import { sqliteEmailStore } from './email-store.ts';
import { sqliteSearchIndexStore } from './search-index.ts';
import { EmailTable } from './emails.ts';
import { sqliteMailStore } from './mail.ts';
import { MailboxTable } from './mailboxes.ts';
import { QueueTable, sqliteQueueStore } from './queue.ts';
import { checkIntegrity } from './integrity.ts';
import { sqliteUploadStore } from './uploads.ts';
import { sqliteAdminSettingsStore } from './admin-settings.ts';
import { sqliteMetadataStore } from './metadata.ts';
import { sqliteSuppressionStore } from './suppressions.ts';
import { sqliteTraceStore, TraceTable } from './trace.ts';
import { sqliteSubmissionStore } from './submissions.ts';
import { sqliteVacationStore } from './vacations.ts';

/** The store with what only SQLite tests and tools may reach: the connection, the writer, the feed. */
export interface SqliteStore extends Store {
  readonly db: SqliteDatabase;
  readonly commits: GroupCommit;
  readonly changes: SqliteChangeFeed;
}

/**
 * Spool files (`spool-PID-…`) of messages that were never committed are garbage once their process is
 * gone. Files of live processes stay: the CLI opens the store while `serve` is receiving big messages.
 */
function removeDeadSpoolFiles(tmpDir: string): void {
  let names: string[];
  try {
    names = readdirSync(tmpDir);
  } catch {
    return;
  }
  for (const name of names) {
    const pid = Number(/^spool-(\d+)-/.exec(name)?.[1] ?? NaN);
    if (pid === process.pid || (pid > 0 && processAlive(pid))) continue;
    rmSync(join(tmpDir, name), { force: true, recursive: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export interface OpenSqliteStoreOptions {
  dataDir: string;
  busyTimeoutMs?: number;
  /** How often changes made by other processes are looked for (the change feed's poll, default 100 ms). */
  changePollMs?: number;
}

export function openSqliteStore(options: OpenSqliteStoreOptions): SqliteStore {
  const db = openDatabase({ dataDir: options.dataDir, busyTimeoutMs: options.busyTimeoutMs });
  const tmpDir = join(options.dataDir, 'tmp');
  removeDeadSpoolFiles(tmpDir);
  const commits = new GroupCommit(db);
  const changes = new SqliteChangeFeed(db, commits, { pollMs: options.changePollMs });
  const blobs = new BlobTable(db);
  const mailboxes = new MailboxTable(db);
  const queue = new QueueTable(db);
  const emails = new EmailTable(db);
  const trace = new TraceTable(db);
  const { closeTrace, ...traceStore } = sqliteTraceStore({ db, commits, table: trace });
  return {
    db,
    commits,
    changes,
    ...sqliteAccountStore({ db, changes, mailboxes }),
    ...sqliteMailStore({ db, changes, blobs, mailboxes, emails, queue, trace, tmpDir }),
    ...sqliteEmailStore({ db, changes, mailboxes }),
    ...sqliteSearchIndexStore({ db, commits }),
    ...sqliteQueueStore({ db, changes, blobs, queue }),
    ...sqliteSuppressionStore({ db, commits }),
    ...sqliteMetadataStore({ db, changes }),
    ...sqliteUploadStore({ db, changes }),
    ...traceStore,
    ...sqliteAdminSettingsStore({ db, changes }),
    ...sqliteVacationStore({ db, changes }),
    ...sqlitePushSubscriptionStore({ db, changes }),
    ...sqliteSubmissionStore({ db, changes }),
    subscribe: (listener) => changes.subscribe(listener),
    checkIntegrity: async (integrityOptions) => checkIntegrity(db, integrityOptions),
    async checkWritable() {
      const probe = db.prepare('DELETE FROM change_log WHERE seq < 0');
      await commits.run(() => probe.run());
    },
    async close() {
      changes.close();
      await closeTrace();
      // Let writes queued in this turn finish before closing.
      await commits.run(() => undefined);
      await commits.idle();
      commits.close();
      db.close();
    },
  };
}
