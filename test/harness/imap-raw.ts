/**
 * A line-level IMAP client over implicit TLS for transcript tests: sends one tagged command at a time
 * and returns the untagged lines and the tagged status, exactly as the server wrote them.
 */
import tls from 'node:tls';

export interface RawReply {
  /** Untagged lines without the leading `* ` and CRLF (literals inline as received). */
  untagged: string[];
  /** The tagged status line without the tag, e.g. `OK [READ-WRITE] SELECT completed`. */
  tagged: string;
  /** Everything the server wrote before the tagged line, literals included. */
  raw: string;
}

export class RawImapClient {
  private buf = '';
  private waiters: (() => void)[] = [];
  private n = 0;

  private constructor(private readonly socket: tls.TLSSocket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buf += d;
      for (const w of this.waiters.splice(0)) w();
    });
  }

  static async connect(options: { port: number; ca: string; servername: string }): Promise<RawImapClient> {
    const socket = tls.connect({ host: '127.0.0.1', port: options.port, ca: [options.ca], servername: options.servername });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const c = new RawImapClient(socket);
    await c.until(/^\* OK .*\r\n/m);
    c.buf = '';
    return c;
  }

  /** Connects and logs in with LOGIN (the server must allow it: implicit TLS). */
  static async login(options: { port: number; ca: string; servername: string; user: string; password: string }): Promise<RawImapClient> {
    const c = await RawImapClient.connect(options);
    await c.ok(`LOGIN ${options.user} "${options.password}"`);
    return c;
  }

  private async until(re: RegExp, timeoutMs = 5000): Promise<RegExpExecArray> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const m = re.exec(this.buf);
      if (m !== null) return m;
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${re}; got: ${this.buf}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Sends `text` with a fresh tag and waits for its tagged reply. */
  async command(text: string): Promise<RawReply> {
    const tag = `t${++this.n}`;
    this.socket.write(`${tag} ${text}\r\n`);
    const m = await this.until(new RegExp(`^${tag} (.*)\\r\\n`, 'm'));
    const before = this.buf.slice(0, m.index);
    this.buf = this.buf.slice(m.index + m[0].length);
    const untagged = before.split('\r\n').filter((l) => l.startsWith('* ')).map((l) => l.slice(2));
    return { untagged, tagged: m[1]!, raw: before };
  }

  /**
   * Waits for untagged lines the server sends on its own (IDLE, NOTIFY) until one matches `re`; returns
   * them (without `* `) and consumes them.
   */
  async unsolicited(re: RegExp, timeoutMs = 5000): Promise<string[]> {
    const m = await this.until(new RegExp(`^\\* ${re.source}.*\\r\\n`, 'm'), timeoutMs);
    const upto = this.buf.slice(0, m.index + m[0].length);
    this.buf = this.buf.slice(m.index + m[0].length);
    return upto.split('\r\n').filter((l) => l.startsWith('* ')).map((l) => l.slice(2));
  }

  /** Enters IDLE (RFC 2177); what the server then sends is read with unsolicited(). */
  async idle(): Promise<void> {
    this.socket.write(`i${++this.n} IDLE\r\n`);
    const m = await this.until(/^\+ .*\r\n/m);
    this.buf = this.buf.slice(m.index + m[0].length);
  }

  /** What was received and not yet consumed. */
  pending(): string {
    return this.buf;
  }

  /** APPEND with a non-synchronizing literal (LITERAL+); the untagged lines, or throws unless OK. */
  append(mailbox: string, message: string): Promise<string[]> {
    return this.ok(`APPEND ${mailbox} {${Buffer.byteLength(message)}+}\r\n${message}`);
  }

  /** command() that fails unless the tagged status is OK. */
  async ok(text: string): Promise<string[]> {
    const r = await this.command(text);
    if (!r.tagged.startsWith('OK')) throw new Error(`${text} -> ${r.tagged}`);
    return r.untagged;
  }

  async close(): Promise<void> {
    this.socket.end('z LOGOUT\r\n');
    await new Promise<void>((resolve) => {
      this.socket.once('close', () => resolve());
      setTimeout(resolve, 1000);
    });
    this.socket.destroy();
  }
}
