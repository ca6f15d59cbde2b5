/**
 * Password hashes (scrypt, and SCRAM's PBKDF2 when a password is set) on a bounded pool of threads of their
 * own, below normal priority. On libuv's shared 4-thread pool twenty logins' hashes (~30 ms each) queued ahead
 * of file reads and the WAL sync and took the CPU from the event loop: every session's writes waited. Here they
 * wait for each other only, first come first served, and on a busy machine logins slow down before the sessions
 * already open do.
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';

export interface HashPoolOptions {
  /** Threads at most (config auth.hash_threads); 0: one per CPU. */
  threads: number;
  /** Niceness of the threads on Linux, 0 (normal) to 19 (config auth.hash_priority). */
  nice: number;
}

export interface ScryptJob {
  password: string;
  salt: Buffer;
  keyBytes: number;
  options: { N: number; r: number; p: number; maxmem: number };
}

/** PBKDF2-HMAC-SHA-256 of the password's UTF-8 bytes (SCRAM's Hi(), RFC 5802 §3). */
export interface Pbkdf2Job {
  password: string;
  salt: Buffer;
  iterations: number;
  keyBytes: number;
}

type Job = ({ kind: 'scrypt' } & ScryptJob) | ({ kind: 'pbkdf2' } & Pbkdf2Job);

interface Queued {
  job: Job;
  resolve: (key: Buffer) => void;
  reject: (err: Error) => void;
}

interface Slot {
  worker: Worker;
  job: (Queued & { id: number }) | null;
}

type Reply = { id: number; key: Uint8Array } | { id: number; error: string };

export class HashPool {
  readonly #threads: number;
  readonly #nice: number;
  readonly #slots: Slot[] = [];
  readonly #queue: Queued[] = [];
  #nextId = 1;
  #closed = false;
  /** Hashes (scrypt or PBKDF2) handed to a thread since the start (tests count password work with it). */
  hashed = 0;

  constructor(options: HashPoolOptions) {
    this.#threads = options.threads > 0 ? options.threads : availableParallelism();
    this.#nice = Math.max(0, Math.min(19, options.nice));
  }

  scrypt(job: ScryptJob): Promise<Buffer> {
    return this.#run({ kind: 'scrypt', ...job });
  }

  pbkdf2(job: Pbkdf2Job): Promise<Buffer> {
    return this.#run({ kind: 'pbkdf2', ...job });
  }

  #run(job: Job): Promise<Buffer> {
    if (this.#closed) return Promise.reject(new Error('password hashing stopped'));
    return new Promise((resolve, reject) => {
      this.#queue.push({ job, resolve, reject });
      this.#dispatch();
    });
  }

  /** Jobs waiting for a thread (not counting the ones running). */
  get queued(): number {
    return this.#queue.length;
  }

  #dispatch(): void {
    while (this.#queue.length > 0) {
      let slot = this.#slots.find((s) => s.job === null);
      if (slot === undefined) {
        if (this.#slots.length >= this.#threads) return;
        slot = this.#start();
      }
      const queued = this.#queue.shift()!;
      const id = this.#nextId++;
      slot.job = { ...queued, id };
      this.hashed++;
      // A thread keeps the process alive only while it hashes (the CLI exits once its work is done).
      slot.worker.ref();
      slot.worker.postMessage({ id, ...queued.job });
    }
  }

  #start(): Slot {
    const worker = new Worker(new URL('./hash-worker.mjs', import.meta.url), { workerData: { nice: this.#nice } });
    const slot: Slot = { worker, job: null };
    worker.unref();
    worker.on('message', (reply: Reply) => {
      const job = slot.job;
      if (job === null || job.id !== reply.id) return;
      slot.job = null;
      worker.unref();
      if ('key' in reply) job.resolve(Buffer.from(reply.key.buffer, reply.key.byteOffset, reply.key.byteLength));
      else job.reject(new Error(reply.error));
      this.#dispatch();
    });
    const gone = (err: Error): void => {
      const i = this.#slots.indexOf(slot);
      if (i < 0) return;
      this.#slots.splice(i, 1);
      slot.job?.reject(err);
      slot.job = null;
      if (!this.#closed) this.#dispatch();
    };
    worker.once('error', (err) => gone(err));
    worker.once('exit', () => gone(new Error('password hash thread exited')));
    this.#slots.push(slot);
    return slot;
  }

  async close(): Promise<void> {
    this.#closed = true;
    for (const q of this.#queue.splice(0)) q.reject(new Error('password hashing stopped'));
    await Promise.all(this.#slots.splice(0).map((s) => {
      s.job?.reject(new Error('password hashing stopped'));
      return s.worker.terminate();
    }));
  }
}
