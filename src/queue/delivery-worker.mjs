/**
 * Entry of a delivery thread (delivery-threads.ts). Worker threads do not inherit tsx's loader on Node 20,
 * so the thread registers it itself before loading the TypeScript task loop.
 */
import { register } from 'tsx/esm/api';

register();
await import('./delivery-worker.ts');
