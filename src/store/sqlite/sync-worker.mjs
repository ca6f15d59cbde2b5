/**
 * The WAL sync thread (see sync-thread.ts): on each message it runs fdatasync on the descriptor it names
 * and reports back. Plain JavaScript: worker threads do not get tsx's loader hooks on Node 20.
 */
import { fdatasyncSync } from 'node:fs';
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (message) => {
  try {
    fdatasyncSync(message.fd);
    parentPort.postMessage({ id: message.id, error: null });
  } catch (err) {
    parentPort.postMessage({ id: message.id, error: { message: err.message, code: err.code } });
  }
});
