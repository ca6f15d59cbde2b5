/**
 * A canary on another port while a bomb runs: a POP3 client that connects, waits for the greeting and
 * hangs up, every 100 ms. Its worst latency is how long the server stopped answering everyone else.
 * Also reads a child server's resident memory from /proc.
 */
import { readFileSync } from 'node:fs';
import { connect } from 'node:net';

export interface Canary {
  /** Stops and returns the latencies seen (ms) and how many greetings failed. */
  stop(): Promise<{ count: number; maxMs: number; failed: number }>;
}

/** One POP3 greeting: true when `+OK` arrived within the time. */
export function greeting(port: number, timeoutMs: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    let text = '';
    const done = (ok: boolean): void => {
      clearTimeout(timer);
      socket.destroy();
      resolve(ok);
    };
    const timer = setTimeout(() => done(false), timeoutMs);
    socket.on('data', (c: Buffer) => {
      text += c.toString('latin1');
      if (text.includes('\r\n')) done(text.startsWith('+OK'));
    });
    socket.on('error', () => done(false));
  });
}

export function startCanary(pop3Port: number): Canary {
  let running = true;
  const latencies: number[] = [];
  let failed = 0;
  const loop = (async () => {
    while (running) {
      const began = performance.now();
      if (!(await greeting(pop3Port, 120_000))) failed++;
      latencies.push(performance.now() - began);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { count: latencies.length, maxMs: Math.round(Math.max(0, ...latencies)), failed };
    },
  };
}

/** VmRSS of a process in MiB (Linux /proc). */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Math.round(Number(m[1]) / 1024) : NaN;
}
