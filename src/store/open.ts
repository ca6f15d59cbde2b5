/**
 * Opens the storage backend that `[storage] backend` names. Everything outside src/store/<backend>/ sees
 * only the `Store` contract (store/types.ts); a backend is one entry in `backends` below.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Store } from './types.ts';
import { openPostgresStore } from './postgres/store.ts';
import { openSqliteStore } from './sqlite/store.ts';

export type OpenedStore = Store;

export type StorageBackend = Config['storage']['backend'];

export interface OpenStoreOptions {
  /** data_dir: the SQLite database, and the spool of every backend (bodies being received). */
  dataDir: string;
  /** `[storage]`: backend (default sqlite) and, for postgres, url, pool_size and statement_timeout. */
  storage?: Pick<Config['storage'], 'backend' | 'url' | 'poolSize' | 'statementTimeout'>;
  /** How long SQLite waits for another process's lock (the server passes 0: it retries off the event loop). */
  busyTimeoutMs?: number;
  /** How often changes made by other processes are looked for (storage.change_poll_interval). */
  changePollMs?: number;
}

const backends: Record<StorageBackend, (options: OpenStoreOptions) => Promise<Store>> = {
  sqlite: async (options) => openSqliteStore(options),
  postgres: async (options) => openPostgresStore({
    url: options.storage!.url,
    poolSize: options.storage!.poolSize,
    statementTimeoutMs: options.storage!.statementTimeout,
    dataDir: options.dataDir,
  }),
};

export async function openStore(options: OpenStoreOptions): Promise<OpenedStore> {
  return backends[options.storage?.backend ?? 'sqlite'](options);
}

/**
 * Whether data_dir already holds a store (the CLI refuses to make a new empty one by accident). A
 * PostgreSQL store is the configured database, made by its operator: it always counts as existing.
 */
export function storeExists(dataDir: string, storage?: Pick<Config['storage'], 'backend'>): boolean {
  if (storage?.backend === 'postgres') return true;
  return existsSync(join(dataDir, 'postamt.db'));
}

/** Sizes of the SQLite database and its write-ahead log (metrics, status); null for PostgreSQL. */
export function storeFileSizes(dataDir: string, storage?: Pick<Config['storage'], 'backend'>): { databaseBytes: number; walBytes: number } | null {
  if (storage?.backend === 'postgres') return null;
  const size = (path: string): number => {
    try {
      return statSync(path).size;
    } catch {
      return 0;
    }
  };
  const db = join(dataDir, 'postamt.db');
  return { databaseBytes: size(db), walBytes: size(`${db}-wal`) };
}
