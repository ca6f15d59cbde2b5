/**
 * A password-hash thread (see hash-pool.ts): runs one scrypt or PBKDF2 at a time and reports the key. On Linux it first
 * lowers its own priority (setpriority on a thread id applies to that thread alone), so that the event loop
 * and the disk sync are served first when the CPU is short. Plain JavaScript: worker threads do not get
 * tsx's loader hooks on Node 20.
 */
import { pbkdf2Sync, scryptSync } from 'node:crypto';
import { readlinkSync } from 'node:fs';
import { setPriority } from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';

if (workerData.nice > 0 && process.platform === 'linux') {
  try {
    // /proc/thread-self is "<pid>/task/<tid>".
    setPriority(Number(readlinkSync('/proc/thread-self').split('/').pop()), workerData.nice);
  } catch {
    // runs at normal priority
  }
}

parentPort.on('message', (job) => {
  try {
    const salt = Buffer.from(job.salt);
    const key = job.kind === 'pbkdf2'
      ? pbkdf2Sync(Buffer.from(job.password, 'utf8'), salt, job.iterations, job.keyBytes, 'sha256')
      : scryptSync(job.password, salt, job.keyBytes, job.options);
    parentPort.postMessage({ id: job.id, key });
  } catch (err) {
    parentPort.postMessage({ id: job.id, error: err instanceof Error ? err.message : String(err) });
  }
});
