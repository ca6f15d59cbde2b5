/**
 * Runs outbound SMTP sessions on worker threads: the runner keeps claims, routes and result records on the
 * main thread (its group commit), a thread does the rest of an attempt (connect, client engine, reading the
 * body through its own read-only store connection, dot-stuffing, socket writes). A thread that dies fails its
 * transactions in flight (the runner counts them as internal errors and retries them) and is replaced.
 */
import { Worker } from 'node:worker_threads';
import type { Logger } from '../core/log.ts';
import type { TransactionResult } from '../protocols/smtp/client-session.ts';
import type { QueueBodySource } from '../store/types.ts';
import type { DeliveryThreadData, FromThread, QueuedTransaction, ThreadConnectionOptions, ToThread } from './delivery-protocol.ts';
import type { OpenResult } from './smtp-connection.ts';

/** What a transaction sent on a thread came to: the replies, or the loop it found (nothing sent). */
export type QueuedSendResult = { loop: null; result: TransactionResult } | { loop: number; result: null };

interface Thread {
  worker: Worker;
  connections: Map<number, ThreadConnection>;
  /** It has loaded its code and opened its store connection (a few hundred ms after the start). */
  ready: boolean;
  dead: boolean;
}

/**
 * How long a connection waits for a thread that is loading (its code and its store connection take a few
 * hundred ms on a quiet machine) before it opens on the main thread instead: a thread that cannot load never
 * holds mail up for longer.
 */
const READY_WAIT_MS = 5_000;

export class DeliveryThreads {
  readonly #size: number;
  readonly #source: QueueBodySource;
  readonly #logger: Logger;
  readonly #threads: Thread[] = [];
  #nextConn = 1;
  #running = false;
  /** The threads were spawned (replacements of dead ones are spawned as they die). */
  #spawned = false;
  /** When the last thread was spawned: a connection waits for it to load until READY_WAIT_MS after this. */
  #spawnedAt = 0;
  /** Connections waiting for a thread to load: called when one is ready, or when the wait is over. */
  #readyWaiters: (() => void)[] = [];

  constructor(options: { size: number; source: QueueBodySource; logger: Logger }) {
    this.#size = Math.max(1, options.size);
    this.#source = options.source;
    this.#logger = options.logger;
  }

  /**
   * Allows the threads to start: they are spawned at the first connection asked for (`whenReady()`), so a
   * server that relays nothing never pays for loading them.
   */
  start(): void {
    this.#running = true;
  }

  /**
   * Whether a connection opens on a thread. The first call after start() spawns the threads, and a call
   * while one is loading (start-up, or a replacement for one that died) waits for it, up to READY_WAIT_MS
   * after its spawn. Opening on the main thread instead would keep that session there for as long as mail
   * keeps coming to its destination (the connection is reused), so the first burst of mail after a start
   * would be sent by the main thread, beside all it does already. False when the threads are not started, or
   * none loaded in time: the connection then opens on the main thread.
   */
  async whenReady(): Promise<boolean> {
    if (this.available()) return true;
    const left = this.#spawnedAt + READY_WAIT_MS - Date.now();
    if (!this.#running || this.#threads.length === 0 || left <= 0) return false;
    await new Promise<void>((resolve) => {
      const done = (): void => {
        clearTimeout(timer);
        const at = this.#readyWaiters.indexOf(done);
        if (at >= 0) this.#readyWaiters.splice(at, 1);
        resolve();
      };
      const timer = setTimeout(done, left);
      this.#readyWaiters.push(done);
    });
    return this.ready;
  }

  /** Whether a thread can take a connection now; the first call after start() spawns the threads. */
  available(): boolean {
    if (this.#running && this.#threads.length === 0 && !this.#spawned) {
      this.#spawned = true;
      while (this.#threads.length < this.#size) this.#spawn();
    }
    return this.ready;
  }

  /** Whether a thread can take a connection now (status, tests; it starts none). */
  get ready(): boolean {
    return this.#threads.some((t) => t.ready);
  }

  /** Threads running now. */
  get size(): number {
    return this.#threads.length;
  }

  /** Opens a connection on the ready thread with the fewest. */
  async open(options: ThreadConnectionOptions): Promise<OpenResult | { ok: true; connection: ThreadConnection }> {
    let thread: Thread | null = null;
    for (const t of this.#threads) if (t.ready && (!thread || t.connections.size < thread.connections.size)) thread = t;
    if (!thread) throw new Error('no delivery thread is ready');
    const conn = new ThreadConnection(this.#nextConn++, thread, options);
    thread.connections.set(conn.id, conn);
    const opened = await conn.opening;
    return opened.ok ? { ok: true, connection: conn } : opened;
  }

  /** Terminates every thread as a crash would (a stuck thread; tests): each is retired and replaced. */
  async kill(): Promise<void> {
    await Promise.all(this.#threads.map((t) => t.worker.terminate()));
  }

  /** Ends every thread (after the runner closed its connections); anything still in flight fails. */
  async close(): Promise<void> {
    this.#running = false;
    this.#readyWaiters.slice().forEach((done) => done());
    await Promise.all([...this.#threads].map((t) => this.#retire(t, 'delivery threads stopped', true)));
  }

  #spawn(): void {
    const worker = new Worker(new URL('./delivery-worker.mjs', import.meta.url), { workerData: { source: this.#source } satisfies DeliveryThreadData });
    const thread: Thread = { worker, connections: new Map(), ready: false, dead: false };
    worker.on('message', (message: FromThread) => {
      if (message.type === 'ready') {
        thread.ready = !thread.dead;
        this.#readyWaiters.slice().forEach((done) => done());
      } else thread.connections.get(message.conn)?.receive(message);
    });
    worker.on('error', (err) => {
      this.#logger.error({ event: 'queue.thread_failed', err }, 'delivery thread failed: its transactions in flight are retried');
      void this.#retire(thread, `delivery thread failed: ${err.message}`, false);
    });
    worker.on('exit', (code) => {
      if (!thread.dead) this.#logger.error({ event: 'queue.thread_failed', code }, 'delivery thread exited: its transactions in flight are retried');
      void this.#retire(thread, 'delivery thread exited', false);
    });
    // The connections' sockets keep the thread busy; the thread itself must not keep the process alive.
    worker.unref();
    this.#threads.push(thread);
    this.#spawnedAt = Date.now();
  }

  async #retire(thread: Thread, reason: string, terminate: boolean): Promise<void> {
    if (!thread.dead) {
      thread.dead = true;
      thread.ready = false;
      const i = this.#threads.indexOf(thread);
      if (i >= 0) this.#threads.splice(i, 1);
      for (const conn of [...thread.connections.values()]) conn.lost(reason);
      thread.connections.clear();
      // A replacement for one that died (not for one the stop ends).
      if (this.#running) this.#spawn();
    }
    if (terminate) await thread.worker.terminate();
  }
}

/** The runner's handle on a connection that lives on a delivery thread. */
export class ThreadConnection {
  readonly id: number;
  readonly options: ThreadConnectionOptions;
  readonly opening: Promise<OpenResult | { ok: true }>;
  #thread: Thread;
  #usable = false;
  #tls: string | null = null;
  #opened!: (r: OpenResult | { ok: true }) => void;
  #openFailed!: (err: Error) => void;
  #sending: { resolve: (r: QueuedSendResult) => void; reject: (err: Error) => void } | null = null;
  #closing: (() => void)[] = [];
  #closed = false;

  constructor(id: number, thread: Thread, options: ThreadConnectionOptions) {
    this.id = id;
    this.#thread = thread;
    this.options = options;
    this.opening = new Promise((resolve, reject) => {
      this.#opened = resolve;
      this.#openFailed = reject;
    });
    this.#post({ type: 'open', conn: id, options });
  }

  get isUsable(): boolean {
    return this.#usable && !this.#closed;
  }

  get remoteAddress(): string {
    return this.options.ip;
  }

  get tlsProtocol(): string | null {
    return this.#tls;
  }

  /** One transaction of a queued message: the thread reads its body by queue id. */
  sendQueued(tx: QueuedTransaction, queueId: string, maxHops: number): Promise<QueuedSendResult> {
    if (!this.isUsable || this.#sending) return Promise.reject(new Error('SMTP connection is not ready'));
    return new Promise((resolve, reject) => {
      this.#sending = { resolve, reject };
      this.#post({ type: 'send', conn: this.id, queueId, tx, maxHops });
    });
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await new Promise<void>((resolve) => {
      this.#closing.push(resolve);
      if (this.#closing.length === 1) this.#post({ type: 'close', conn: this.id });
    });
  }

  receive(message: FromThread): void {
    switch (message.type) {
      case 'opened':
        if (message.ok) {
          this.#usable = true;
          this.#tls = message.tls;
          this.#opened({ ok: true });
        } else {
          this.#closed = true;
          this.#forgetIfDone();
          this.#opened({ ok: false, reply: message.reply, stage: message.stage, connected: message.connected });
        }
        return;
      case 'sent': {
        this.#usable = message.usable;
        const sending = this.#sending;
        this.#sending = null;
        // A connection found unusable sent nothing: no reply for any recipient (the runner defers them).
        sending?.resolve(message.loop !== null ? { loop: message.loop, result: null } : { loop: null, result: message.result ?? { recipients: [], peerSupportsDsn: false } });
        this.#forgetIfDone();
        return;
      }
      case 'failed':
        this.#fail(new Error(message.error));
        return;
      case 'closed':
        this.#usable = false;
        this.#end();
    }
  }

  /** The thread died: whatever was in flight fails. */
  lost(reason: string): void {
    this.#fail(new Error(reason));
    this.#end();
  }

  #fail(err: Error): void {
    const wasOpen = this.#usable || this.#sending !== null;
    this.#usable = false;
    this.#openFailed(err);
    const sending = this.#sending;
    this.#sending = null;
    sending?.reject(err);
    // An open that threw left nothing on the thread, and a close that threw is over either way: a close()
    // awaited on either must not wait for a 'closed' that never comes (a stop would hang on it).
    if (!wasOpen || this.#closing.length > 0) this.#end();
    else this.#forgetIfDone();
  }

  /** The thread's messages for this connection stop being routed once it is closed and no reply is awaited. */
  #forgetIfDone(): void {
    if (this.#closed && !this.#sending) this.#thread.connections.delete(this.id);
  }

  #end(): void {
    if (this.#closed && this.#closing.length === 0) return;
    this.#closed = true;
    this.#forgetIfDone();
    this.#closing.splice(0).forEach((done) => done());
  }

  #post(message: ToThread): void {
    if (this.#thread.dead) {
      queueMicrotask(() => this.lost('delivery thread exited'));
      return;
    }
    this.#thread.worker.postMessage(message);
  }
}
