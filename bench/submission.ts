/**
 * Authenticated submission over implicit TLS (port 465 role): N concurrent clients, each a TLS session
 * that authenticates once (AUTH PLAIN) and sends messages one after another to a local mailbox; reports
 * messages/s and per-message latency p50/p99. Postfix is not run side by side: ../shared/bench has no
 * SASL-enabled Postfix instance.
 *
 *   node --import tsx bench/submission.ts [--conc 20] [--count 3000] [--size 5120]
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import tls from 'node:tls';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postamtCli, waitPort } from './lib/postamt.ts';
import { benchArgs } from './lib/args.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const args = benchArgs();
const conc = args.number('conc', 20);
const count = args.number('count', 3000);
const size = args.number('size', 5120);
const PORT = 12665;

/** A minimal SMTP client over one TLS socket: one command at a time, multi-line replies. */
class Session {
  private buffer = '';
  private waiters: ((line: string) => void)[] = [];
  constructor(private readonly socket: tls.TLSSocket) {
    socket.setEncoding('utf8');
    socket.on('data', (d: string) => {
      this.buffer += d;
      for (;;) {
        const m = /^(\d{3}) [^\n]*\n/m.exec(this.buffer);
        if (!m) break;
        const end = m.index + m[0].length;
        const reply = this.buffer.slice(0, end);
        this.buffer = this.buffer.slice(end);
        this.waiters.shift()?.(reply);
      }
    });
  }
  reply(): Promise<string> {
    return new Promise((r) => this.waiters.push(r));
  }
  async send(line: string, expect: string): Promise<void> {
    const p = this.reply();
    this.socket.write(line);
    const r = await p;
    if (!r.startsWith(expect)) throw new Error(`${line.trim()} → ${r.trim()}`);
  }
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-subbench-'));
  const config = join(dir, 'postamt.toml');
  writeFileSync(config, ['hostname = "bench.postamt.test"', `data_dir = "${join(dir, 'data')}"`, 'log_level = "warn"', '[listen]', 'smtp = ""', 'submission = ""', `submissions = "127.0.0.1:${PORT}"`, 'imap = ""', 'imaps = ""', 'pop3 = ""', 'pop3s = ""', 'http = ""', 'https = ""', '[submission]', 'rate_messages_per_hour = 10000000', 'rate_recipients_per_hour = 10000000'].join('\n'));
  postamtCli(config, ['domain', 'add', 'test.example']);
  postamtCli(config, ['user', 'add', 'user@test.example', '--password-stdin'], 'bench-password\n');
  const child = spawn(process.execPath, [join(root, 'bin/postamt.js'), '--config', config, 'serve'], { stdio: ['ignore', 'ignore', 'ignore'] });
  try {
    await waitPort(PORT);
    const ca = readFileSync(join(dir, 'data', 'tls', 'selfsigned.crt'), 'utf8');
    const line = `${'x'.repeat(76)}\r\n`;
    const body = `From: <user@test.example>\r\nTo: <user@test.example>\r\nSubject: bench\r\n\r\n${line.repeat(Math.max(1, Math.floor(size / line.length)))}.\r\n`;
    const auth = Buffer.from('\0user@test.example\0bench-password').toString('base64');
    const latencies: number[] = [];
    let next = 0;
    const t0 = performance.now();
    await Promise.all(Array.from({ length: conc }, async () => {
      const socket = tls.connect({ host: '127.0.0.1', port: PORT, ca, servername: 'bench.postamt.test' });
      const s = new Session(socket);
      await s.reply();
      await s.send('EHLO bench.example\r\n', '250');
      await s.send(`AUTH PLAIN ${auth}\r\n`, '235');
      while (next < count) {
        next++;
        const start = performance.now();
        await s.send('MAIL FROM:<user@test.example>\r\n', '250');
        await s.send('RCPT TO:<user@test.example>\r\n', '250');
        await s.send('DATA\r\n', '354');
        await s.send(body, '250');
        latencies.push(performance.now() - start);
      }
      socket.end('QUIT\r\n');
    }));
    const seconds = (performance.now() - t0) / 1000;
    latencies.sort((a, b) => a - b);
    const pct = (p: number): string => latencies[Math.min(latencies.length - 1, Math.floor(latencies.length * p))]!.toFixed(2);
    console.log(`| authenticated submission over TLS (${size} B, ${conc} sessions, ${count} msgs) | ${(count / seconds).toFixed(0)} msg/s | p50 ${pct(0.5)} ms | p99 ${pct(0.99)} ms |`);
  } finally {
    child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
