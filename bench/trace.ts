/**
 * `npm run bench:trace`: what recording the message trace costs SMTP acceptance. Two Postamt servers, one
 * with `trace.enabled = true` and one with false, take the same load (../shared/bench smtp_load.py, as
 * `npm run bench` drives it) in alternating rounds of the same run; the table shows the medians and the cost.
 *
 *   npm run bench:trace -- [--rounds 3] [--n 3000] [--conc 20] [--size 5120]
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort, postamtCli, repoRoot, sharedBench, waitPort } from './lib/postamt.ts';
import { median } from './lib/results.ts';
import { benchArgs } from './lib/args.ts';

const args = benchArgs();
const rounds = args.number('rounds', 3);
const n = args.number('n', 3000);
const conc = args.number('conc', 20);
const size = args.number('size', 5120);

interface LoadResult { accept_msgs_per_s?: number; p50_ms?: number; p99_ms?: number; rc: number; stderr?: string }

function load(port: number, count: number, driver: 'source' | 'node'): LoadResult {
  const r = spawnSync('python3', [join(sharedBench, 'smtp_load.py'), `127.0.0.1:${port}`, '-c', String(conc), '-n', String(count), '-s', String(size), '--driver', driver, '--to', 'user@test.example', '--json', '--wait-timeout', '300'], { encoding: 'utf8' });
  try {
    return JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as LoadResult;
  } catch {
    return { rc: 99, stderr: r.stderr.slice(-300) };
  }
}

interface Server { label: string; port: number; child: ChildProcess; cpuMs: () => number }

async function start(dir: string, trace: boolean): Promise<Server> {
  const port = await freePort();
  mkdirSync(dir, { recursive: true });
  const config = join(dir, 'postamt.toml');
  writeFileSync(config, [
    'hostname = "bench.postamt.test"', `data_dir = "${join(dir, 'data')}"`, 'log_level = "warn"',
    '[listen]', `smtp = "127.0.0.1:${port}"`, 'submission = ""', 'submissions = ""', 'imap = ""', 'imaps = ""', 'pop3 = ""', 'pop3s = ""', 'http = ""', 'https = ""',
    '[trace]', `enabled = ${trace}`,
  ].join('\n') + '\n');
  postamtCli(config, ['domain', 'add', 'test.example']);
  postamtCli(config, ['user', 'add', 'user@test.example', '--password-stdin'], 'bench-password\n');
  const child = spawn(process.execPath, [join(repoRoot, 'bin/postamt.js'), '--config', config, 'serve'], { stdio: ['ignore', 'ignore', 'ignore'] });
  // A loaded machine can take a while to start a server; one that never listens is not left behind.
  await waitPort(port, 120_000).catch((err: unknown) => {
    child.kill('SIGTERM');
    throw err;
  });
  const cpuMs = (): number => {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(fields[11]) + Number(fields[12])) * 10;
  };
  return { label: trace ? 'trace on' : 'trace off', port, child, cpuMs };
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-bench-trace-'));
  const results: Record<string, Record<string, number[]>> = {};
  const record = (label: string, key: string, value: number | undefined): void => {
    if (value === undefined || Number.isNaN(value)) return;
    ((results[label] ??= {})[key] ??= []).push(value);
  };
  const servers: Server[] = [];
  try {
    servers.push(await start(join(dir, 'on'), true), await start(join(dir, 'off'), false));
    for (let round = 1; round <= rounds; round++) {
      // Alternate which server goes first, so both see the same drift of the machine.
      const order = round % 2 === 1 ? servers : [...servers].reverse();
      for (const s of order) {
        process.stderr.write(`round ${round}/${rounds}: ${s.label}\n`);
        const cpu0 = s.cpuMs();
        const a = load(s.port, n, 'source');
        if (a.rc !== 0) throw new Error(`load on ${s.label} failed: ${a.stderr ?? ''}`);
        record(s.label, 'accept msg/s', a.accept_msgs_per_s);
        record(s.label, 'server CPU ms/msg', (s.cpuMs() - cpu0) / n);
        const l = load(s.port, Math.min(n, 2000), 'node');
        record(s.label, 'p50 ms', l.p50_ms);
        record(s.label, 'p99 ms', l.p99_ms);
      }
    }
  } finally {
    for (const s of servers) s.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 500));
    rmSync(dir, { recursive: true, force: true });
  }
  const keys = ['accept msg/s', 'server CPU ms/msg', 'p50 ms', 'p99 ms'];
  const on = (k: string): number => median(results['trace on']?.[k] ?? []);
  const off = (k: string): number => median(results['trace off']?.[k] ?? []);
  const lines = [
    `SMTP acceptance, ${size} B messages, ${n} per round, ${conc} connections, ${rounds} rounds (median; rounds: on | off)`,
    '',
    '| | trace on | trace off | cost |',
    '|---|---|---|---|',
    ...keys.map((k) => {
      const cost = k === 'accept msg/s' ? (1 - on(k) / off(k)) * 100 : (on(k) / off(k) - 1) * 100;
      const fmt = (v: number): string => (k.includes('CPU') ? v.toFixed(3) : v.toFixed(k.includes('msg/s') ? 0 : 1));
      return `| ${k} | ${fmt(on(k))} | ${fmt(off(k))} | ${cost >= 0 ? '+' : ''}${cost.toFixed(1)} % |`;
    }),
    '',
    ...keys.map((k) => `${k}: on ${(results['trace on']?.[k] ?? []).map((v) => v.toFixed(2)).join(' ')} | off ${(results['trace off']?.[k] ?? []).map((v) => v.toFixed(2)).join(' ')}`),
  ];
  process.stdout.write(lines.join('\n') + '\n');
}

await main();
