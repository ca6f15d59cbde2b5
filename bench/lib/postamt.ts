/**
 * Bench helper: a Postamt server as a child process (the CLI, like a user runs it) with its config and
 * data in a temp dir, on free loopback ports, plus process memory probes (RSS / PSS from /proc).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { waitPort } from '../../test/harness/child-server.ts';
import { freePort } from '../../test/harness/free-port.ts';

/** A free loopback port, and a wait until something accepts connections on one (shared with the test harness). */
export { freePort, waitPort };

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedBench = resolve(repoRoot, '..', 'shared', 'bench');

/** The loopback ports of a bench server: IMAP and POP3 always, the others when asked for. */
export interface PostamtPorts {
  imap: number;
  pop3: number;
  imaps?: number;
  http?: number;
  https?: number;
  smtp?: number;
}

export interface PostamtChild {
  child: ChildProcess;
  config: string;
  dataDir: string;
  ports: PostamtPorts;
  stop(): Promise<void>;
  /**
   * With `probe`: the server's memory after full GCs (see memory-probe.mjs) and, when gdb can attach,
   * glibc's bytes in use, read before a malloc_trim(0) so RSS no longer counts free memory glibc keeps.
   */
  memory(): Promise<ServerMemory>;
  /** With `probe`: a heap snapshot of the server (after full GCs) written to `path`. */
  heapSnapshot(path: string): Promise<string>;
  /**
   * Resolves once the server uses under 5 % of a core (at most `maxMs`): background work after start or a
   * load (the search index catching up, checkpoints) is then done and does not run inside a measurement.
   */
  quiet(maxMs?: number): Promise<void>;
}

/** Bytes, except `rollup` (KiB, from /proc/PID/smaps_rollup). `external` includes `arrayBuffers`. */
export interface ServerMemory {
  rss: number;
  heapTotal: number;
  heapUsed: number;
  external: number;
  arrayBuffers: number;
  /** Resident bytes of the V8 heap (total_physical_size): RSS minus this is memory outside the V8 heap. */
  v8Physical: number;
  /** glibc's bytes in use and free (before the trim), when gdb could read them; then malloc_trim(0) ran before the reading. */
  malloc: { inUseBytes: number; freeBytes: number } | null;
  rollup: Record<string, number>;
  handles: number;
}

export function postamtCli(configPath: string, argv: string[], input?: string): string {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/postamt.js'), '--config', configPath, ...argv], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`postamt ${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * Writes postamt.toml in `dir` (IMAP and POP3 only, plus implicit-TLS IMAP with `imaps` (self-signed
 * certificate), HTTP and HTTPS with `http`, SMTP (port 25's listener) with `smtp`, plaintext login allowed on
 * loopback, connection limits raised to `connections`), and creates the domain and user. Does not start the server.
 */
export async function preparePostamt(options: { dir: string; address: string; password: string; connections: number; imaps?: boolean; http?: boolean; smtp?: boolean }): Promise<{ config: string; dataDir: string; ports: PostamtPorts }> {
  const ports = { imap: await freePort(), pop3: await freePort(), imaps: options.imaps ? await freePort() : undefined, http: options.http ? await freePort() : undefined, https: options.http ? await freePort() : undefined, smtp: options.smtp ? await freePort() : undefined };
  const dataDir = join(options.dir, 'data');
  const config = join(options.dir, 'postamt.toml');
  writeFileSync(config, [
    'hostname = "bench.postamt.test"', `data_dir = "${dataDir}"`, 'log_level = "warn"',
    '[listen]', `smtp = "${ports.smtp ? `127.0.0.1:${ports.smtp}` : ''}"`, 'submission = ""', 'submissions = ""', `imap = "127.0.0.1:${ports.imap}"`, `imaps = "${ports.imaps ? `127.0.0.1:${ports.imaps}` : ''}"`, `pop3 = "127.0.0.1:${ports.pop3}"`, 'pop3s = ""', `http = "${ports.http ? `127.0.0.1:${ports.http}` : ''}"`, `https = "${ports.https ? `127.0.0.1:${ports.https}` : ''}"`,
    '[limits]', `connections_per_ip = ${options.connections}`, `connections_total = ${options.connections}`,
    '[auth]', 'allow_plaintext_on_loopback = true', 'penalty_delay = "0s"',
    '[storage]', 'quota_default = 0',
    ...(options.http ? ['[http]', `connections_per_ip = ${options.connections}`, `max_push_connections = ${Math.min(10_000, options.connections)}`, 'max_concurrent_requests = 64'] : []),
  ].join('\n') + '\n');
  const domain = options.address.split('@')[1]!;
  postamtCli(config, ['domain', 'add', domain]);
  postamtCli(config, ['user', 'add', options.address, '--password-stdin'], `${options.password}\n`);
  return { config, dataDir, ports };
}

/**
 * Starts `postamt serve` on a prepared config and waits for its ports. POSTAMT_BENCH_NODE_ARGS adds node
 * flags to the server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it). `probe` preloads
 * memory-probe.mjs (with --expose-gc and an IPC channel) so memory() and heapSnapshot() work. `env` adds
 * environment variables (config overrides such as POSTAMT_AUTH_VERIFIED_CACHE_TTL).
 */
export async function startPostamt(prepared: { config: string; dataDir: string; ports: PostamtPorts }, options: { probe?: boolean; env?: Record<string, string> } = {}): Promise<PostamtChild> {
  const nodeArgs = (process.env.POSTAMT_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  if (options.probe) nodeArgs.push('--expose-gc', '--import', pathToFileURL(join(repoRoot, 'bench/lib/memory-probe.mjs')).href);
  const child = spawn(process.execPath, [...nodeArgs, join(repoRoot, 'bin/postamt.js'), '--config', prepared.config, 'serve'], {
    stdio: options.probe ? ['ignore', 'ignore', 'inherit', 'ipc'] : ['ignore', 'ignore', 'inherit'],
    env: { ...process.env, ...options.env },
  });
  try {
    await waitPort(prepared.ports.imap);
    await waitPort(prepared.ports.pop3);
    if (prepared.ports.imaps) await waitPort(prepared.ports.imaps);
    if (prepared.ports.https) await waitPort(prepared.ports.https);
    if (prepared.ports.smtp) await waitPort(prepared.ports.smtp);
  } catch (err) {
    // Not left running behind the caller's back (a retry on other ports would start a second one).
    child.kill('SIGKILL');
    throw err;
  }
  let nextId = 0;
  const ask = <T>(request: Record<string, unknown>, pick: (reply: Record<string, unknown>) => T): Promise<T> => {
    if (!options.probe || !child.send) return Promise.reject(new Error('startPostamt: started without { probe: true }'));
    const id = ++nextId;
    return new Promise<T>((res, rej) => {
      const onMessage = (reply: unknown): void => {
        if (reply === null || typeof reply !== 'object' || (reply as { id?: unknown }).id !== id) return;
        child.off('message', onMessage);
        child.off('exit', onExit);
        res(pick(reply as Record<string, unknown>));
      };
      const onExit = (): void => {
        child.off('message', onMessage);
        rej(new Error('postamt exited before answering the memory probe'));
      };
      child.on('message', onMessage);
      child.once('exit', onExit);
      child.send!({ ...request, id });
    });
  };
  return {
    child,
    ...prepared,
    memory: async () => {
      await ask({ probe: 'gc' }, () => undefined);
      const malloc = mallocInfoAndTrim(child.pid!);
      return { ...(await ask({ probe: 'memory', gc: false }, (r) => r.memory as Omit<ServerMemory, 'malloc'>)), malloc };
    },
    heapSnapshot: (path) => ask({ probe: 'snapshot', path }, (r) => r.file as string),
    quiet: async (maxMs = 600_000) => {
      // utime + stime of the server process, from /proc (clock ticks of 10 ms).
      const cpuMs = (): number => {
        const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
        return (Number(fields[11]) + Number(fields[12])) * 10;
      };
      for (const end = Date.now() + maxMs; Date.now() < end;) {
        const before = cpuMs();
        await new Promise((r) => setTimeout(r, 1000));
        if (cpuMs() - before < 50) return;
      }
    },
    stop: () => new Promise<void>((res) => {
      if (child.exitCode !== null) return res();
      child.once('exit', () => res());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }),
  };
}

/**
 * Starts `postamt serve` on ports picked just now: those picked when its config was written may have been
 * taken by another program while the store was seeded (a shared machine). Tries again on new ports if so.
 */
export async function startPostamtOnFreshPorts(prepared: Awaited<ReturnType<typeof preparePostamt>>, log: (text: string) => void = () => undefined): Promise<PostamtChild> {
  for (let attempt = 1; ; attempt++) {
    const ports = { ...prepared.ports };
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) if (ports[k]) ports[k] = await freePort();
    let config = readFileSync(prepared.config, 'utf8');
    for (const k of Object.keys(ports) as (keyof typeof ports)[]) if (ports[k]) config = config.replace(new RegExp(`^${k} = "127\\.0\\.0\\.1:\\d+"$`, 'm'), `${k} = "127.0.0.1:${ports[k]}"`);
    writeFileSync(prepared.config, config);
    prepared.ports = ports;
    try {
      const server = await startPostamt(prepared);
      // A port someone else holds makes the server exit at once; waitPort may have reached that other program.
      await new Promise((r) => setTimeout(r, 500));
      if (server.child.exitCode === null) return server;
    } catch (err) {
      if (attempt >= 3) throw err;
    }
    if (attempt >= 3) throw new Error('postamt serve did not start');
    log(`Postamt: did not start on ports ${JSON.stringify(ports)}; again on others`);
  }
}

/**
 * Inside process `pid`, through gdb (bench only; needs gdb and ptrace rights): reads glibc's malloc_info
 * (bytes in use = arena memory − free chunks + mmapped chunks: every native allocation, Buffers included),
 * then calls malloc_trim(0) so the arenas' free memory goes back to the kernel. Without the trim, RSS keeps
 * e.g. the 16 MB scrypt blocks of past LOGINs (glibc's dynamic mmap threshold rises to 16 MB after the
 * first one is freed, and its trim threshold to 32 MB). Null when gdb is missing or failed.
 */
export function mallocInfoAndTrim(pid: number): { inUseBytes: number; freeBytes: number } | null {
  const file = join(tmpdir(), `postamt-malloc-info-${pid}-${Date.now()}.xml`);
  try {
    const r = spawnSync('gdb', ['-p', String(pid), '-batch', '-nx',
      '-ex', `set $f = (void *) fopen("${file}", "w")`, '-ex', 'call (int) malloc_info(0, $f)', '-ex', 'call (int) fclose($f)',
      '-ex', 'call (int) malloc_trim(0)'], { encoding: 'utf8', timeout: 60_000 });
    if (r.status !== 0) return null;
    const xml = readFileSync(file, 'utf8');
    // The totals over all arenas follow the last </heap>.
    const totals = xml.slice(xml.lastIndexOf('</heap>'));
    const size = (attrs: string): number => Number(new RegExp(`<${attrs} size="(\\d+)"`).exec(totals)?.[1] ?? NaN);
    const free = size('total type="fast" count="\\d+"') + size('total type="rest" count="\\d+"');
    const inUse = size('system type="current"') - free + size('total type="mmap" count="\\d+"');
    return Number.isFinite(inUse) ? { inUseBytes: inUse, freeBytes: free } : null;
  } catch {
    return null;
  } finally {
    rmSync(file, { force: true });
  }
}

/** Resident set size of a process in KiB (VmRSS), 0 when it is gone. */
export function rssKiB(pid: number): number {
  try {
    const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** Proportional set size in KiB (shared pages split between the processes sharing them). */
export function pssKiB(pid: number): number {
  try {
    const m = /^Pss:\s+(\d+)/m.exec(readFileSync(`/proc/${pid}/smaps_rollup`, 'utf8'));
    return m ? Number(m[1]) : 0;
  } catch {
    return 0;
  }
}

/** The processes whose parent is `parent` (from /proc), only those named `comm` when given. */
export function childPids(parent: number, comm?: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      // pid (comm) state ppid ...: the name may hold spaces and parentheses, so it ends at the last ')'.
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const end = stat.lastIndexOf(')');
      if (Number(stat.slice(end + 2).split(' ')[1]) !== parent) continue;
      if (comm === undefined || stat.slice(stat.indexOf('(') + 1, end) === comm) pids.push(Number(entry));
    } catch {
      // the process ended meanwhile
    }
  }
  return pids;
}

/** CPU time (user + system) of a process in ms. */
export function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}
