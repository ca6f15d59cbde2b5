/**
 * The one connection driver for SMTP, IMAP and POP3: feeds received bytes to a pure StreamEngine one chunk
 * at a time, writes its output in order with backpressure, and carries out its next step (STARTTLS with
 * the buffer discarded, DEFLATE, close). It owns timeouts and never lets an engine error crash the process.
 */
import type { Socket } from 'node:net';
import tls, { TLSSocket } from 'node:tls';
import zlib from 'node:zlib';
import type { Logger } from '../core/log.ts';
import type { EngineContext, EngineOutput, OutputPart, StreamEngine, TlsInfo } from '../protocols/engine.ts';
import type { TlsProvider } from './tls.ts';
import { socketAsStream } from './socket-stream.ts';

export interface MutableEngineContext extends EngineContext {
  tls: TlsInfo | null;
}

export interface DriverOptions {
  socket: Socket;
  context: MutableEngineContext;
  createEngine: (context: EngineContext) => StreamEngine;
  tls: TlsProvider | null;
  logger: Logger;
  handshakeTimeoutMs?: number;
  onClose?: () => void;
  /** After a successful STARTTLS handshake. */
  onTls?: (info: TlsInfo) => void;
  /** With COMPRESS: how long without output before the compressor is dropped (default 5 s). */
  deflateIdleMs?: number;
}

/**
 * Wraps a plain socket in server-side TLS and waits for the handshake. `smallBuffers`: TLS reads the
 * socket through a stream (socket-stream.ts), memory per connection traded for CPU on bulk transfers
 * (the figures: `tls.imaps_small_buffers`).
 */
export function upgradeToTls(socket: Socket, provider: TlsProvider, timeoutMs: number, options: { smallBuffers?: boolean } = {}): Promise<{ socket: tls.TLSSocket; info: TlsInfo }> {
  return new Promise((resolve, reject) => {
    // attach() sets no-delay on the TLS socket, which Node passes to the TCP handle only on the native
    // path; through a stream the TLS socket has no TCP handle, so the raw socket gets it here.
    if (options.smallBuffers === true) socket.setNoDelay(true);
    const secure = new tls.TLSSocket(options.smallBuffers === true ? socketAsStream(socket) : socket, provider.serverOptions());
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new Error('TLS handshake timeout'));
    }, timeoutMs);
    secure.once('secure', () => {
      clearTimeout(timer);
      const cipher = secure.getCipher();
      resolve({ socket: secure, info: { protocol: secure.getProtocol() ?? 'unknown', cipher: cipher?.name ?? 'unknown', servername: (secure as tls.TLSSocket & { servername?: string }).servername || undefined } });
    });
    secure.once('error', (err) => {
      clearTimeout(timer);
      secure.destroy();
      reject(err);
    });
    // A client that gives up mid-handshake (e.g. after failing to verify our certificate) may close
    // without an 'error' here: without this the timer would hold the socket and the process for timeoutMs.
    secure.once('close', () => {
      clearTimeout(timer);
      reject(new Error('connection closed during the TLS handshake'));
    });
  });
}

/** Bytes that count as progress (re-arm the idle timer) even before the engine answers. */
const PROGRESS_BYTES = 4096;

export class ConnectionDriver {
  private readonly options: DriverOptions;
  private socket: Socket;
  private readonly engine: StreamEngine;
  private inbox: Buffer[] = [];
  private busy = false;
  private closed = false;
  private ended = false;
  private idleTimer: NodeJS.Timeout | null = null;
  private unansweredBytes = 0;
  private writeChain: Promise<void> = Promise.resolve();
  private writesQueued = 0;
  private inboxBytes = 0;
  /** The pump waits for the client to read our output (see clientReads). */
  private waitingForClient = false;
  /** Text and bytes of outputs queued behind earlier writes, not yet handed to the socket. */
  private queuedBytes = 0;
  /** socket.bytesWritten when the idle timer was last armed. */
  private bytesWrittenAtArm = 0;
  private idleTimerMs = 0;
  private inflate: zlib.InflateRaw | null = null;
  /** The compressor while output flows under COMPRESS=DEFLATE (see deflater()). */
  private deflate: zlib.DeflateRaw | null = null;
  private deflateIdleTimer: NodeJS.Timeout | null = null;
  /** The socket's data listener (made in the constructor: a class-field arrow costs a keepNames defineProperty per driver). */
  private readonly onData: (chunk: Buffer) => void;

  /** COMPRESS=DEFLATE is on: input is inflated and output goes through a compressor. */
  private get compressing(): boolean {
    return this.inflate !== null;
  }

  constructor(options: DriverOptions) {
    this.options = options;
    this.socket = options.socket;
    this.onData = (chunk) => this.received(chunk);
    options.context.push = (output) => {
      // Replies the engine pushes later (pipelined commands answered asynchronously) are progress too.
      this.madeProgress();
      this.enqueueOutput(output);
    };
    this.engine = options.createEngine(options.context);
  }

  async start(): Promise<void> {
    this.attach(this.socket);
    try {
      const greeting = await this.engine.start();
      this.enqueueOutput(greeting);
    } catch (err) {
      this.fail(err);
    }
    this.armIdleTimer();
  }

  /** Server shutdown: the engine's goodbye, then close. */
  shutdown(): void {
    if (this.closed) return;
    try {
      this.enqueueOutput({ ...this.engine.shutdown(), then: 'close' });
    } catch (err) {
      this.fail(err);
    }
  }

  /**
   * Idle, no login and no transaction (the engine says `anonymous`), nothing being handled or written:
   * closing it now loses the client nothing but a reconnect.
   */
  get isEvictable(): boolean {
    return !this.closed && !this.busy && this.inbox.length === 0 && this.writesQueued === 0 && this.engine.anonymous === true;
  }

  /** Every connection slot is taken and this one makes room: the engine's idle goodbye, then close. */
  evict(): void {
    if (this.closed) return;
    try {
      this.enqueueOutput({ ...this.engine.idleTimeout(), then: 'close' });
    } catch (err) {
      this.fail(err);
    }
  }

  /** Drops the connection at once (after the shutdown grace period). */
  destroy(): void {
    this.close();
    this.socket.destroy();
  }

  private attach(socket: Socket): void {
    socket.setNoDelay(true);
    socket.on('data', this.onData);
    socket.on('error', () => this.close());
    socket.on('close', () => this.close());
    socket.on('end', () => this.readEnded());
  }

  private received(chunk: Buffer): void {
    if (this.closed) return;
    if (this.inflate) {
      this.inflate.write(chunk);
      return;
    }
    this.queueInput(chunk);
  }

  /** Received bytes (decompressed ones too) for the engine, in order. */
  private queueInput(chunk: Buffer): void {
    this.inbox.push(chunk);
    this.inboxBytes += chunk.length;
    // Only a client that sends faster than the engine answers is paused (bounded memory); pausing on every
    // chunk would cost two epoll changes per command. Under COMPRESS the inflater stops too (it may hold
    // input that expands a thousandfold).
    if (this.inboxBytes > INBOX_PAUSE_BYTES) {
      this.socket.pause();
      this.inflate?.pause();
    }
    void this.pump();
  }

  /** The client half-closed: finish what it sent, write the answers, then close. */
  private readEnded(): void {
    this.ended = true;
    if (!this.busy && this.inbox.length === 0) this.endAfterWrites();
  }

  private endAfterWrites(): void {
    this.queueWrite(async () => this.end());
  }

  private async pump(): Promise<void> {
    if (this.busy) return;
    this.busy = true;
    try {
      while (this.inbox.length > 0 && !this.closed) {
        const chunk = this.inbox.length === 1 ? this.inbox[0]! : Buffer.concat(this.inbox);
        this.inbox = [];
        this.inboxBytes = 0;
        // Slow-loris guard: a byte now and then is not progress. The idle timer is re-armed only when the
        // engine answers (a command completed) or PROGRESS_BYTES more arrived (message data, literals).
        this.unansweredBytes += chunk.length;
        if (this.unansweredBytes >= PROGRESS_BYTES) this.madeProgress();
        const output = await this.engine.receive(chunk);
        if (output.data.length > 0 || output.then) this.madeProgress();
        if (output.then === 'starttls') {
          await this.startTls(output);
          continue;
        }
        this.enqueueOutput(output);
        if (output.then === 'close') break;
        // A client that pipelines commands but does not read the answers: stop handling its input until it
        // reads (the socket is paused once the inbox fills), so our output cannot grow without bound.
        if (this.outputBacklogged()) await this.clientReads();
        if (output.then === 'deflate') {
          await this.writeChain;
          // Bytes that arrived after COMPRESS are already compressed.
          const rest = this.inbox;
          this.inbox = [];
          this.inboxBytes = 0;
          for (const c of rest) this.inflate?.write(c);
        }
      }
    } catch (err) {
      this.fail(err);
    } finally {
      this.busy = false;
      if (this.ended && this.inbox.length === 0) this.endAfterWrites();
      else if (!this.closed) {
        if (this.socket.isPaused()) this.socket.resume();
        if (this.inflate?.isPaused()) this.inflate.resume();
      }
    }
  }

  /**
   * RFC 3207 §4.2 / CVE-2011-0411: every byte received before our 220 is dropped (the engine's pending
   * input, the driver's inbox and the socket's read buffer); what arrives after it is the TLS handshake.
   */
  private async startTls(output: EngineOutput): Promise<void> {
    const provider = this.options.tls;
    const raw = this.socket;
    raw.pause();
    raw.removeListener('data', this.onData);
    this.inbox = [];
    this.inboxBytes = 0;
    while (raw.read() !== null) {
      // drained and discarded
    }
    this.enqueueOutput({ data: output.data });
    await this.writeChain;
    if (!provider || this.closed) {
      this.close();
      return;
    }
    raw.removeAllListeners('close');
    raw.removeAllListeners('end');
    raw.removeAllListeners('error');
    raw.on('error', () => this.close());
    raw.on('close', () => this.close());
    try {
      const { socket, info } = await upgradeToTls(raw, provider, this.options.handshakeTimeoutMs ?? 30_000);
      if (this.closed) {
        socket.destroy();
        return;
      }
      raw.removeAllListeners('close');
      this.socket = socket;
      this.options.context.tls = info;
      this.attach(socket);
      this.engine.tlsStarted(info);
      this.options.onTls?.(info);
    } catch (err) {
      this.options.logger.info({ event: 'tls.handshake_failed', session: this.options.context.sessionId, err }, 'STARTTLS handshake failed');
      this.close();
    }
  }

  private startDeflate(): void {
    // RFC 4978 §3: after the OK, both directions are raw DEFLATE streams (RFC 1951). The inflater must
    // keep the client's history (up to 32 KB) for the whole connection; the compressor is made when
    // output flows and dropped when it stops (deflater()).
    const inflate = zlib.createInflateRaw({ chunkSize: INFLATE_CHUNK_BYTES });
    inflate.on('data', (chunk: Buffer) => this.queueInput(chunk));
    inflate.on('error', () => this.close());
    this.inflate = inflate;
    this.socket.resume();
  }

  /**
   * The compressor, made on first use. zlib's compressor is the costly half (~300 KB with its defaults,
   * ~100 KB with the small window below, where Node's zlib keeps a 64 KB hash table whatever memLevel
   * says), so an idle connection holds none: see releaseDeflaterLater().
   */
  private deflater(): zlib.DeflateRaw {
    if (this.deflate) return this.deflate;
    // A 2 KB window: IMAP output repeats itself at short range (FETCH lines, header names).
    const deflate = zlib.createDeflateRaw({ windowBits: DEFLATE_WINDOW_BITS, memLevel: DEFLATE_MEM_LEVEL });
    deflate.on('data', (chunk: Buffer) => {
      if (!this.closed) this.socket.write(chunk);
    });
    deflate.on('error', () => this.close());
    this.deflate = deflate;
    return deflate;
  }

  /**
   * Drops the compressor once no output followed for a while (deflateIdleMs). Every write ends with a sync flush
   * (a byte-aligned, non-final block), and a new compressor's blocks only refer back within its own
   * output, so they continue the one DEFLATE stream the client is reading (RFC 1951 §3.2.3, §3.2.5).
   */
  private releaseDeflaterLater(): void {
    // One timer, pushed back by each write (the release below re-checks that nothing is in flight).
    if (this.deflateIdleTimer) {
      this.deflateIdleTimer.refresh();
      return;
    }
    this.deflateIdleTimer = setTimeout(() => {
      this.deflateIdleTimer = null;
      const deflate = this.deflate;
      // Output still inside the stream would be lost: try again later.
      if (deflate === null || this.closed) return;
      if (deflate.writableLength > 0 || deflate.readableLength > 0) return this.releaseDeflaterLater();
      this.deflate = null;
      deflate.destroy();
    }, this.options.deflateIdleMs ?? DEFLATE_IDLE_MS);
    this.deflateIdleTimer.unref();
  }

  private enqueueOutput(output: EngineOutput): void {
    // Fast path (most replies): nothing queued and only text or bytes: write now, no promise round trip.
    if (this.writesQueued === 0 && !this.compressing && output.data.every((p) => typeof p === 'string' || Buffer.isBuffer(p))) {
      if (this.closed) return;
      if (output.data.length > 0) {
        const data = output.data.length === 1 ? toBuffer(output.data[0] as string | Buffer) : Buffer.concat(output.data.map((p) => toBuffer(p as string | Buffer)));
        if (data.length > 0 && !this.socket.write(data)) {
          // Backpressure: later output waits for the drain.
          this.queueWrite(() => this.drained());
        }
      }
      if (output.then) this.queueWrite(async () => this.afterWrite(output));
      return;
    }
    // Bytes held in the queue count towards the output back-log (outputBacklogged); streams are read lazily.
    let bytes = 0;
    for (const p of output.data) if (typeof p === 'string' || Buffer.isBuffer(p)) bytes += p.length;
    this.queuedBytes += bytes;
    this.queueWrite(async () => {
      try {
        if (this.closed) return;
        await this.writeParts(output.data);
        this.afterWrite(output);
      } finally {
        this.queuedBytes -= bytes;
      }
    });
  }

  private afterWrite(output: EngineOutput): void {
    if (this.closed) return;
    if (output.then === 'close') this.end();
    else if (output.then === 'deflate') this.startDeflate();
  }

  private queueWrite(step: () => Promise<void>): void {
    this.writesQueued++;
    this.writeChain = this.writeChain
      .then(step)
      .catch((err) => this.fail(err))
      .finally(() => {
        this.writesQueued--;
      });
  }

  /** More output waits for the client than we hold for one connection. */
  private outputBacklogged(): boolean {
    const pending = this.queuedBytes + (this.deflate?.writableLength ?? 0) + this.socket.writableLength;
    return this.writesQueued > MAX_QUEUED_OUTPUTS || pending > OUTPUT_PAUSE_BYTES;
  }

  /** Waits for the client to take our output; the idle timeout runs meanwhile (its not reading is idleness). */
  private async clientReads(): Promise<void> {
    this.waitingForClient = true;
    try {
      while (!this.closed && this.outputBacklogged()) {
        if (this.writesQueued > 0) await this.writeChain;
        else if (this.socket.writableNeedDrain) await this.drained();
        else break;
      }
    } finally {
      this.waitingForClient = false;
    }
  }

  private drained(): Promise<void> {
    if (this.closed || !this.socket.writableNeedDrain) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.socket.removeListener('drain', done);
        this.socket.removeListener('close', done);
        resolve();
      };
      this.socket.once('drain', done);
      this.socket.once('close', done);
    });
  }

  private async writeParts(parts: OutputPart[]): Promise<void> {
    let pending: Buffer[] = [];
    const flush = async (): Promise<void> => {
      if (pending.length === 0) return;
      const data = pending.length === 1 ? pending[0]! : Buffer.concat(pending);
      pending = [];
      await this.write(data);
    };
    for (const part of parts) {
      if (typeof part === 'string') pending.push(Buffer.from(part, 'utf8'));
      else if (Buffer.isBuffer(part)) pending.push(part);
      else {
        await flush();
        for await (const chunk of part) {
          if (this.closed) return;
          await this.write(chunk);
          this.armIdleTimer();
        }
      }
    }
    await flush();
  }

  private write(data: Buffer): Promise<void> {
    if (this.closed || data.length === 0) return Promise.resolve();
    if (this.compressing) {
      const deflate = this.deflater();
      return new Promise((resolve) => {
        deflate.write(data);
        deflate.flush(zlib.constants.Z_SYNC_FLUSH, () => {
          this.releaseDeflaterLater();
          resolve();
        });
      });
    }
    if (this.socket.write(data)) return Promise.resolve();
    return this.drained();
  }

  private madeProgress(): void {
    this.unansweredBytes = 0;
    this.armIdleTimer();
  }

  private armIdleTimer(): void {
    if (this.closed) {
      if (this.idleTimer) clearTimeout(this.idleTimer);
      return;
    }
    const ms = this.engine.idleTimeoutMs;
    this.bytesWrittenAtArm = this.socket.bytesWritten;
    if (this.idleTimer && ms === this.idleTimerMs) {
      this.idleTimer.refresh();
      return;
    }
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.idleTimerMs = ms;
    this.idleTimer = setTimeout(() => {
      if (this.closed) return;
      // A client that reads nothing of what it asked for, for the whole timeout, is dropped: a goodbye would
      // only queue behind the output it does not read.
      if (this.waitingForClient) {
        // Slow but reading (the kernel took more of our output since the timer was armed) is not idle.
        if (this.socket.bytesWritten > this.bytesWrittenAtArm) return this.armIdleTimer();
        this.options.logger.info({ event: 'conn.write_timeout', session: this.options.context.sessionId, pendingBytes: this.socket.writableLength }, 'client stopped reading');
        this.destroy();
        return;
      }
      // Time the engine spends working (a long pipeline, a slow commit) is ours, not the client's idleness.
      if (this.busy) return this.armIdleTimer();
      try {
        this.enqueueOutput({ ...this.engine.idleTimeout(), then: 'close' });
      } catch (err) {
        this.fail(err);
      }
    }, ms);
    this.idleTimer.unref();
  }

  private fail(err: unknown): void {
    // Our bug, never the client's business: log it and drop the connection; the process goes on.
    this.options.logger.error({ event: 'conn.engine_error', session: this.options.context.sessionId, err }, 'engine error');
    this.close();
  }

  private end(): void {
    if (this.closed) return;
    if (!this.compressing && this.socket.writableLength === 0 && !(this.socket instanceof TLSSocket)) {
      // Everything is with the kernel, which still delivers it after close(2): closing now spares a
      // shutdown(2) that fails (and builds an exception) whenever the client hung up first.
      this.socket.destroy();
    } else {
      this.socket.end();
      // A client that never reads must not keep the socket open forever.
      setTimeout(() => this.socket.destroy(), 5000).unref();
    }
    this.close();
  }

  private close(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.idleTimer) clearTimeout(this.idleTimer);
    this.inbox = [];
    // zlib's state lives outside the V8 heap: free it now, not when the streams are collected.
    this.inflate?.destroy();
    this.deflate?.destroy();
    if (this.deflateIdleTimer) clearTimeout(this.deflateIdleTimer);
    if (!this.socket.destroyed && !this.socket.writableEnded) this.socket.end();
    if (this.socket.destroyed === false) setTimeout(() => this.socket.destroy(), 5000).unref();
    try {
      this.engine.closed();
    } catch (err) {
      this.options.logger.error({ event: 'conn.engine_error', err }, 'engine close error');
    }
    this.options.onClose?.();
  }
}

const INBOX_PAUSE_BYTES = 256 * 1024;
/** Output not yet taken by the client above which its further input waits (pipelined floods). */
const OUTPUT_PAUSE_BYTES = 1024 * 1024;
/** Outputs queued behind a full socket (or the compressor) above which further input waits too. */
const MAX_QUEUED_OUTPUTS = 64;
/** Compressor window 2^11 = 2 KB; memLevel 5 (zlib's defaults: 15 and 8, ~300 KB per compressor). */
const DEFLATE_WINDOW_BITS = 11;
const DEFLATE_MEM_LEVEL = 5;
/** An idle compressed connection gives its compressor back after this long without output. */
const DEFLATE_IDLE_MS = 5000;
/** The inflater keeps one output buffer of this size for the whole connection (zlib's default: 16 KB). */
const INFLATE_CHUNK_BYTES = 4 * 1024;

function toBuffer(part: string | Buffer): Buffer {
  return typeof part === 'string' ? Buffer.from(part, 'utf8') : part;
}
