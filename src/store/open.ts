/**
 * Opens the storage backend that `[storage] backend` names. Everything outside src/store/<backend>/ sees
 * only the `Store` contract (store/types.ts); a backend is one entry in `backends` below.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import type { Store } from './types.ts';
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
  postgres: async () => {
    throw new Error('storage.backend = "postgres": the PostgreSQL backend is not wired into open.ts yet');
  },
};

export async function openStore(options: OpenStoreOptions): Promise<OpenedStore> {
  return backends[options.storage?.backend ?? 'sqlite'](options);
}

/** Whether data_dir already holds a store (the CLI refuses to make a new empty one by accident). */
export function storeExists(dataDir: string): boolean {
  return existsSync(join(dataDir, 'postamt.db'));
}
