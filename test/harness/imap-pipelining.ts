/**
 * A raw IMAP client over implicit TLS for tests of pipelined writes: it writes commands without waiting,
 * collects everything received, and notes at each tagged answer how many WAL syncs had returned (the
 * count comes from the test, which wraps the store's sync).
 */
import tls from 'node:tls';

export interface PipeliningLogin {
  port: number;
  ca: string;
  servername: string;
  user: string;
  password: string;
}

export class Pipelining {
  received = '';
  /** Tagged status ("s1 OK") → the sync count when it arrived. */
  readonly seen: Record<string, number> = {};
  counter: () => number = () => 0;
  readonly closed: Promise<void>;
  private waiters: (() => void)[] = [];

  private constructor(private readonly socket: tls.TLSSocket) {
    socket.setEncoding('latin1');
    socket.on('data', (d: string) => {
      this.received += d;
      for (const m of d.matchAll(/^(\S+ (?:OK|NO|BAD))/gm)) this.seen[m[1]!] ??= this.counter();
      for (const w of this.waiters.splice(0)) w();
    });
    this.closed = new Promise((resolve) => socket.once('close', () => resolve()));
  }

  static async open(login: PipeliningLogin): Promise<Pipelining> {
    const socket = tls.connect({ host: '127.0.0.1', port: login.port, ca: [login.ca], servername: login.servername });
    await new Promise<void>((resolve, reject) => socket.once('secureConnect', resolve).once('error', reject));
    const c = new Pipelining(socket);
    await c.until('* OK');
    await c.send(`a0 LOGIN ${login.user} "${login.password}"`, 'a0 OK');
    return c;
  }

  /** The sync count when `answer` ("w1 OK") arrived; -1 if it did not. */
  syncsAt(answer: string): number {
    return this.seen[answer] ?? -1;
  }

  write(text: string): void {
    this.socket.write(text);
  }

  async send(line: string, expect: string): Promise<void> {
    this.write(`${line}\r\n`);
    await this.until(expect);
  }

  async until(text: string, timeoutMs = 20_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (!this.received.includes(text)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timeout waiting for ${text}; got: ${this.received}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Resolves true once the server closed the connection, false after `timeoutMs`. */
  async closedWithin(timeoutMs = 20_000): Promise<boolean> {
    let timer: NodeJS.Timeout | undefined;
    const result = await Promise.race([this.closed.then(() => true), new Promise<boolean>((r) => (timer = setTimeout(() => r(false), timeoutMs)))]);
    clearTimeout(timer);
    return result;
  }

  close(): void {
    this.socket.destroy();
  }
}
