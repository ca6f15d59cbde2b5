/**
 * The embedded SQLite backend: one connection, one group-commit writer, and the three stores
 * (accounts, mail, queue) composed into the `Store` contract.
 */
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import type { Store } from '../types.ts';
import { sqliteAccountStore } from './accounts.ts';
import { BlobTable } from './blobs.ts';
import { openDatabase, type SqliteDatabase } from './database.ts';
import { GroupCommit } from './group-commit.ts';
import { sqliteMailStore } from './mail.ts';
import { MailboxTable } from './mailboxes.ts';
import { QueueTable, sqliteQueueStore } from './queue.ts';
import { sqliteSuppressionStore, type SuppressionStore } from './suppressions.ts';

export interface SqliteStore extends Store, SuppressionStore {
  readonly db: SqliteDatabase;
  readonly commits: GroupCommit;
}

export function openSqliteStore(options: { dataDir: string; busyTimeoutMs?: number }): SqliteStore {
  const db = openDatabase({ dataDir: options.dataDir, busyTimeoutMs: options.busyTimeoutMs });
  const tmpDir = join(options.dataDir, 'tmp');
  // Spool files of messages that were never committed: safe to remove at every start.
  rmSync(tmpDir, { recursive: true, force: true });
  const commits = new GroupCommit(db);
  const blobs = new BlobTable(db);
  const mailboxes = new MailboxTable(db);
  const queue = new QueueTable(db);
  return {
    db,
    commits,
    ...sqliteAccountStore({ db, commits, mailboxes }),
    ...sqliteMailStore({ db, commits, blobs, mailboxes, queue, tmpDir }),
    ...sqliteQueueStore({ db, commits, blobs, queue }),
    ...sqliteSuppressionStore({ db, commits }),
    async close() {
      // Let writes queued in this turn finish before closing.
      await commits.run(() => undefined);
      await commits.idle();
      commits.close();
      db.close();
    },
  };
}
