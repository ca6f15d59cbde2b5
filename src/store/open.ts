/**
 * Opens the configured storage backend. Today: the embedded SQLite store in the data dir.
 */
import { openSqliteStore, type SqliteStore } from './sqlite/store.ts';

export type OpenedStore = SqliteStore;

export async function openStore(options: { dataDir: string; busyTimeoutMs?: number }): Promise<OpenedStore> {
  return openSqliteStore(options);
}
