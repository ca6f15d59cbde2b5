/**
 * Opens the configured storage backend. Today: the embedded SQLite store in the data dir.
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { openSqliteStore, type SqliteStore } from './sqlite/store.ts';

export type OpenedStore = SqliteStore;

export async function openStore(options: { dataDir: string; busyTimeoutMs?: number; changePollMs?: number }): Promise<OpenedStore> {
  return openSqliteStore(options);
}

/** Whether data_dir already holds a store (the CLI refuses to make a new empty one by accident). */
export function storeExists(dataDir: string): boolean {
  return existsSync(join(dataDir, 'postamt.db'));
}
