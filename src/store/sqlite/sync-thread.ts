/**
 * fdatasync on a thread of its own. libuv's thread pool (4 threads) is shared with password hashing, file
 * reads and DNS: a WAL sync queued behind 20 logins' hashes waited for them, and every write with it. This
 * thread does nothing but sync, so a commit waits only for the disk. Until it is up (and should it fail)
 * syncs go to the thread pool as before; processes that write only briefly (the CLI, most tests) never
 * start it. The two threads signal through shared memory (a counter each way, Atomics.notify to wake the
 * thread, Atomics.waitAsync for its answer): half the cost of a message each way, paid once per commit.
 */
import { fdatasync } from 'node:fs';
import { getSystemErrorName } from 'node:util';
import { Worker } from 'node:worker_threads';

/** The thread starts at this many syncs of one database. */
const START_AFTER_SYNCS = 64;

/** Slots of the shared state (sync-worker.mjs): the request number, its descriptor, the last done, its result. */
const REQUEST = 0;
const FD = 1;
const DONE = 2;
const RESULT = 3;

type WaitResult = { async: false; value: 'not-equal' | 'timed-out' } | { async: true; value: Promise<'ok' | 'timed-out'> };
/** Atomics.waitAsync (ES2024, in Node 20's V8): resolves once the slot no longer holds `value`. */
const waitAsync = (Atomics as unknown as { waitAsync(array: Int32Array, index: number, value: number): WaitResult }).waitAsync.bind(Atomics);

type Done = (err: NodeJS.ErrnoException | null) => void;

interface Sync {
  fd: number;
  done: Done;
}

export class SyncThread {
  private worker: Worker | null = null;
  private ready = false;
  private failed = false;
  private syncs = 0;
  private readonly state = new Int32Array(new SharedArrayBuffer(4 * Int32Array.BYTES_PER_ELEMENT));
  /** The sync the thread is running; the others wait their turn (the group commit runs one at a time). */
  private current: Sync | null = null;
  private readonly waiting: Sync[] = [];

  /** Syncs `fd`'s data (and size) and calls `done` once it is on disk. */
  fdatasync(fd: number, done: Done): void {
    if (!this.ready || this.worker === null) {
      if (++this.syncs >= START_AFTER_SYNCS) this.start();
      fdatasync(fd, done);
      return;
    }
    this.waiting.push({ fd, done });
    if (this.current === null) this.next();
  }

  private next(): void {
    const worker = this.worker;
    const sync = this.waiting.shift();
    if (sync === undefined || worker === null) return;
    // The thread keeps the process alive only while a sync is in flight (a CLI awaiting its commit).
    if (this.current === null) worker.ref();
    this.current = sync;
    const request = (Atomics.load(this.state, REQUEST) + 1) | 0;
    // Read before the thread can answer: the wait below ends as soon as DONE moves from this value.
    const before = Atomics.load(this.state, DONE);
    Atomics.store(this.state, FD, sync.fd);
    Atomics.store(this.state, REQUEST, request);
    Atomics.notify(this.state, REQUEST);
    this.awaitAnswer(sync, request, before);
  }

  private awaitAnswer(sync: Sync, request: number, from: number): void {
    const answer = waitAsync(this.state, DONE, from);
    const settle = (): void => this.settle(sync, request);
    if (answer.async) void answer.value.then(settle);
    else settle();
  }

  private settle(sync: Sync, request: number): void {
    // The thread failed meanwhile: fail() has handed this sync to the thread pool.
    if (this.current !== sync) return;
    const done = Atomics.load(this.state, DONE);
    if (done !== request) {
      // Woken before this request was done (spurious): never settle early.
      this.awaitAnswer(sync, request, done);
      return;
    }
    const result = Atomics.load(this.state, RESULT);
    this.current = null;
    if (this.waiting.length === 0) this.worker?.unref();
    else this.next();
    if (result === 0) sync.done(null);
    else sync.done(Object.assign(new Error(`fdatasync failed: ${getSystemErrorName(result)}`), { code: getSystemErrorName(result), errno: result }) as NodeJS.ErrnoException);
  }

  private start(): void {
    if (this.worker !== null || this.failed) return;
    const worker = new Worker(new URL('./sync-worker.mjs', import.meta.url), { workerData: { shared: this.state.buffer } });
    this.worker = worker;
    worker.unref();
    worker.once('online', () => {
      if (this.worker === worker) this.ready = true;
    });
    worker.once('error', () => this.fail(worker));
    worker.once('exit', () => this.fail(worker));
  }

  /** The thread is gone: its syncs run again on the thread pool (fdatasync may be repeated), later ones go there too. */
  private fail(worker: Worker): void {
    if (this.worker !== worker) return;
    this.worker = null;
    this.ready = false;
    this.failed = true;
    this.drain();
  }

  private drain(): void {
    const pending = this.current === null ? this.waiting.splice(0) : [this.current, ...this.waiting.splice(0)];
    this.current = null;
    for (const { fd, done } of pending) fdatasync(fd, done);
  }

  close(): void {
    const worker = this.worker;
    this.worker = null;
    this.ready = false;
    this.failed = true;
    if (worker !== null) {
      // A negative descriptor ends the thread's loop; terminate() covers a thread stuck in a sync.
      Atomics.store(this.state, FD, -1);
      Atomics.add(this.state, REQUEST, 1);
      Atomics.notify(this.state, REQUEST);
      void worker.terminate();
    }
    this.drain();
  }
}
