/**
 * Python imaplib as an IMAP client for tests: a script runs after a prelude that trusts the test CA and gives it
 * `connect()` (implicit TLS to the server by its host name, resolved to loopback, logged in); it prints JSON.
 */
import { spawn, spawnSync, type ChildProcessWithoutNullStreams } from 'node:child_process';

export const havePython = spawnSync('sh', ['-c', 'command -v python3'], { stdio: 'ignore' }).status === 0;

export interface PythonImapOptions {
  host: string;
  port: number;
  ca: string;
  user: string;
  password: string;
  /** More environment for the script (read with os.environ). */
  env?: Record<string, string>;
}

/** A running script: what it printed so far, and its end. */
export interface PythonImapProcess {
  readonly child: ChildProcessWithoutNullStreams;
  readonly stdout: () => string;
  readonly stderr: () => string;
  /** Resolves once stdout holds `text`, or once the script ended without printing it. */
  printed(text: string): Promise<void>;
  /** The exit code once the script ended. */
  readonly exited: Promise<number | null>;
  /** Ends the script if it still runs (for a finally block) and waits for it. */
  stop(): Promise<void>;
}

function prelude(host: string): string {
  // The CA goes in as PEM text (cadata), so nothing is written to disk.
  return `
import imaplib, json, os, socket, ssl, time
_gai = socket.getaddrinfo
socket.getaddrinfo = lambda host, *a, **k: _gai('127.0.0.1' if host == ${JSON.stringify(host)} else host, *a, **k)
ctx = ssl.create_default_context(cadata=os.environ['CA_PEM'])
def connect():
    m = imaplib.IMAP4_SSL(${JSON.stringify(host)}, int(os.environ['PORT']), ssl_context=ctx)
    m.login(os.environ['U'], os.environ['P'])
    return m
`;
}

/** Starts `script` (Python, after the prelude) against the server's imaps port; its output streams in. */
export function spawnPythonImap(script: string, options: PythonImapOptions): PythonImapProcess {
  const child = spawn('python3', ['-c', prelude(options.host) + script], {
    env: { ...process.env, ...options.env, CA_PEM: options.ca, PORT: String(options.port), U: options.user, P: options.password },
  });
  let stdout = '';
  let stderr = '';
  let ended = false;
  const waiters: { text: string; resolve: () => void }[] = [];
  const exited = new Promise<number | null>((resolve) => child.on('close', (code) => {
    ended = true;
    for (const w of waiters.splice(0)) w.resolve();
    resolve(code);
  }));
  child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
  child.stdout.on('data', (d: Buffer) => {
    stdout += d.toString();
    for (let i = waiters.length - 1; i >= 0; i--) {
      if (stdout.includes(waiters[i]!.text)) waiters.splice(i, 1)[0]!.resolve();
    }
  });
  return {
    child,
    stdout: () => stdout,
    stderr: () => stderr,
    printed: (text) => (stdout.includes(text) || ended ? Promise.resolve() : new Promise((resolve) => waiters.push({ text, resolve }))),
    exited,
    async stop() {
      if (!ended) child.kill();
      await exited;
    },
  };
}

/** Runs `script` (Python, after the prelude) against the server's imaps port; the JSON it printed. */
export async function runPythonImap<T>(script: string, options: PythonImapOptions): Promise<T> {
  const p = spawnPythonImap(script, options);
  const code = await p.exited;
  if (code !== 0) throw new Error(`python3 exited with ${code}: ${p.stderr()}`);
  return JSON.parse(p.stdout()) as T;
}
