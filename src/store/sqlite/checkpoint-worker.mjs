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
/** The WAL's frame count as the previous pass saw it. */
let lastLog = 0;

parentPort.on('message', (message) => {
  if (message === 'close') {
    db.close();
    Atomics.store(closed, 0, 1);
    Atomics.notify(closed, 0);
    parentPort.close();
    return;
  }
  const final = message === 'final';
  let frames = 0;
  for (let passes = 1; ; passes++) {
    const [row] = db.pragma('wal_checkpoint(PASSIVE)');
    frames = row.log;
    // `log` is the WAL's frame count when the pass began; it falls when the writer started the WAL over
    // since the last pass.
    const appended = row.log < lastLog ? row.log : row.log - lastLog;
    lastLog = row.log;
    if (final || row.busy !== 0 || appended < SMALL_FRAMES || passes >= MAX_PASSES) break;
  }
  parentPort.postMessage({ final, frames });
});
parentPort.postMessage('ready');
