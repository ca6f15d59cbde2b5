/**
 * The WAL sync thread (see sync-thread.ts): it sleeps on a shared request counter, runs fdatasync on the
 * descriptor the main thread put beside it, stores the result (0 or a negative errno) and the request's
 * number, and wakes the main thread. Plain JavaScript: worker threads do not get tsx's loader hooks on Node 20.
 */
import { fdatasyncSync } from 'node:fs';
import { workerData } from 'node:worker_threads';

const REQUEST = 0;
const FD = 1;
const DONE = 2;
const RESULT = 3;
const state = new Int32Array(workerData.shared);
// Requests are numbered from 1: one may already be waiting when this module starts running.
let seen = 0;
for (;;) {
  Atomics.wait(state, REQUEST, seen);
  const request = Atomics.load(state, REQUEST);
  if (request === seen) continue;
  seen = request;
  const fd = Atomics.load(state, FD);
  if (fd < 0) break;
  let result = 0;
  try {
    fdatasyncSync(fd);
  } catch (err) {
    result = typeof err?.errno === 'number' && err.errno < 0 ? err.errno : -5;
  }
  Atomics.store(state, RESULT, result);
  Atomics.store(state, DONE, request);
  Atomics.notify(state, DONE);
}
