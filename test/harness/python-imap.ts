/**
 * Python imaplib as an IMAP client for tests: a script runs after a prelude that trusts the test CA and gives it
 * `connect()` (implicit TLS to the server by its host name, resolved to loopback, logged in); it prints JSON.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runProcess } from './run-process.ts';

export const havePython = spawnSync('sh', ['-c', 'command -v python3'], { stdio: 'ignore' }).status === 0;

function prelude(host: string): string {
  return `
import imaplib, json, os, socket, ssl, time
_gai = socket.getaddrinfo
socket.getaddrinfo = lambda host, *a, **k: _gai('127.0.0.1' if host == ${JSON.stringify(host)} else host, *a, **k)
ctx = ssl.create_default_context(cafile=os.environ['CA_FILE'])
def connect():
    m = imaplib.IMAP4_SSL(${JSON.stringify(host)}, int(os.environ['PORT']), ssl_context=ctx)
    m.login(os.environ['U'], os.environ['P'])
    return m
`;
}

/** Runs `script` (Python, after the prelude) against the server's imaps port; the JSON it printed. */
export async function runPythonImap<T>(script: string, options: { host: string; port: number; ca: string; user: string; password: string }): Promise<T> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-imaplib-'));
  try {
    writeFileSync(join(dir, 'ca.pem'), options.ca);
    const r = await runProcess('python3', ['-c', prelude(options.host) + script], { CA_FILE: join(dir, 'ca.pem'), PORT: String(options.port), U: options.user, P: options.password });
    if (r.code !== 0) throw new Error(`python3 exited with ${r.code}: ${r.stderr}`);
    return JSON.parse(r.stdout) as T;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
