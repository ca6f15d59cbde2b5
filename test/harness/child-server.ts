/**
 * Runs the real program (`node bin/postamt.js --config X serve`) as a child process on free loopback
 * ports with its own data dir, sets it up through the CLI, and can SIGKILL and restart it on the same
 * data dir (the durability test). Only the SMTP listener is on unless `roles` asks for more.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { freePort } from './free-port.ts';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/postamt.js');
const ROLES = ['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'http', 'https'] as const;
export type ChildRole = (typeof ROLES)[number];

/** How long a SIGTERM'd server may take to exit before it is killed and the test fails (its drain grace is 5 s). */
const EXIT_WAIT_MS = 30_000;
/** Servers still running, killed when the test process exits so none outlives a failed or timed-out test. */
const running = new Set<ChildProcess>();
process.once('exit', () => {
  for (const child of running) child.kill('SIGKILL');
});

export interface CliResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface ChildServerOptions {
  /** Listeners to switch on (default: smtp only). */
  roles?: ChildRole[];
  /** Extra TOML appended to the generated file, e.g. "[limits]\nrecipients = 5\n". */
  extraToml?: string;
  hostname?: string;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolveOk) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolveOk(true);
    });
    socket.once('error', () => resolveOk(false));
  });
}

/** Resolves once something accepts TCP connections on the loopback port; throws after `timeoutMs`. */
export async function waitPort(port: number, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await canConnect(port))) {
    if (Date.now() > deadline) throw new Error(`nothing listens on 127.0.0.1:${port} after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export class ChildServer {
  readonly dataDir: string;
  readonly configPath: string;
  readonly ports: Partial<Record<ChildRole, number>>;
  /** Log lines (parsed JSON) the current and earlier runs wrote to stdout. */
  readonly logs: Record<string, unknown>[] = [];
  private child: ChildProcess | null = null;
  private exited: Promise<void> = Promise.resolve();

  private constructor(dir: string, ports: Partial<Record<ChildRole, number>>, options: ChildServerOptions) {
    this.dataDir = join(dir, 'data');
    this.configPath = join(dir, 'postamt.toml');
    this.ports = ports;
    const listen = ROLES.map((role) => `${role} = "${ports[role] ? `127.0.0.1:${ports[role]}` : ''}"`).join('\n');
    writeFileSync(this.configPath, [
      `hostname = "${options.hostname ?? 'mx.postamt.test'}"`,
      `data_dir = "${this.dataDir}"`,
      'log_format = "json"',
      '[listen]',
      listen,
      options.extraToml ?? '',
      '',
    ].join('\n'));
  }

  static async create(options: ChildServerOptions = {}): Promise<ChildServer> {
    const dir = mkdtempSync(join(tmpdir(), 'postamt-child-'));
    const ports: Partial<Record<ChildRole, number>> = {};
    for (const role of options.roles ?? ['smtp']) ports[role] = await freePort();
    return new ChildServer(dir, ports, options);
  }

  get smtpPort(): number {
    const port = this.ports.smtp;
    if (!port) throw new Error('the smtp listener is off');
    return port;
  }

  /** The self-signed certificate the server made in its data dir (exists after the first start). */
  get ca(): string {
    return readFileSync(join(this.dataDir, 'tls', 'selfsigned.crt'), 'utf8');
  }

  /** Runs a CLI command against this server's config (the server may be running). */
  cli(args: string[], stdin?: string | Buffer): Promise<CliResult> {
    return new Promise((resolveResult, reject) => {
      // A CLI that hangs (a lock never released) is killed rather than holding up the whole suite.
      const proc = spawn(process.execPath, [BIN, '--config', this.configPath, ...args], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'], timeout: 120_000, killSignal: 'SIGKILL' });
      const out: Buffer[] = [];
      const err: Buffer[] = [];
      proc.stdout.on('data', (c: Buffer) => out.push(c));
      proc.stderr.on('data', (c: Buffer) => err.push(c));
      proc.once('error', reject);
      proc.once('close', (code) => resolveResult({ code: code ?? -1, stdout: Buffer.concat(out), stderr: Buffer.concat(err).toString() }));
      proc.stdin.end(stdin ?? '');
    });
  }

  private async cliOk(args: string[], stdin?: string): Promise<Buffer> {
    const r = await this.cli(args, stdin);
    if (r.code !== 0) throw new Error(`postamt ${args.join(' ')} exited ${r.code}: ${r.stderr}`);
    return r.stdout;
  }

  async addDomain(name: string): Promise<void> {
    await this.cliOk(['domain', 'add', name]);
  }

  async addUser(address: string, password: string): Promise<void> {
    await this.cliOk(['user', 'add', address, '--password-stdin'], `${password}\n`);
  }

  async addAlias(address: string, targets: string[]): Promise<void> {
    await this.cliOk(['alias', 'add', address, ...targets]);
  }

  /** `postamt message list EMAIL --json`. */
  async messageList(address: string, mailbox = 'INBOX'): Promise<Array<{ uid: number; size: number; messageId: string | null; subject: string | null }>> {
    return JSON.parse((await this.cliOk(['message', 'list', address, '--mailbox', mailbox, '--json'])).toString());
  }

  /** `postamt message cat EMAIL UID`: the raw stored bytes. */
  async messageCat(address: string, uid: number, mailbox = 'INBOX'): Promise<Buffer> {
    return this.cliOk(['message', 'cat', address, String(uid), '--mailbox', mailbox]);
  }

  /** Starts `serve` and resolves once the SMTP port accepts; returns how long that took (ms). */
  async start(timeoutMs = 60_000): Promise<number> {
    if (this.child) throw new Error('already running');
    const began = Date.now();
    const child = spawn(process.execPath, [BIN, '--config', this.configPath, 'serve'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
    this.child = child;
    running.add(child);
    let pending = '';
    child.stdout!.on('data', (chunk: Buffer) => {
      pending += chunk.toString();
      const lines = pending.split('\n');
      pending = lines.pop() ?? '';
      for (const line of lines) {
        try {
          this.logs.push(JSON.parse(line));
        } catch {
          // banner or other text
        }
      }
    });
    let stderr = '';
    // The banner comes after every listener is up: a port that answers before it may be another process's
    // (the free port was found by binding and closing it, so a parallel test can take it meanwhile).
    let announced = false;
    child.stderr!.on('data', (c: Buffer) => {
      stderr = (stderr + c.toString()).slice(-4000);
      if (!announced && stderr.includes('Postamt is running as')) announced = true;
    });
    this.exited = new Promise((r) => child.once('exit', () => {
      running.delete(child);
      r();
    }));
    let gone = false;
    void this.exited.then(() => {
      gone = true;
    });
    const port = this.ports.smtp ?? Object.values(this.ports)[0];
    if (!port) throw new Error('no listener configured');
    while (!announced || !(await canConnect(port))) {
      if (gone) throw new Error(`postamt serve exited before listening: ${stderr}`);
      if (Date.now() - began > timeoutMs) throw new Error(`postamt serve did not listen within ${timeoutMs} ms: ${stderr}`);
      await new Promise((r) => setTimeout(r, 20));
    }
    return Date.now() - began;
  }

  /** The running server's process id (null when stopped), e.g. to read its memory from /proc. */
  get pid(): number | null {
    return this.child?.pid ?? null;
  }

  /** Sends a signal that does not stop the server (SIGHUP: reload TLS certificates). */
  signal(signal: NodeJS.Signals): void {
    this.child?.kill(signal);
  }

  /**
   * Sends a signal (default SIGKILL) and waits until the process is gone. A server still there EXIT_WAIT_MS after
   * another signal is killed and the call throws: a server that ignores SIGTERM is a bug, not a reason to hang.
   */
  async kill(signal: NodeJS.Signals = 'SIGKILL'): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill(signal);
    let timer: NodeJS.Timeout | undefined;
    const exitedInTime = await Promise.race([
      this.exited.then(() => true),
      new Promise<boolean>((r) => (timer = setTimeout(() => r(signal === 'SIGKILL'), EXIT_WAIT_MS))),
    ]);
    clearTimeout(timer);
    if (!exitedInTime) child.kill('SIGKILL');
    await this.exited;
    this.child = null;
    if (!exitedInTime) throw new Error(`postamt serve (pid ${child.pid}) did not exit within ${EXIT_WAIT_MS} ms of ${signal}; killed`);
  }

  /** Graceful stop (SIGTERM), then removes the temp dir unless `keep` (also when the server had to be killed). */
  async stop(options: { keep?: boolean } = {}): Promise<void> {
    try {
      await this.kill('SIGTERM');
    } finally {
      if (!options.keep) rmSync(dirname(this.dataDir), { recursive: true, force: true });
    }
  }
}
