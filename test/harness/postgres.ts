/**
 * A private PostgreSQL cluster for tests: initdb in a temp directory, run as an unprivileged user when we
 * are root (PostgreSQL refuses to run as root), listening on a loopback port, stopped after. Tests call
 * `testPostgres()`; `.ci/run` starts one cluster for the whole run with `start` / `stop` below and passes
 * its URL in POSTAMT_TEST_PG_URL, so each test file does not pay for its own initdb.
 *
 *   node --import tsx test/harness/postgres.ts start DIR   # prints the admin URL; DIR holds the cluster
 *   node --import tsx test/harness/postgres.ts stop DIR
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { freePort } from './free-port.ts';

/** The directory holding initdb and postgres: PG_BIN, else the newest /usr/lib/postgresql/N/bin. */
export function findPostgresBin(): string | null {
  const candidates: string[] = [];
  if (process.env.PG_BIN) candidates.push(process.env.PG_BIN);
  try {
    const versions = readdirSync('/usr/lib/postgresql').filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) candidates.push(`/usr/lib/postgresql/${v}/bin`);
  } catch {
    // not a Debian layout
  }
  return candidates.find((dir) => existsSync(join(dir, 'initdb')) && existsSync(join(dir, 'postgres'))) ?? null;
}

/**
 * Why PostgreSQL tests cannot run here, or false when they can. In CI (CI=true) a missing PostgreSQL is
 * a failure, never a skip: `.ci/run` installs it.
 */
export function postgresUnavailable(): string | false {
  if (process.env.POSTAMT_TEST_PG_URL) return false;
  if (findPostgresBin() !== null) return false;
  const reason = 'PostgreSQL is not installed (no initdb/postgres under /usr/lib/postgresql/*/bin or PG_BIN); apt-get install postgresql to run these tests';
  if (process.env.CI === 'true') throw new Error(`CI: ${reason}`);
  return reason;
}

export interface PgCluster {
  /** URL of the `postgres` superuser on database `database` (default: postgres). */
  url(database?: string): string;
  port: number;
  dir: string;
  stop(): Promise<void>;
}

/** The unprivileged account the cluster runs as when this process is root. */
function runAs(): { uid: number; gid: number } | null {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return null;
  for (const name of ['postamt-pg', 'nobody']) {
    const res = spawnSync('id', ['-u', name], { encoding: 'utf8' });
    if (res.status === 0) {
      const gid = spawnSync('id', ['-g', name], { encoding: 'utf8' }).stdout.trim();
      return { uid: Number(res.stdout.trim()), gid: Number(gid) };
    }
  }
  throw new Error('running as root and neither postamt-pg nor nobody exists to run PostgreSQL as');
}

function urlFor(port: number, database = 'postgres'): string {
  return `postgres://postgres@127.0.0.1:${port}/${database}`;
}

async function waitReady(port: number, child: ChildProcess | null, log: () => string, timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (child && child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${log()}`);
    const client = new pg.Client({ connectionString: urlFor(port) });
    client.on('error', () => undefined);
    try {
      await client.connect();
      await client.query('SELECT 1');
      await client.end();
      return;
    } catch {
      await client.end().catch(() => undefined);
    }
    if (Date.now() > deadline) throw new Error(`postgres did not accept connections within ${timeoutMs} ms: ${log()}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

/**
 * initdb and start a cluster. `detached`: the server outlives this process (for `.ci/run`); otherwise it
 * is stopped by `stop()` or when this process exits.
 */
export async function startPgCluster(options: { dir?: string; detached?: boolean; fsync?: boolean; settings?: string[] } = {}): Promise<PgCluster> {
  const bin = findPostgresBin();
  if (bin === null) throw new Error('PostgreSQL binaries not found');
  const dir = options.dir ?? mkdtempSync(join(tmpdir(), 'postamt-pg-'));
  mkdirSync(dir, { recursive: true });
  const data = join(dir, 'data');
  const sockets = join(dir, 'sock');
  mkdirSync(sockets, { recursive: true });
  const user = runAs();
  if (user) {
    chownSync(dir, user.uid, user.gid);
    chownSync(sockets, user.uid, user.gid);
  }
  const env = { ...process.env, LC_ALL: 'C', LANG: 'C', HOME: dir };
  const init = spawnSync(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '-E', 'UTF8', '--locale=C', '--no-instructions'], {
    encoding: 'utf8', env, cwd: dir, ...(user ?? {}),
  });
  if (init.status !== 0) throw new Error(`initdb failed: ${init.stderr || init.stdout}`);
  let lastError: unknown = null;
  for (let attempt = 0; attempt < 3; attempt++) {
    const port = await freePort();
    const args = ['-D', data, '-p', String(port), '-k', sockets, '-c', 'listen_addresses=127.0.0.1', '-c', 'max_connections=300', '-c', 'shared_buffers=32MB',
      '-c', `fsync=${options.fsync === false ? 'off' : 'on'}`, '-c', 'synchronous_commit=on', ...(options.settings ?? []).flatMap((s) => ['-c', s])];
    let output = '';
    const child = spawn(join(bin, 'postgres'), args, { env, cwd: dir, detached: options.detached === true, stdio: options.detached ? 'ignore' : ['ignore', 'pipe', 'pipe'], ...(user ?? {}) });
    child.stdout?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    child.stderr?.on('data', (d: Buffer) => (output = (output + d.toString()).slice(-4000)));
    const onExit = (): void => {
      if (child.exitCode === null) child.kill('SIGQUIT');
    };
    try {
      await waitReady(port, child, () => output);
    } catch (err) {
      lastError = err;
      onExit();
      continue;
    }
    if (options.detached) {
      child.unref();
      writeFileSync(join(dir, 'cluster.json'), JSON.stringify({ pid: child.pid, port }));
    } else {
      process.once('exit', onExit);
    }
    return {
      port,
      dir,
      url: (database) => urlFor(port, database),
      async stop() {
        process.removeListener('exit', onExit);
        await stopPid(child.pid!, () => child.exitCode !== null);
        if (!options.dir) rmSync(dir, { recursive: true, force: true });
      },
    };
  }
  throw lastError instanceof Error ? lastError : new Error(String(lastError));
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/** Fast shutdown (SIGINT: running transactions rolled back, clean checkpoint), SIGQUIT after 10 s. */
async function stopPid(pid: number, exited: () => boolean = () => !alive(pid)): Promise<void> {
  try {
    process.kill(pid, 'SIGINT');
  } catch {
    return;
  }
  const deadline = Date.now() + 10_000;
  while (!exited() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  if (!exited()) {
    try { process.kill(pid, 'SIGQUIT'); } catch { /* gone */ }
  }
}

export interface TestPostgres {
  /** A new empty database; its URL. */
  createDatabase(): Promise<string>;
  dropDatabase(url: string): Promise<void>;
  /** Stops the private cluster (nothing when the cluster is the shared one of `.ci/run`). */
  stop(): Promise<void>;
}

/** The cluster for this test file: the shared one of `.ci/run`, else a private one started now. */
export async function testPostgres(): Promise<TestPostgres> {
  const shared = process.env.POSTAMT_TEST_PG_URL;
  const cluster = shared ? null : await startPgCluster({ fsync: process.env.POSTAMT_TEST_PG_FSYNC !== '0' });
  const adminUrl = shared ?? cluster!.url();
  const admin = async <T>(fn: (c: pg.Client) => Promise<T>): Promise<T> => {
    const client = new pg.Client({ connectionString: adminUrl });
    await client.connect();
    try {
      return await fn(client);
    } finally {
      await client.end();
    }
  };
  return {
    async createDatabase() {
      const name = `postamt_test_${randomBytes(6).toString('hex')}`;
      await admin((c) => c.query(`CREATE DATABASE ${name}`));
      const url = new URL(adminUrl);
      url.pathname = `/${name}`;
      return url.toString();
    },
    async dropDatabase(url) {
      const name = new URL(url).pathname.slice(1);
      await admin((c) => c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)).catch(() => undefined);
    },
    async stop() {
      await cluster?.stop();
    },
  };
}

async function main(argv: string[]): Promise<void> {
  const [command, dir] = argv;
  if ((command !== 'start' && command !== 'stop') || !dir) {
    console.error('usage: postgres.ts start|stop DIR');
    process.exit(2);
  }
  if (command === 'start') {
    const cluster = await startPgCluster({ dir, detached: true });
    process.stdout.write(`${cluster.url()}\n`);
    return;
  }
  const file = join(dir, 'cluster.json');
  if (!existsSync(file)) return;
  const { pid } = JSON.parse(readFileSync(file, 'utf8')) as { pid: number };
  await stopPid(pid);
  rmSync(dir, { recursive: true, force: true });
}

if (process.argv[1] && import.meta.url === new URL(`file://${process.argv[1]}`).href) {
  main(process.argv.slice(2)).catch((err: unknown) => {
    console.error(err instanceof Error ? err.message : err);
    process.exit(1);
  });
}
