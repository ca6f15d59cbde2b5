/**
 * A tiny raw-socket SMTP client for tests that must send exact bytes (pipelining, BDAT, bare LF,
 * smuggling attempts): it writes what it is given and parses the server's replies, nothing more.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions, type TLSSocket } from 'node:tls';

export interface SmtpReply {
  code: number;
  /** The enhanced status code of the last line (RFC 2034), or null. */
  enhanced: string | null;
  /** Text of each line without the code and separator. */
  lines: string[];
  text: string;
}

export interface RawSmtpOptions {
  host?: string;
  /** Default time to wait for a reply before rejecting. */
  timeoutMs?: number;
}

export class RawSmtp {
  private socket: Socket | TLSSocket;
  private buffer = Buffer.alloc(0);
  private readonly replies: SmtpReply[] = [];
  private waiters: Array<() => void> = [];
  private readonly timeoutMs: number;
  private readonly host: string;
  /** True once the server closed the connection (or it failed). */
  closed = false;

  private constructor(socket: Socket | TLSSocket, options: RawSmtpOptions) {
    this.socket = socket;
    this.timeoutMs = options.timeoutMs ?? 10_000;
    this.host = options.host ?? '127.0.0.1';
    this.attach(socket);
  }

  /** Connects and waits for the greeting (returned as `greeting`). */
  static connect(port: number, options: RawSmtpOptions = {}): Promise<{ client: RawSmtp; greeting: SmtpReply }> {
    return RawSmtp.greeted(netConnect({ host: options.host ?? '127.0.0.1', port }), 'connect', options);
  }

  /** Connects with implicit TLS (RFC 8314 §3.3), verifying the server by `tls`, and waits for the greeting. */
  static connectTls(port: number, tls: ConnectionOptions, options: RawSmtpOptions = {}): Promise<{ client: RawSmtp; greeting: SmtpReply }> {
    return RawSmtp.greeted(tlsConnect({ host: options.host ?? '127.0.0.1', port, ...tls }), 'secureConnect', options);
  }

  private static async greeted(socket: Socket | TLSSocket, ready: 'connect' | 'secureConnect', options: RawSmtpOptions): Promise<{ client: RawSmtp; greeting: SmtpReply }> {
    await new Promise<void>((resolve, reject) => {
      socket.once(ready, resolve);
      socket.once('error', reject);
    });
    const client = new RawSmtp(socket, options);
    return { client, greeting: await client.read() };
  }

  /** The TLS socket (peer certificate, protocol); throws on a plain connection. */
  get tls(): TLSSocket {
    if (!('encrypted' in this.socket)) throw new Error('not a TLS connection');
    return this.socket;
  }

  /** Replies received but not yet read, counting a partial one. */
  pending(): number {
    return this.replies.length + (this.buffer.length > 0 ? 1 : 0);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer = Buffer.concat([this.buffer, chunk]);
      this.parse();
    });
    const end = (): void => {
      this.closed = true;
      this.wake();
    };
    socket.on('close', end);
    socket.on('end', end);
    socket.on('error', end);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const w of waiters) w();
  }

  private parse(): void {
    let lines: string[] = [];
    let consumed = 0;
    for (;;) {
      const nl = this.buffer.indexOf(0x0a, consumed);
      if (nl < 0) break;
      const line = this.buffer.subarray(consumed, nl).toString('utf8').replace(/\r$/, '');
      consumed = nl + 1;
      lines.push(line);
      if (/^\d{3}(?: |$)/.test(line)) {
        const code = Number(line.slice(0, 3));
        const texts = lines.map((l) => l.slice(4));
        const last = texts[texts.length - 1] ?? '';
        const enhanced = /^([245]\.\d{1,3}\.\d{1,3})(?: |$)/.exec(last)?.[1] ?? null;
        this.replies.push({ code, enhanced, lines: texts, text: texts.join('\n') });
        this.buffer = this.buffer.subarray(consumed);
        consumed = 0;
        lines = [];
      }
    }
    this.wake();
  }

  /** Writes exact bytes. */
  write(data: string | Buffer): void {
    this.socket.write(data);
  }

  /** Resolves with the next complete reply (multi-line replies are joined). */
  async read(timeoutMs = this.timeoutMs): Promise<SmtpReply> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const reply = this.replies.shift();
      if (reply) return reply;
      if (this.closed) throw new Error('connection closed while waiting for a reply');
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`no SMTP reply within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  async readMany(count: number, timeoutMs = this.timeoutMs): Promise<SmtpReply[]> {
    const out: SmtpReply[] = [];
    for (let i = 0; i < count; i++) out.push(await this.read(timeoutMs));
    return out;
  }

  /** Sends one command line (CRLF added) and reads its reply. */
  async command(line: string, timeoutMs = this.timeoutMs): Promise<SmtpReply> {
    this.write(`${line}\r\n`);
    return this.read(timeoutMs);
  }

  /**
   * Issues STARTTLS and upgrades the socket, trusting `ca`. Returns the STARTTLS reply.
   * `pipelined` bytes are sent in the same write after the command (an injection attempt).
   */
  async startTls(ca: string, options: { servername?: string; pipelined?: string } = {}): Promise<SmtpReply> {
    this.write(`STARTTLS\r\n${options.pipelined ?? ''}`);
    const reply = await this.read();
    if (reply.code !== 220) return reply;
    await this.upgrade({ ca, servername: options.servername ?? 'localhost', checkServerIdentity: () => undefined });
    return reply;
  }

  /**
   * Replaces the plain socket with TLS over it, after the server's 220 to STARTTLS. Bytes received
   * in the clear and not yet parsed are dropped (RFC 3207 §4.2: nothing from before the handshake counts).
   */
  async upgrade(tls: ConnectionOptions): Promise<TLSSocket> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('end');
    plain.removeAllListeners('error');
    const secure = tlsConnect({ socket: plain as Socket, ...tls });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.buffer = Buffer.alloc(0);
    this.attach(secure);
    return secure;
  }

  /** Resolves once the server has closed the connection. */
  async waitClosed(timeoutMs = this.timeoutMs): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed) {
      if (Date.now() > deadline) throw new Error('connection still open');
      await new Promise((r) => setTimeout(r, 10));
    }
  }

  close(): void {
    this.socket.destroy();
  }

  get hostName(): string {
    return this.host;
  }
}

/** One whole transaction over a fresh connection with DATA; returns the reply after end of data. */
export async function sendRaw(port: number, envelope: { from: string; to: string[]; data: string | Buffer; helo?: string }, options: RawSmtpOptions = {}): Promise<SmtpReply> {
  const { client, greeting } = await RawSmtp.connect(port, options);
  try {
    if (greeting.code !== 220) return greeting;
    const ehlo = await client.command(`EHLO ${envelope.helo ?? 'client.test'}`);
    if (ehlo.code !== 250) return ehlo;
    const mail = await client.command(`MAIL FROM:<${envelope.from}>`);
    if (mail.code !== 250) return mail;
    let accepted = 0;
    let lastRcpt: SmtpReply | null = null;
    for (const to of envelope.to) {
      lastRcpt = await client.command(`RCPT TO:<${to}>`);
      if (lastRcpt.code === 250) accepted++;
    }
    if (accepted === 0) return lastRcpt!;
    const data = await client.command('DATA');
    if (data.code !== 354) return data;
    client.write(envelope.data);
    client.write('.\r\n');
    const end = await client.read();
    client.write('QUIT\r\n');
    return end;
  } finally {
    setTimeout(() => client.close(), 50).unref();
  }
}

/** Dot-stuffs CRLF text for DATA (RFC 5321 §4.5.2) and makes sure it ends with CRLF. */
export function dotStuff(text: string): string {
  const body = text.endsWith('\r\n') ? text : `${text}\r\n`;
  return body.replace(/(^|\r\n)\./g, '$1..');
}
