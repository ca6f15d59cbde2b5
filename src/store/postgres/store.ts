/**
 * The PostgreSQL backend: a connection pool, one group-commit writer per process, a LISTEN connection for
 * the change feed, and the stores composed into the `Store` contract. Several processes (nodes) may open
 * the same database; docs/decisions/0009-postgresql-store.md says how they stay consistent.
 */
import { pgPushSubscriptionStore } from './push-subscriptions.ts';
import { join } from 'node:path';
import type pg from 'pg';
import type { Store } from '../types.ts';
import { pgAccountStore } from './accounts.ts';
import { logChanges, PgChangeFeed } from './change-feed.ts';
import { migrate, openPool, type PgConnectionOptions } from './database.ts';
import { pgEmailStore } from './email-store.ts';
import { pgSearchIndexStore } from './search-index.ts';
import { checkPgIntegrity } from './integrity.ts';
import { PgGroupCommit } from './group-commit.ts';
import { pgMailStore } from './mail.ts';
import { pgQueueStore } from './queue.ts';
import { pgSharedStateStore } from './shared-state.ts';
import { pgSuppressionStore } from './suppressions.ts';
import { pgMetadataStore } from './metadata.ts';
import { pgUploadStore } from './uploads.ts';
import { pgTraceStore } from './trace.ts';
import { pgAdminSettingsStore } from './admin-settings.ts';
import { pgSubmissionStore } from './submissions.ts';
import { pgVacationStore } from './vacations.ts';

export interface PostgresStore extends Store {
  readonly backend: 'postgres';
  readonly pool: pg.Pool;
  readonly commits: PgGroupCommit;
  readonly changes: PgChangeFeed;
}

export interface OpenPostgresStoreOptions extends PgConnectionOptions {
  /** Where bodies being received are spooled before commit (data_dir/tmp): local to the node. */
  dataDir: string;
}

export async function openPostgresStore(options: OpenPostgresStoreOptions): Promise<PostgresStore> {
  const pool = openPool(options);
  try {
    await migrate(pool);
    const changes = new PgChangeFeed(pool, options);
    const commits = new PgGroupCommit(pool, { origin: changes.origin, beforeCommit: (client, batch) => logChanges(client, changes.origin, batch) });
    changes.attach(commits);
    await changes.start();
    const { stopPruning, ...shared } = pgSharedStateStore({ pool, changes });
    return {
      backend: 'postgres',
      pool,
      commits,
      changes,
      ...pgAccountStore({ pool, changes }),
      ...pgMailStore({ pool, changes, tmpDir: join(options.dataDir, 'tmp') }),
      ...pgEmailStore({ pool, changes }),
      ...pgSearchIndexStore({ pool }),
      ...pgQueueStore({ pool, changes }),
      ...pgSuppressionStore({ pool, changes }),
      ...pgMetadataStore({ pool, changes }),
      ...pgUploadStore({ pool, changes }),
      ...pgTraceStore({ pool, changes }),
      ...pgAdminSettingsStore({ pool, changes }),
      ...pgVacationStore({ pool, changes }),
      ...pgPushSubscriptionStore({ pool }),
      ...pgSubmissionStore({ pool, changes }),
      shared,
      subscribe: (listener) => changes.subscribe(listener),
      checkIntegrity: (integrityOptions) => checkPgIntegrity(pool, integrityOptions),
      // A write statement that matches no row: refused by a read-only server or a broken connection.
      async checkWritable() {
        await pool.query('DELETE FROM change_log WHERE seq < 0');
      },
      async close() {
        stopPruning();
        await commits.idle();
        commits.close();
        await changes.close();
        await pool.end();
      },
    };
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw err;
  }
}
