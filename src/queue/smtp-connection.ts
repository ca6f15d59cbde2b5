/**
 * The socket driver for the SMTP client engine: owns one connection to one peer address, feeds replies to
 * SmtpClientSession, writes its commands and the encoded body, applies the RFC 5321 §4.5.3.2 timeouts,
 * upgrades to TLS on STARTTLS, and exposes open() / send() / close() to the delivery code.
 */
import type { Socket } from 'node:net';
import type { TLSSocket } from 'node:tls';
import { dial, upgradeToTls, type TlsClientOptions } from '../transport/dialer.ts';
import { DataEncoder } from '../protocols/smtp/client-data.ts';
import { ReplyParser, makeReply, type SmtpReply } from '../protocols/smtp/client-reply.ts';
import {
  SmtpClientSession,
  type ClientAction,
  type ClientTimeouts,
  type ClientTlsMode,
  type ClientTransaction,
  type TransactionResult,
} from '../protocols/smtp/client-session.ts';

export interface SmtpConnectionOptions {
  ip: string;
  port: number;
  /** The MX (or smarthost) name: TLS SNI and certificate name. */
  hostname: string;
  heloName: string;
  tlsMode: ClientTlsMode;
  implicitTls?: boolean;
  verifyCertificates?: boolean;
  /** Opportunistic TLS whose handshake fails: reconnect in plain text (default true for 'opportunistic'). */
  allowPlainFallback?: boolean;
  ca?: TlsClientOptions['ca'];
  auth?: { username: string; password: string } | null;
  allowPlaintextAuth?: boolean;
  connectTimeoutMs?: number;
  timeouts?: Partial<ClientTimeouts>;
  localAddress?: string;
  maxReplyLineBytes?: number;
  /**
   * Called once TLS is up (DANE, MTA-STS): a string ends the connection before EHLO is sent again, so no
   * message goes to a peer whose certificate the policy refuses.
   */
  tlsCheck?: ((socket: TLSSocket) => string | null) | null;
}

export type OpenResult =
  | { ok: true; connection: SmtpConnection }
  /** `connected`: false when no TCP connection was made at all (connection refused, timeout). */
  | { ok: false; reply: SmtpReply; stage: string; connected: boolean };

/** Pieces of a stored body written at a time (views, not copies): RFC 5321 §4.5.3.2.5's data block timeout applies to each. */
const WRITE_CHUNK = 256 * 1024;

export class SmtpConnection {
  readonly options: SmtpConnectionOptions;
  #socket: Socket;
  #session: SmtpClientSession;
  #parser: ReplyParser;
  #timer: NodeJS.Timeout | null = null;
  #events: ClientAction[] = [];
  #wake: (() => void) | null = null;
  #closed = false;
  #busy = Promise.resolve();

  private constructor(socket: Socket, options: SmtpConnectionOptions) {
    this.options = options;
    this.#socket = socket;
    this.#parser = new ReplyParser({ maxLineBytes: options.maxReplyLineBytes });
    this.#session = new SmtpClientSession({
      heloName: options.heloName,
      tlsMode: options.tlsMode,
      tlsActive: options.implicitTls ?? false,
      auth: options.auth,
      allowPlaintextAuth: options.allowPlaintextAuth,
      timeouts: options.timeouts,
    });
    this.#attach(socket);
  }

  /** Connects, reads the greeting, EHLO/HELO, STARTTLS and AUTH; resolves when ready for a transaction. */
  static async open(options: SmtpConnectionOptions): Promise<OpenResult> {
    const first = await SmtpConnection.#openOnce(options);
    const fallback = options.allowPlainFallback ?? options.tlsMode === 'opportunistic';
    // RFC 7435 §3: opportunistic TLS that fails to negotiate falls back to cleartext on a new connection.
    if (!first.ok && first.stage === 'tls-handshake' && options.tlsMode === 'opportunistic' && fallback) {
      return SmtpConnection.#openOnce({ ...options, tlsMode: 'none' });
    }
    return first;
  }

  static async #openOnce(options: SmtpConnectionOptions): Promise<OpenResult> {
    const timeouts = new SmtpClientSession({ heloName: '', tlsMode: 'none', timeouts: options.timeouts }).timeouts;
    let socket: Socket;
    try {
      socket = await dial({
        host: options.ip,
        port: options.port,
        localAddress: options.localAddress,
        timeoutMs: options.connectTimeoutMs ?? 30_000,
        tls: options.implicitTls ? tlsOptions(options) : null,
      });
    } catch (err) {
      return { ok: false, reply: makeReply(451, '4.4.1', (err as Error).message, { local: true }), stage: 'connect', connected: false };
    }
    const conn = new SmtpConnection(socket, options);
    conn.#arm(timeouts.greetingMs);
    const ev = await conn.#waitFor(['ready', 'failed']);
    if (ev.kind === 'ready') return { ok: true, connection: conn };
    const failed = ev as Extract<ClientAction, { kind: 'failed' }>;
    return { ok: false, reply: failed.reply, stage: failed.stage, connected: true };
  }

  get tlsProtocol(): string | null {
    const s = this.#socket as TLSSocket;
    return typeof s.getProtocol === 'function' ? s.getProtocol() : null;
  }

  get remoteAddress(): string {
    return this.options.ip;
  }

  get isUsable(): boolean {
    return !this.#closed && this.#session.phase === 'ready';
  }

  get session(): SmtpClientSession {
    return this.#session;
  }

  /** Calls `listener` once when the connection ends (at once if it already has). */
  onClose(listener: () => void): void {
    if (this.#closed) listener();
    else this.#closeListeners.push(listener);
  }

  #closeListeners: (() => void)[] = [];

  /** One transaction; the body is the stored message (any line endings), encoded here. */
  async send(tx: ClientTransaction, body: Buffer | AsyncIterable<Buffer>): Promise<TransactionResult> {
    if (!this.isUsable) throw new Error('SMTP connection is not ready');
    this.#body = body;
    this.#events = [];
    this.#handle(this.#session.beginTransaction(tx));
    const ev = await this.#waitFor(['transaction-done']);
    return (ev as Extract<ClientAction, { kind: 'transaction-done' }>).result;
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    if (this.#session.phase === 'ready') {
      this.#handle(this.#session.quit());
      await Promise.race([this.#waitFor(['close']), new Promise((r) => setTimeout(r, 2000).unref())]);
    }
    this.#destroy();
  }

  #body: Buffer | AsyncIterable<Buffer> | null = null;

  #attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      if (this.#closed) return;
      this.#disarm();
      for (const reply of this.#parser.feed(chunk)) {
        if (this.#closed) break;
        this.#handle(this.#session.receive(reply));
      }
    });
    socket.on('error', () => {
      /* reported through 'close' */
    });
    socket.on('close', () => {
      if (this.#closed || this.#upgrading) return;
      this.#handle(this.#session.connectionLost('closed'));
      this.#destroy();
    });
  }

  #upgrading = false;

  #handle(actions: ClientAction[]): void {
    for (const action of actions) {
      switch (action.kind) {
        case 'send':
          if (!this.#closed) this.#socket.write(action.data);
          break;
        case 'starttls':
          this.#startTls();
          return; // nothing follows a starttls action
        case 'send-body':
          this.#busy = this.#busy.then(() => this.#writeBody());
          break;
        case 'close':
          this.#push(action);
          this.#destroy();
          break;
        default:
          this.#push(action);
      }
    }
    if (!this.#closed && this.#session.phase !== 'ready' && this.#session.phase !== 'body') this.#arm(this.#session.timeoutMs);
  }

  #startTls(): void {
    // RFC 3207 §4.2: anything received before the handshake is discarded (CVE-2011-0411 style injection).
    this.#upgrading = true;
    this.#disarm();
    const raw = this.#socket;
    raw.removeAllListeners('data');
    raw.removeAllListeners('close');
    this.#parser = new ReplyParser({ maxLineBytes: this.options.maxReplyLineBytes });
    upgradeToTls(raw, tlsOptions(this.options), this.#session.timeouts.greetingMs).then(
      (secure) => {
        this.#upgrading = false;
        this.#socket = secure;
        this.#attach(secure);
        const refused = this.options.tlsCheck?.(secure) ?? null;
        if (refused !== null) {
          this.#push({ kind: 'failed', reply: makeReply(451, '4.7.5', refused, { local: true }), stage: 'tls-verify' });
          this.#destroy();
          return;
        }
        this.#handle(this.#session.tlsStarted());
      },
      (err: Error) => {
        this.#upgrading = false;
        this.#push({ kind: 'failed', reply: makeReply(451, '4.7.5', err.message, { local: true }), stage: 'tls-handshake' });
        this.#destroy();
      },
    );
  }

  async #writeBody(): Promise<void> {
    const body = this.#body;
    this.#body = null;
    if (!body) return;
    const encoder = new DataEncoder();
    const blockMs = this.#session.timeouts.dataBlockMs;
    try {
      const chunks: AsyncIterable<Buffer> | Buffer[] = Buffer.isBuffer(body) ? splitChunks(body) : body;
      // The last piece and the terminator go out in one write (corked): one syscall fewer per message.
      let held: Buffer | null = null;
      for await (const chunk of chunks) {
        if (held) await this.#write(held, blockMs);
        held = encoder.encode(chunk);
      }
      const end = encoder.end();
      await this.#write(held ? [held, end] : [end], blockMs);
      this.#arm(this.#session.timeoutMs);
    } catch (err) {
      this.#handle(this.#session.connectionLost('timeout', (err as Error).message));
      this.#destroy();
    }
  }

  /** Writes the buffers as one (corked: one syscall); waits for 'drain' when the socket's buffer is full. */
  #write(data: Buffer | Buffer[], timeoutMs: number): Promise<void> {
    if (this.#closed) return Promise.reject(new Error('connection closed'));
    let flushed: boolean;
    if (Array.isArray(data)) {
      this.#socket.cork();
      flushed = data.map((b) => this.#socket.write(b)).every(Boolean);
      this.#socket.uncork();
    } else flushed = this.#socket.write(data);
    if (flushed) return Promise.resolve();
    // RFC 5321 §4.5.3.2.5: each block must be taken within the data block timeout.
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('data block timeout')), timeoutMs);
      this.#socket.once('drain', () => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  #arm(ms: number): void {
    this.#disarm();
    this.#timer = setTimeout(() => {
      this.#timer = null;
      if (this.#closed) return;
      this.#handle(this.#session.connectionLost('timeout', this.#session.phase));
      this.#destroy();
    }, ms);
  }

  #disarm(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
  }

  #push(action: ClientAction): void {
    this.#events.push(action);
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  async #waitFor(kinds: ClientAction['kind'][]): Promise<ClientAction> {
    for (;;) {
      const idx = this.#events.findIndex((e) => kinds.includes(e.kind));
      if (idx >= 0) return this.#events.splice(0, idx + 1).pop()!;
      const failed = this.#events.find((e) => e.kind === 'failed');
      if (failed && !kinds.includes('transaction-done')) return failed;
      if (this.#closed && !this.#upgrading) {
        return kinds.includes('transaction-done')
          ? { kind: 'transaction-done', result: { recipients: [], peerSupportsDsn: false } }
          : failed ?? { kind: 'failed', reply: makeReply(451, '4.4.2', 'connection closed', { local: true }), stage: 'closed' };
      }
      await new Promise<void>((resolve) => (this.#wake = resolve));
    }
  }

  #destroy(): void {
    if (this.#closed) return;
    this.#closed = true;
    this.#disarm();
    this.#socket.destroy();
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
    this.#closeListeners.splice(0).forEach((listener) => listener());
  }
}

function tlsOptions(options: SmtpConnectionOptions): TlsClientOptions {
  return { servername: options.hostname, verifyCertificates: options.verifyCertificates ?? false, ca: options.ca };
}

function splitChunks(body: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let i = 0; i < body.length; i += WRITE_CHUNK) out.push(body.subarray(i, i + WRITE_CHUNK));
  return out;
}
