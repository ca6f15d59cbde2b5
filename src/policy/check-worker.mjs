/**
 * Entry of a message-check worker thread (check-pool.ts). Worker threads do not inherit tsx's loader on
 * Node 20, so the thread registers it itself before loading the TypeScript task handler.
 */
import { register } from 'tsx/esm/api';

register();
await import('./check-worker.ts');
