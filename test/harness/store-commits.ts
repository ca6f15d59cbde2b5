/**
 * The SQLite store's group commit as tests reach into it: a fault injector for a commit stage, and the WAL
 * sync the sync thread runs, which a test may slow down, hold or make fail.
 */
import type { TestServer } from './server.ts';

export type WalSync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;

export interface StoreCommits {
  faultInjector: ((stage: string) => void) | null;
  syncThread: { fdatasync: WalSync };
}

/** The group commit of a test server on the SQLite store. */
export function storeCommits(t: TestServer): StoreCommits {
  return (t.server.services.store as unknown as { commits: StoreCommits }).commits;
}
