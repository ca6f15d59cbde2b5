/**
 * `node --import tsx bench/pg.ts`: SMTP acceptance with the store on PostgreSQL (a private cluster, fsync
 * on, synchronous_commit on), one node and two nodes on one database, beside a private Postfix in the same
 * run (../shared/bench); two nodes both to one account (their batches lock the same rows) and each to an
 * account of its own. Reports msg/s and, from PostgreSQL's own counters, WAL flushes (durable commits),
 * transactions and statements (round trips, pg_stat_statements) per accepted message, and the CPU time of
 * the Postamt nodes and of the PostgreSQL processes per message, so where the time goes is on paper.
 *
 *   node --import tsx bench/pg.ts [--rounds 2] [--n 3000] [--conc 20] [--size 5120] [--statements]
 *
 * --statements prints the statements of the last one-node run with their calls per message.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { startPgCluster } from '../test/harness/postgres.ts';
import { childPids, cpuMs, postamtCli, repoRoot, sharedBench, waitPort } from './lib/postamt.ts';
import { benchArgs } from './lib/args.ts';

const args = benchArgs();
const rounds = args.number('rounds', 2);
const n = args.number('n', 3000);
const conc = args.number('conc', 20);
const size = args.number('size', 5120);
const showStatements = args.flag('statements');
const withPostfix = spawnSync('sh', ['-c', 'command -v postfix']).status === 0 && process.getuid?.() === 0;
const PORTS = { a: 12725, b: 12726, postfix: 12825, sink: 12826 };

interface Load { accept_msgs_per_s?: number; rc: number; stderr?: string }

/** smtp_load.py (Postfix's smtp-source driver) against one server; resolves with its JSON result. */
function load(port: number, count: number, concurrency: number, to = 'user@test.example'): Promise<Load> {
  return new Promise((resolve) => {
    const child = spawn('python3', [join(sharedBench, 'smtp_load.py'), `127.0.0.1:${port}`, '-c', String(concurrency), '-n', String(count), '-s', String(size), '--driver', 'source', '--to', to, '--json'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    child.on('close', () => {
      try {
        resolve(JSON.parse(out.trim().split('\n').pop() ?? '{}') as Load);
      } catch {
        resolve({ rc: 99, stderr: err.slice(-300) });
      }
    });
  });
}

function startNode(dir: string, name: string, port: number, url: string): { child: ChildProcess; config: string } {
  const config = join(dir, `${name}.toml`);
  writeFileSync(config, [
    `hostname = "${name}.bench.postamt.test"`, `data_dir = "${join(dir, name)}"`, 'log_level = "warn"',
    '[listen]', `smtp = "127.0.0.1:${port}"`, 'submission = ""', 'submissions = ""', 'imap = ""', 'imaps = ""', 'pop3 = ""', 'pop3s = ""', 'http = ""', 'https = ""',
    '[storage]', 'backend = "postgres"', `url = "${url}"`, 'pool_size = 10',
  ].join('\n'));
  return { child: spawn(process.execPath, [join(repoRoot, 'bin/postamt.js'), '--config', config, 'serve'], { stdio: ['ignore', 'ignore', 'inherit'] }), config };
}

interface Counters { commits: number; walSyncs: number; statements: number; nodeCpuMs: number; pgCpuMs: number }

/** CPU time of the postmaster and every process it started (backends, WAL writer, checkpointer). */
function postgresCpuMs(dataDir: string): number {
  const postmaster = Number(readFileSync(join(dataDir, 'postmaster.pid'), 'utf8').split('\n')[0]);
  return childPids(postmaster).reduce((sum, pid) => sum + cpuMs(pid), cpuMs(postmaster));
}

/** Runs `fn` with a client connected to `url`, ended after. */
async function withClient<T>(url: string, fn: (c: pg.Client) => Promise<T>): Promise<T> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return await fn(c);
  } finally {
    await c.end();
  }
}

async function counters(url: string, pgData: string, nodes: ChildProcess[]): Promise<Counters> {
  return withClient(url, async (c) => {
    const db = (await c.query<{ n: string }>('SELECT xact_commit AS n FROM pg_stat_database WHERE datname = current_database()')).rows[0]!.n;
    const wal = (await c.query<{ n: string }>('SELECT wal_sync AS n FROM pg_stat_wal')).rows[0]!.n;
    // Every statement a client sends is one round trip (node-postgres does not pipeline); reads of the bench itself are excluded.
    const st = (await c.query<{ n: string }>("SELECT coalesce(sum(calls), 0) AS n FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat%'")).rows[0]!.n;
    return { commits: Number(db), walSyncs: Number(wal), statements: Number(st), nodeCpuMs: nodes.reduce((sum, p) => sum + cpuMs(p.pid!), 0), pgCpuMs: postgresCpuMs(pgData) };
  });
}

async function topStatements(url: string): Promise<string> {
  return withClient(url, async (c) => {
    const rows = (await c.query<{ calls: string; ms: number; query: string }>("SELECT calls, total_exec_time AS ms, query FROM pg_stat_statements s JOIN pg_database d ON d.oid = s.dbid WHERE d.datname = current_database() AND s.query NOT LIKE '%pg_stat%' ORDER BY calls DESC LIMIT 15")).rows;
    return rows.map((r) => `| ${(Number(r.calls) / n).toFixed(2)} | ${(r.ms / Number(r.calls)).toFixed(3)} | ${r.query.replace(/\s+/g, ' ').slice(0, 110)} |`).join('\n');
  });
}

async function resetStatements(url: string): Promise<void> {
  await withClient(url, (c) => c.query('SELECT pg_stat_statements_reset()'));
}

function median(xs: number[]): number {
  const s = [...xs].sort((x, y) => x - y);
  return s.length ? s[Math.floor(s.length / 2)]! : NaN;
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-bench-pg-'));
  chmodSync(dir, 0o755);
  const cluster = await startPgCluster({ fsync: true, settings: ['shared_preload_libraries=pg_stat_statements', 'pg_stat_statements.track=top'] });
  await withClient(cluster.url(), (c) => c.query('CREATE DATABASE postamt_bench'));
  const url = cluster.url('postamt_bench');
  const pgData = join(cluster.dir, 'data');
  await withClient(url, (c) => c.query('CREATE EXTENSION pg_stat_statements'));
  const a = startNode(dir, 'node-a', PORTS.a, url);
  await waitPort(PORTS.a, 60_000);
  postamtCli(a.config, ['domain', 'add', 'test.example']);
  postamtCli(a.config, ['user', 'add', 'user@test.example', '--password-stdin'], 'bench-password\n');
  postamtCli(a.config, ['user', 'add', 'user2@test.example', '--password-stdin'], 'bench-password\n');
  const b = startNode(dir, 'node-b', PORTS.b, url);
  await waitPort(PORTS.b, 60_000);
  const pfDir = join(dir, 'postfix');
  if (withPostfix) spawnSync(join(sharedBench, 'postfix-instance.sh'), ['start', pfDir, String(PORTS.postfix), String(PORTS.sink)], { stdio: 'inherit' });
  const results: Record<string, number[]> = {};
  const record = (key: string, v: number | undefined): void => {
    if (v !== undefined && !Number.isNaN(v)) (results[key] ??= []).push(v);
  };
  let statements = '';
  const measure = async (label: string, run: () => Promise<Load[]>): Promise<void> => {
    if (showStatements) await resetStatements(url);
    const before = await counters(url, pgData, [a.child, b.child]);
    const t0 = Date.now();
    const loads = await run();
    const seconds = (Date.now() - t0) / 1000;
    const after = await counters(url, pgData, [a.child, b.child]);
    if (showStatements && label.includes('1 node')) statements = await topStatements(url);
    if (loads.some((l) => l.rc !== 0)) process.stderr.write(`${label}: load failed ${loads.map((l) => l.stderr ?? '').join(' ')}\n`);
    const rate = loads.length === 1 ? loads[0]!.accept_msgs_per_s : n / seconds;
    record(`${label} msg/s`, rate);
    record(`${label} WAL flushes/s`, (after.walSyncs - before.walSyncs) / seconds);
    record(`${label} messages per WAL flush`, n / Math.max(1, after.walSyncs - before.walSyncs));
    record(`${label} transactions per message`, (after.commits - before.commits) / n);
    record(`${label} statements per message`, (after.statements - before.statements) / n);
    record(`${label} Postamt CPU ms per message`, (after.nodeCpuMs - before.nodeCpuMs) / n);
    record(`${label} PostgreSQL CPU ms per message`, (after.pgCpuMs - before.pgCpuMs) / n);
  };
  try {
    for (let round = 1; round <= rounds; round++) {
      process.stderr.write(`round ${round}/${rounds}\n`);
      await measure('postamt-pg 1 node', async () => [await load(PORTS.a, n, conc)]);
      await measure('postamt-pg 2 nodes', async () => Promise.all([load(PORTS.a, n / 2, conc / 2), load(PORTS.b, n / 2, conc / 2)]));
      // Each node's mail to an account of its own: no row lock is shared between the nodes.
      await measure('postamt-pg 2 nodes 2 accounts', async () => Promise.all([load(PORTS.a, n / 2, conc / 2), load(PORTS.b, n / 2, conc / 2, 'user2@test.example')]));
      if (withPostfix) record('postfix msg/s', (await load(PORTS.postfix, n, conc)).accept_msgs_per_s);
    }
  } finally {
    for (const node of [a, b]) node.child.kill('SIGTERM');
    await new Promise((r) => setTimeout(r, 1000));
    if (withPostfix) spawnSync(join(sharedBench, 'postfix-instance.sh'), ['stop', pfDir]);
    await cluster.stop();
    rmSync(dir, { recursive: true, force: true });
  }
  console.log(`\nPostgreSQL store: ${size} B messages, ${n} per run, concurrency ${conc} (2 nodes: ${conc / 2} each), ${rounds} round(s), postfix: ${withPostfix ? 'yes' : 'no'}\n`);
  console.log('| scenario | median | rounds |\n|---|---|---|');
  for (const [key, values] of Object.entries(results)) {
    const digits = /per /.test(key) ? 2 : 0;
    console.log(`| ${key} | ${median(values).toFixed(digits)} | ${values.map((v) => v.toFixed(digits)).join(', ')} |`);
  }
  if (statements) console.log(`\nStatements of the last one-node run:\n\n| calls per message | ms each | statement |\n|---|---|---|\n${statements}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
