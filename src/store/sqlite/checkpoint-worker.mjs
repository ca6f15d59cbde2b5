/**
 * The checkpoint worker thread (see checkpointer.ts): its own connection to the database. On each
 * 'checkpoint' message it runs PASSIVE checkpoints (which never block the writer) until a pass finds little
 * new to copy, then reports; on 'final' (sent while the writer holds back) it runs one pass. Plain JavaScript: worker threads do not get tsx's loader hooks on Node 20.
 */
import { createRequire } from 'node:module';
import { parentPort, workerData } from 'node:worker_threads';

const Database = createRequire(import.meta.url)('better-sqlite3');
/** Frames appended during a pass below which the worker stops and lets the main connection finish. */
const SMALL_FRAMES = 64;
const MAX_PASSES = 4;

const db = new Database(workerData.path, { fileMustExist: true });
// A checkpoint with synchronous FULL fsyncs the WAL before copying and the database after: the main
// connection may reuse the WAL from its start only after that second fsync.
db.pragma('synchronous = FULL');
const closed = new Int32Array(workerData.closeFlag);

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    Atomics.store(closed, 0, 1);
    Atomics.notify(closed, 0);
    parentPort.close();
    return;
  }
  const final = message === 'final';
  const startedAt = performance.now();
  let previousLog = -1;
  let passes = 0;
  let copied = 0;
  let busy = false;
  for (;;) {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    passes++;
    busy = row.busy !== 0;
    // `log` is the WAL's frame count when the pass began; it falls when the writer started the WAL over.
    const appended = previousLog < 0 || row.log < previousLog ? row.log : row.log - previousLog;
    copied += appended;
    previousLog = row.log;
    if (final || busy || appended < SMALL_FRAMES || passes >= MAX_PASSES) break;
  }
  parentPort.postMessage({ final, passes, frames: copied, busy, ms: performance.now() - startedAt });
});
parentPort.postMessage('ready');
