/**
 * A raw line client for hostile tests of SMTP, IMAP and POP3: writes exact bytes, collects everything
 * the server sends, and waits for a pattern or for the close. Never interprets the protocol itself.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket, type ConnectionOptions } from 'node:tls';

export interface ConnOptions {
  host?: string;
  localAddress?: string;
  /** Connect with implicit TLS (trusting `ca`). */
  tls?: { ca: string } | null;
  timeoutMs?: number;
}

export class Conn {
  socket: Socket | TLSSocket;
  /** Everything received so far (latin1 text). */
  text = '';
  /** Offset up to which `expect` has consumed `text`. */
  mark = 0;
  closed = false;
  private waiters: Array<() => void> = [];
  readonly timeoutMs: number;

  private constructor(socket: Socket | TLSSocket, timeoutMs: number) {
    this.socket = socket;
    this.timeoutMs = timeoutMs;
    this.attach(socket);
  }

  static async open(port: number, options: ConnOptions = {}): Promise<Conn> {
    const host = options.host ?? '127.0.0.1';
    const socket = options.tls
      ? tlsConnect({ host, port, ca: options.tls.ca, servername: 'mx.postamt.test', ...(options.localAddress ? { localAddress: options.localAddress } : {}), checkServerIdentity: () => undefined })
      : netConnect({ host, port, ...(options.localAddress ? { localAddress: options.localAddress } : {}) });
    await new Promise<void>((resolve, reject) => {
      socket.once(options.tls ? 'secureConnect' : 'connect', resolve);
      socket.once('error', reject);
    });
    return new Conn(socket, options.timeoutMs ?? 10_000);
  }

  private attach(socket: Socket | TLSSocket): void {
    socket.on('data', (chunk: Buffer) => {
      this.text += chunk.toString('latin1');
      // Bounded memory: what `expect` consumed is dropped first; only a flood nobody reads loses its oldest part.
      if (this.text.length > 4_000_000) {
        this.text = this.text.slice(this.mark);
        this.mark = 0;
        if (this.text.length > 4_000_000) this.text = this.text.slice(-1_000_000);
      }
      this.wake();
    });
    socket.on('error', () => undefined);
    socket.on('close', () => {
      this.closed = true;
      this.wake();
    });
  }

  private wake(): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f();
  }

  write(data: string | Buffer): void {
    if (!this.socket.destroyed) this.socket.write(data);
  }

  /** Waits until the unread text matches `pattern`; returns the text up to the end of the match and consumes it. */
  async expect(pattern: RegExp, timeoutMs = this.timeoutMs): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const rest = this.text.slice(this.mark);
      const m = pattern.exec(rest);
      if (m) {
        const end = m.index + m[0].length;
        this.mark += end;
        return rest.slice(0, end);
      }
      if (this.closed) throw new Error(`closed while waiting for ${pattern}; got ${JSON.stringify(rest.slice(-300))}`);
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${pattern}; got ${JSON.stringify(rest.slice(-300))}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends a line (CRLF added) and waits for `pattern`. */
  async cmd(line: string, pattern: RegExp, timeoutMs?: number): Promise<string> {
    this.write(`${line}\r\n`);
    return this.expect(pattern, timeoutMs);
  }

  /** Resolves true when the server closed the connection within `timeoutMs`. */
  async waitClosed(timeoutMs = this.timeoutMs): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (!this.closed && Date.now() < deadline) {
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.closed;
  }

  /** Upgrades the connection after STARTTLS/STLS; returns what was unread before the handshake. */
  async startTls(ca: string, extra: ConnectionOptions = {}): Promise<string> {
    const before = this.text.slice(this.mark);
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    const secure = tlsConnect({ socket: plain as Socket, ca, servername: 'mx.postamt.test', checkServerIdentity: () => undefined, ...extra });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', resolve);
      secure.once('error', reject);
    });
    this.socket = secure;
    this.text = '';
    this.mark = 0;
    this.attach(secure);
    return before;
  }

  close(): void {
    this.socket.destroy();
  }
}

/** Whole SMTP reply ending at a final line (`NNN ` or `NNN-` continuation lines first). */
export const SMTP_REPLY = /(?:^|\n)\d{3} [^\n]*\n/;
export const smtpReply = (code: number | string): RegExp => new RegExp(`(?:^|\\n)${code}[ ][^\\n]*\\n`);

/** Plain SMTP session helper: greeting, EHLO. */
export async function smtpOpen(port: number, options: ConnOptions = {}): Promise<Conn> {
  const c = await Conn.open(port, options);
  await c.expect(SMTP_REPLY);
  await c.cmd('EHLO hostile.test', SMTP_REPLY);
  return c;
}

export function lastCode(reply: string): number {
  const lines = reply.trim().split(/\r?\n/);
  return Number(lines[lines.length - 1]!.slice(0, 3));
}
