/**
 * Bench helper: a minimal raw-socket IMAP / POP3 client that only frames responses (tagged line,
 * POP3 status line, "CRLF.CRLF" end of a multi-line reply) and counts bytes, so the client costs
 * little and the same for every server measured.
 */
import net from 'node:net';

const CRLF = Buffer.from('\r\n');

export interface Reply {
  /** The tagged (IMAP) or status (POP3) line, without CRLF. */
  line: string;
  bytes: number;
  ms: number;
}

type Waiter = { match: (window: Buffer, added: number) => { end: number; line: string } | null; resolve: (r: { line: string }) => void; reject: (e: Error) => void };

class Framed {
  static timeoutMs = 300_000;
  protected readonly socket: net.Socket;
  /** The unmatched tail of the stream (bounded: only what a terminator may still need). */
  private window: Buffer = CRLF;
  private waiter: Waiter | null = null;
  private closedError: Error | null = null;
  bytes = 0;
  /** When set, every byte received is also kept here (for small replies whose content is checked). */
  capture: Buffer[] | null = null;

  protected constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('data', (chunk: Buffer) => this.onData(chunk));
    const fail = (err: Error): void => {
      this.closedError = err;
      const w = this.waiter;
      this.waiter = null;
      w?.reject(err);
    };
    socket.on('error', fail);
    socket.on('close', () => fail(new Error('connection closed')));
  }

  protected static open(port: number): Promise<net.Socket> {
    return new Promise((res, rej) => {
      const s = net.connect(port, '127.0.0.1', () => { s.off('error', rej); res(s); });
      s.once('error', rej);
    });
  }

  private onData(chunk: Buffer): void {
    this.bytes += chunk.length;
    this.capture?.push(chunk);
    const keep = Math.min(this.window.length, 1024);
    this.window = Buffer.concat([this.window.subarray(this.window.length - keep), chunk]);
    this.check(chunk.length);
  }

  private check(added: number): void {
    if (!this.waiter) return;
    const hit = this.waiter.match(this.window, added);
    if (!hit) return;
    const w = this.waiter;
    this.waiter = null;
    // Keep a CRLF before what follows so the next line is found like every other.
    this.window = Buffer.concat([CRLF, this.window.subarray(hit.end)]);
    w.resolve({ line: hit.line });
  }

  protected wait(match: Waiter['match']): Promise<{ line: string }> {
    if (this.closedError) return Promise.reject(this.closedError);
    return new Promise((resolve, reject) => {
      // A stuck server fails the bench instead of hanging it.
      const timer = setTimeout(() => {
        this.waiter = null;
        reject(new Error(`no reply within ${Framed.timeoutMs} ms`));
      }, Framed.timeoutMs);
      const done = <T>(f: (v: T) => void) => (v: T): void => { clearTimeout(timer); f(v); };
      this.waiter = { match, resolve: done(resolve), reject: done(reject) };
      this.check(this.window.length);
    });
  }

  /** The first complete line that starts with `prefix` right after a CRLF. */
  protected static lineStarting(prefix: string): Waiter['match'] {
    const needle = Buffer.from(`\r\n${prefix}`);
    return (window) => {
      const i = window.indexOf(needle);
      if (i < 0) return null;
      const j = window.indexOf(CRLF, i + 2);
      if (j < 0) return null;
      return { end: j + 2, line: window.toString('latin1', i + 2, j) };
    };
  }

  close(): void {
    this.socket.destroy();
  }
}

export class ImapClient extends Framed {
  private tagNo = 0;

  static async connect(port: number): Promise<ImapClient> {
    const c = new ImapClient(await Framed.open(port));
    await c.wait(Framed.lineStarting('* '));
    return c;
  }

  /** Sends one command and waits for its tagged completion; throws unless it is OK. */
  async command(text: string, options: { allowNo?: boolean } = {}): Promise<Reply> {
    const tag = `a${++this.tagNo}`;
    const t0 = performance.now();
    const b0 = this.bytes;
    this.socket.write(`${tag} ${text}\r\n`);
    const { line } = await this.wait(Framed.lineStarting(`${tag} `));
    if (!line.startsWith(`${tag} OK`) && !options.allowNo) throw new Error(`${text.slice(0, 40)}: ${line}`);
    return { line, bytes: this.bytes - b0, ms: performance.now() - t0 };
  }

  async login(user: string, password: string): Promise<void> {
    await this.command(`LOGIN ${user} ${password}`);
  }

  /** Enters IDLE and resolves at the server's continuation ("+ idling"). */
  async idle(): Promise<void> {
    const tag = `a${++this.tagNo}`;
    this.socket.write(`${tag} IDLE\r\n`);
    await this.wait(Framed.lineStarting('+'));
  }
}

export class Pop3Client extends Framed {
  static async connect(port: number): Promise<Pop3Client> {
    const c = new Pop3Client(await Framed.open(port));
    await c.status();
    return c;
  }

  private async status(): Promise<string> {
    const { line } = await this.wait((window) => {
      const i = window.indexOf(CRLF, 2);
      return i < 0 ? null : { end: i + 2, line: window.toString('latin1', 2, i) };
    });
    if (!line.startsWith('+OK') && !line.startsWith('+ ')) throw new Error(`POP3: ${line}`);
    return line;
  }

  async command(text: string): Promise<Reply> {
    const t0 = performance.now();
    const b0 = this.bytes;
    this.socket.write(`${text}\r\n`);
    const line = await this.status();
    return { line, bytes: this.bytes - b0, ms: performance.now() - t0 };
  }

  /** A multi-line command (LIST, UIDL, RETR): the status line, then up to "CRLF.CRLF". */
  async multi(text: string): Promise<Reply> {
    const t0 = performance.now();
    const b0 = this.bytes;
    this.socket.write(`${text}\r\n`);
    const line = await this.status();
    // After status() the window starts with CRLF, so an empty listing ".CRLF" is found too.
    const end = Buffer.from('\r\n.\r\n');
    await this.wait((window) => {
      const i = window.indexOf(end);
      return i < 0 ? null : { end: i + 5, line: '' };
    });
    return { line, bytes: this.bytes - b0, ms: performance.now() - t0 };
  }

  async login(user: string, password: string): Promise<void> {
    await this.command(`USER ${user}`);
    await this.command(`PASS ${password}`);
  }
}
