import { fileURLToPath } from 'node:url';
// Postfix as the receiving MX: a private Postfix instance on loopback takes mail for test.example
// into a Maildir; Postamt routes test.example to it (queue.routes) and delivers a submitted message.
// Skips when Postfix, the instance script or root are missing.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { freePort } from '../harness/free-port.ts';
import { startTestServer } from '../harness/server.ts';
import { PASS, attempts, rawMessage, submit, until } from './queue-helpers.ts';

const run = promisify(execFile);
// ../shared/bench/ sits beside the checkout (here and in CI).
const SCRIPT = process.env.POSTAMT_POSTFIX_INSTANCE ?? fileURLToPath(new URL('../../../shared/bench/postfix-instance.sh', import.meta.url));
const POSTFIX = ['/usr/sbin/postfix', '/usr/bin/postfix'].find((p) => existsSync(p));

function skipReason(): string | null {
  if (!POSTFIX) return 'postfix is not installed';
  if (!existsSync(SCRIPT)) return `no private-instance script at ${SCRIPT}`;
  if (process.getuid?.() !== 0) return 'a private Postfix instance needs root';
  return null;
}

it('delivers through Postamt into a private Postfix Maildir', { timeout: 180_000 }, async (t) => {
  const reason = skipReason();
  if (reason) return t.skip(reason);
  const dir = mkdtempSync(join(tmpdir(), 'postamt-postfix-'));
  chmodSync(dir, 0o755); // Postfix's own users (postfix, nobody) must reach the queue and Maildir below it
  const port = await freePort();
  const unusedSink = await freePort();
  try {
    await run('bash', [SCRIPT, 'start', dir, String(port), String(unusedSink)], { timeout: 30_000 });
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    return t.skip(`postfix did not start: ${(err as Error).message.split('\n')[0]}`);
  }
  const server = await startTestServer({ config: { queue: { routes: { 'test.example': { host: '127.0.0.1', port } } } } });
  try {
    await server.addUser('alice@example.org', PASS);
    const raw = rawMessage('alice@example.org', 'user@test.example', 'to postfix', 'Hello Postfix,\r\n.dot line\r\nbye\r\n');
    await submit(server, 'alice@example.org', { from: 'alice@example.org', to: ['user@test.example'] }, raw);
    const line = await until('the attempt', () => attempts(server, 'user@test.example')[0], 15_000);
    assert.equal(line.result, 'delivered', String(line.reply));
    assert.equal(line.mx, '127.0.0.1');
    const maildir = join(dir, 'vmail', 'test.example', 'user', 'new');
    const files = await until('the Maildir file', (): string[] | null => {
      const names = existsSync(maildir) ? readdirSync(maildir) : [];
      return names.length > 0 ? names : null;
    }, 15_000);
    assert.equal(files.length, 1);
    const stored = readFileSync(join(maildir, files[0]!));
    // Postfix prepends Return-Path, Delivered-To and its Received; our bytes follow unchanged (LF in Maildir).
    assert.match(stored.toString(), /^Return-Path: <alice@example\.org>$/m);
    assert.ok(stored.includes(Buffer.from(raw.toString().replace(/\r\n/g, '\n'))), 'the submitted message is in the Maildir file');
  } finally {
    await server.stop();
    await run('bash', [SCRIPT, 'stop', dir], { timeout: 30_000 }).catch(() => undefined);
    rmSync(dir, { recursive: true, force: true });
  }
});
