/**
 * `npm run bench`: SMTP acceptance (and relay) throughput and latency of Postamt, side by side with a
 * private Postfix on the same machine in the same run (../shared/bench harness, Postfix's smtp-source).
 * Rounds alternate the servers so both see the same noise; the table shows the median of the rounds.
 *
 *   npm run bench -- [--rounds 3] [--n5 5000] [--n100 1000] [--conc 20] [--no-postfix] [--only accept,relay]
 *                    [--sizes 5,100] [--prof DIR] [--gap SECONDS]
 *
 * `--sizes 100` runs only the 100 KB scenarios; `--prof DIR` starts the server with `--cpu-prof` and writes
 * its V8 CPU profile (.cpuprofile, open in Chrome DevTools) into DIR when the bench stops it; `--gap` idles
 * the server before each of its scenarios, as Postfix's turn does in a full run (V8 shrinks its heap when
 * idle, which shows up as more garbage collection afterwards), for `--no-postfix` runs.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { postamtCli, waitPort } from './lib/postamt.ts';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const shared = resolve(root, '..', 'shared', 'bench');
const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const rounds = Number(opt('rounds', '3'));
const n5 = Number(opt('n5', '5000'));
const n100 = Number(opt('n100', '1000'));
const conc = Number(opt('conc', '20'));
const only = new Set(opt('only', 'accept,relay,submission').split(','));
const sizes = new Set(opt('sizes', '5,100').split(','));
const profDir = opt('prof', '');
/** Diagnostic: seconds to sleep before each Postamt scenario (to mimic the idle time of a Postfix turn). */
const gapSeconds = Number(opt('gap', '0'));
const withPostfix = !args.includes('--no-postfix') && hasCommand('postfix') && process.getuid?.() === 0;

const PORTS = { postamt: 12625, postfixSmtp: 12525, relaySink: 12526 };

function hasCommand(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;
}

interface LoadResult { accept_msgs_per_s?: number; e2e_msgs_per_s?: number | null; p50_ms?: number; p99_ms?: number; rc: number; stderr?: string; delivered?: number }

function load(target: string, n: number, size: number, extra: string[] = [], driver = 'source', rcpt = 'user@test.example'): LoadResult {
  const r = spawnSync('python3', [join(shared, 'smtp_load.py'), target, '-c', String(conc), '-n', String(n), '-s', String(size), '--driver', driver, '--to', rcpt, '--json', '--wait-timeout', '300', ...extra], { encoding: 'utf8' });
  let result: LoadResult;
  try {
    result = JSON.parse(r.stdout.trim().split('\n').pop() ?? '{}') as LoadResult;
  } catch {
    result = { rc: 99, stderr: r.stderr.slice(-300) };
  }
  if (result.rc !== 0) process.stderr.write(`load ${target} ${driver} ${size}B to ${rcpt} failed: ${result.stderr ?? ''}\n`);
  return result;
}

function startPostamt(dir: string): { child: ChildProcess; config: string; cpuMs: () => number } {
  const config = join(dir, 'postamt.toml');
  writeFileSync(config, [
    'hostname = "bench.postamt.test"', `data_dir = "${join(dir, 'data')}"`, 'log_level = "warn"',
    '[listen]', `smtp = "127.0.0.1:${PORTS.postamt}"`, 'submission = ""', 'submissions = ""', 'imap = ""', 'imaps = ""', 'pop3 = ""', 'pop3s = ""', 'http = ""', 'https = ""',
    '[queue]', `port_override = ${PORTS.relaySink}`, 'tls_policy = "none"',
    '[queue.routes]', `"sink.example" = "127.0.0.1:${PORTS.relaySink}"`,
  ].join('\n'));
  postamtCli(config, ['domain', 'add', 'test.example']);
  postamtCli(config, ['user', 'add', 'user@test.example', '--password-stdin'], 'bench-password\n');
  // The relay scenario: relay.example is ours, and its catch-all forwards to the smtp-sink.
  postamtCli(config, ['domain', 'add', 'relay.example']);
  postamtCli(config, ['alias', 'add', '@relay.example', 'sink@sink.example']);
  const nodeArgs = profDir ? ['--cpu-prof', `--cpu-prof-dir=${resolve(profDir)}`] : [];
  const child = spawn(process.execPath, [...nodeArgs, join(root, 'bin/postamt.js'), '--config', config, 'serve'], { stdio: ['ignore', 'ignore', 'inherit'] });
  // utime + stime of the server process, from /proc (clock ticks of 10 ms).
  const cpuMs = (): number => {
    try {
      const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
      return (Number(fields[11]) + Number(fields[12])) * 10;
    } catch {
      return NaN;
    }
  };
  return { child, config, cpuMs };
}

/**
 * After a relay scenario, empties the queue. The smtp-sink (`-M n`) exits as its n-th message ends, often
 * before its 250 reaches the sender, so that message stays queued: a copy of one the sink counted. Retried a
 * minute later, it would land in another scenario's sink (a message of that run's count), or find the port
 * closed and mark the destination dead (queue.destination_backoff), holding up the next relay run. Postfix's
 * queue is emptied the same way after its turn (postsuper -d ALL).
 */
function dropPostamtLeftovers(config: string): void {
  const queued = JSON.parse(postamtCli(config, ['queue', 'list', '--json'])) as { id: string }[];
  for (const { id } of queued) postamtCli(config, ['queue', 'delete', id]);
}

/**
 * Waits until the server uses under 5 % of a core (at most a minute): work it deferred during a load (the
 * search index catching up, checkpoints) must not run during the next scenario, Postfix's least of all.
 */
async function waitQuiet(cpuMs: () => number): Promise<void> {
  for (const end = Date.now() + 60_000; Date.now() < end;) {
    const before = cpuMs();
    await new Promise((r) => setTimeout(r, 500));
    if (cpuMs() - before < 25) return;
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-bench-'));
  // Postfix's daemons run as other users and must reach their queue inside this directory.
  chmodSync(dir, 0o755);
  const pfDir = join(dir, 'postfix');
  const results: Record<string, number[]> = {};
  const record = (key: string, value: number | null | undefined): void => {
    if (value === null || value === undefined || Number.isNaN(value)) return;
    (results[key] ??= []).push(value);
  };
  const postamt = startPostamt(dir);
  let exited = false;
  postamt.child.once('exit', () => {
    exited = true;
  });
  await waitPort(PORTS.postamt);
  await new Promise((r) => setTimeout(r, 300));
  if (exited) throw new Error(`postamt did not start (is port ${PORTS.postamt} in use?)`);
  if (withPostfix) {
    spawnSync(join(shared, 'postfix-instance.sh'), ['start', pfDir, String(PORTS.postfixSmtp), String(PORTS.relaySink)], { stdio: 'inherit' });
  }
  const maildir = join(pfDir, 'vmail/test.example/user');
  try {
    for (let round = 1; round <= rounds; round++) {
      process.stderr.write(`round ${round}/${rounds}\n`);
      for (const [size, n] of [[5120, n5], [102400, n100]] as const) {
        const label = size === 5120 ? '5 KB' : '100 KB';
        if (!sizes.has(String(size / 1024))) continue;
        if (only.has('accept')) {
          if (gapSeconds > 0) await new Promise((r) => setTimeout(r, gapSeconds * 1000));
          await waitQuiet(postamt.cpuMs);
          const cpu0 = postamt.cpuMs();
          const a = load(`127.0.0.1:${PORTS.postamt}`, n, size);
          record(`postamt accept ${label} msg/s`, a.accept_msgs_per_s);
          record(`postamt accept ${label} server CPU ms/msg`, (postamt.cpuMs() - cpu0) / n);
          const l = load(`127.0.0.1:${PORTS.postamt}`, Math.min(n, 2000), size, [], 'node');
          record(`postamt accept ${label} p50 ms`, l.p50_ms);
          record(`postamt accept ${label} p99 ms`, l.p99_ms);
          if (withPostfix) {
            await waitQuiet(postamt.cpuMs);
            const p = load(`127.0.0.1:${PORTS.postfixSmtp}`, n, size, ['--wait-maildir', maildir]);
            record(`postfix accept ${label} msg/s`, p.accept_msgs_per_s);
            const pl = load(`127.0.0.1:${PORTS.postfixSmtp}`, Math.min(n, 2000), size, [], 'node');
            record(`postfix accept ${label} p50 ms`, pl.p50_ms);
            record(`postfix accept ${label} p99 ms`, pl.p99_ms);
          }
        }
        if (only.has('relay') && hasCommand('smtp-sink')) {
          await waitQuiet(postamt.cpuMs);
          const cpu0 = postamt.cpuMs();
          const r = load(`127.0.0.1:${PORTS.postamt}`, n, size, ['--sink-port', String(PORTS.relaySink)], 'source', 'anyone@relay.example');
          record(`postamt relay ${label} end-to-end msg/s`, r.e2e_msgs_per_s);
          // Acceptance while relaying: how far the way out lags the way in (end-to-end waits for the last delivery).
          record(`postamt relay ${label} accept msg/s`, r.accept_msgs_per_s);
          // Acceptance and the way out: compare with the accept scenario's CPU for the outbound side alone.
          record(`postamt relay ${label} server CPU ms/msg`, (postamt.cpuMs() - cpu0) / n);
          dropPostamtLeftovers(postamt.config);
          if (withPostfix) {
            await waitQuiet(postamt.cpuMs);
            const p = load(`127.0.0.1:${PORTS.postfixSmtp}`, n, size, ['--sink-port', String(PORTS.relaySink)], 'source', 'user@relay.example');
            record(`postfix relay ${label} end-to-end msg/s`, p.e2e_msgs_per_s);
            record(`postfix relay ${label} accept msg/s`, p.accept_msgs_per_s);
            spawnSync('postsuper', ['-c', join(pfDir, 'etc'), '-d', 'ALL'], { stdio: 'ignore' });
          }
        }
      }
    }
  } finally {
    const stopped = new Promise((r) => postamt.child.once('exit', r));
    postamt.child.kill('SIGTERM');
    if (!exited) await stopped;
    if (withPostfix) spawnSync(join(shared, 'postfix-instance.sh'), ['stop', pfDir]);
  }
  const lines = ['| scenario | median | rounds |', '|---|---|---|'];
  for (const [key, values] of Object.entries(results)) {
    const digits = / ms(\/msg)?$/.test(key) ? 2 : 0;
    lines.push(`| ${key} | ${median(values).toFixed(digits)} | ${values.map((v) => v.toFixed(digits)).join(', ')} |`);
  }
  if (only.has('submission')) {
    // Authenticated submission over TLS (bench/submission.ts): Postamt only; the shared harness has no SASL Postfix.
    const r = spawnSync(process.execPath, ['--import', 'tsx', join(root, 'bench/submission.ts'), '--conc', String(conc), '--count', String(Math.min(n5, 3000))], { encoding: 'utf8' });
    const row = r.stdout.trim().split('\n').pop() ?? '';
    const m = /\| (\d+) msg\/s \| p50 ([\d.]+) ms \| p99 ([\d.]+) ms/.exec(row);
    if (m) {
      lines.push(`| postamt submission (TLS + AUTH) 5 KB msg/s | ${m[1]} | 1 |`, `| postamt submission (TLS + AUTH) 5 KB p50 ms | ${m[2]} | 1 |`, `| postamt submission (TLS + AUTH) 5 KB p99 ms | ${m[3]} | 1 |`);
    } else process.stderr.write(`submission bench failed: ${r.stderr.slice(-300)}\n`);
  }
  const table = lines.join('\n');
  console.log(`\nconcurrency ${conc}, ${rounds} round(s), n5=${n5}, n100=${n100}, postfix: ${withPostfix ? 'yes' : 'no (not installed or not root)'}\n`);
  console.log(table);
  const outDir = join(root, 'bench', 'results');
  mkdirSync(outDir, { recursive: true });
  writeFileSync(join(outDir, `${new Date().toISOString().replace(/[:.]/g, '-')}.json`), JSON.stringify({ conc, rounds, n5, n100, results }, null, 2));
  await new Promise((r) => setTimeout(r, 500));
  if (existsSync(dir)) rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
