/**
 * fdatasync on a thread of its own. libuv's thread pool (4 threads) is shared with password hashing, file
 * reads and DNS: a WAL sync queued behind 20 logins' hashes waited for them, and every write with it. This
 * thread does nothing but sync, so a commit waits only for the disk. Until it is up (and should it fail)
 * syncs go to the thread pool as before; processes that write only briefly (the CLI, most tests) never
 * start it.
 */
import { fdatasync } from 'node:fs';
import { Worker } from 'node:worker_threads';

/** The thread starts at this many syncs of one database. */
const START_AFTER_SYNCS = 64;

type Done = (err: NodeJS.ErrnoException | null) => void;

interface Reply {
  id: number;
  error: { message: string; code?: string } | null;
}

export class SyncThread {
  private worker: Worker | null = null;
  private ready = false;
  private failed = false;
  private nextId = 1;
  private syncs = 0;
  private readonly inFlight = new Map<number, { fd: number; done: Done }>();

  /** Syncs `fd`'s data (and size) and calls `done` once it is on disk. */
  fdatasync(fd: number, done: Done): void {
    if (!this.ready || this.worker === null) {
      if (++this.syncs >= START_AFTER_SYNCS) this.start();
      fdatasync(fd, done);
      return;
    }
    const id = this.nextId++;
    // The thread keeps the process alive only while a sync is in flight (a CLI awaiting its commit).
    if (this.inFlight.size === 0) this.worker.ref();
    this.inFlight.set(id, { fd, done });
    this.worker.postMessage({ id, fd });
  }

  private start(): void {
    if (this.worker !== null || this.failed) return;
    const worker = new Worker(new URL('./sync-worker.mjs', import.meta.url));
    this.worker = worker;
    worker.unref();
    worker.once('online', () => {
      if (this.worker === worker) this.ready = true;
    });
    worker.on('message', (reply: Reply) => this.settle(reply));
    worker.once('error', () => this.fail(worker));
    worker.once('exit', () => this.fail(worker));
  }

  private settle(reply: Reply): void {
    const entry = this.inFlight.get(reply.id);
    if (!entry) return;
    this.inFlight.delete(reply.id);
    if (this.inFlight.size === 0) this.worker?.unref();
    if (reply.error === null) entry.done(null);
    else entry.done(Object.assign(new Error(reply.error.message), { code: reply.error.code }) as NodeJS.ErrnoException);
  }

  /** The thread is gone: its syncs run again on the thread pool (fdatasync may be repeated), later ones go there too. */
  private fail(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.ready = false;
    this.failed = true;
    const pending = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const { fd, done } of pending) fdatasync(fd, done);
  }

  close(): void {
    const worker = this.worker;
    this.worker = null;
    this.ready = false;
    this.failed = true;
    if (worker !== null) void worker.terminate();
    const pending = [...this.inFlight.values()];
    this.inFlight.clear();
    for (const { fd, done } of pending) fdatasync(fd, done);
  }
}
