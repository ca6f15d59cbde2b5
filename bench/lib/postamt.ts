/**
 * Bench helper: a Postamt server as a child process (the CLI, like a user runs it) with its config and
 * data in a temp dir, on free loopback ports, plus process memory probes (RSS / PSS from /proc).
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const repoRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..');
export const sharedBench = resolve(repoRoot, '..', 'shared', 'bench');

export interface PostamtChild {
  child: ChildProcess;
  config: string;
  dataDir: string;
  ports: { imap: number; pop3: number };
  stop(): Promise<void>;
}

/** A free TCP port on 127.0.0.1 (bind port 0, read it, close). */
export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const srv = net.createServer();
    srv.on('error', rej);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => res(port));
    });
  });
}

export async function waitPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((res) => {
      const s = net.connect(port, '127.0.0.1', () => { s.destroy(); res(true); });
      s.on('error', () => res(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`nothing listens on 127.0.0.1:${port}`);
}

export function postamtCli(configPath: string, argv: string[], input?: string): string {
  const r = spawnSync(process.execPath, [join(repoRoot, 'bin/postamt.js'), '--config', configPath, ...argv], { input, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`postamt ${argv.join(' ')} failed: ${r.stderr}`);
  return r.stdout;
}

/**
 * Writes postamt.toml in `dir` (IMAP and POP3 only, plaintext login allowed on loopback, connection
 * limits raised to `connections`), and creates the domain and user. Does not start the server.
 */
export async function preparePostamt(options: { dir: string; address: string; password: string; connections: number }): Promise<{ config: string; dataDir: string; ports: { imap: number; pop3: number } }> {
  const ports = { imap: await freePort(), pop3: await freePort() };
  const dataDir = join(options.dir, 'data');
  const config = join(options.dir, 'postamt.toml');
  writeFileSync(config, [
    'hostname = "bench.postamt.test"', `data_dir = "${dataDir}"`, 'log_level = "warn"',
    '[listen]', 'smtp = ""', 'submission = ""', 'submissions = ""', `imap = "127.0.0.1:${ports.imap}"`, 'imaps = ""', `pop3 = "127.0.0.1:${ports.pop3}"`, 'pop3s = ""', 'http = ""',
    '[limits]', `connections_per_ip = ${options.connections}`, `connections_total = ${options.connections}`,
    '[auth]', 'allow_plaintext_on_loopback = true', 'penalty_delay = "0s"',
    '[storage]', 'quota_default = 0',
  ].join('\n') + '\n');
  const domain = options.address.split('@')[1]!;
  postamtCli(config, ['domain', 'add', domain]);
  postamtCli(config, ['user', 'add', options.address, '--password-stdin'], `${options.password}\n`);
  return { config, dataDir, ports };
}

/**
 * Starts `postamt serve` on a prepared config and waits for its ports. POSTAMT_BENCH_NODE_ARGS adds node
 * flags to the server (e.g. "--cpu-prof --cpu-prof-dir=/tmp/prof" to profile it).
 */
export async function startPostamt(prepared: { config: string; dataDir: string; ports: { imap: number; pop3: number } }): Promise<PostamtChild> {
  const nodeArgs = (process.env.POSTAMT_BENCH_NODE_ARGS ?? '').split(/\s+/).filter(Boolean);
  const child = spawn(process.execPath, [...nodeArgs, join(repoRoot, 'bin/postamt.js'), '--config', prepared.config, 'serve'], { stdio: ['ignore', 'ignore', 'inherit'] });
  await waitPort(prepared.ports.imap);
  await waitPort(prepared.ports.pop3);
  return {
    child,
    ...prepared,
    stop: () => new Promise<void>((res) => {
      if (child.exitCode !== null) return res();
      child.once('exit', () => res());
      child.kill('SIGTERM');
      setTimeout(() => child.kill('SIGKILL'), 10_000).unref();
    }),
  };
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

/** CPU time (user + system) of a process in ms. */
export function cpuMs(pid: number): number {
  try {
    const f = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return (Number(f[11]) + Number(f[12])) * 10;
  } catch {
    return 0;
  }
}
