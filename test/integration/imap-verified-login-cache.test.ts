/**
 * The verified-credentials cache, seen from real IMAP clients (imapflow) logging in to a server process
 * while the admin changes accounts with the real CLI: a repeated right login skips the password hash
 * (auth.success says cached), and a changed password, a disabled or a removed account is never let in from
 * it; the brute-force limit still applies before it.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import { ChildServer } from '../harness/child-server.ts';

const PASSWORD = 'cached login password 1';
let child: ChildServer;

before(async () => {
  child = await ChildServer.create({
    roles: ['imaps'],
    // No penalty delay so refusals answer at once; 4 failures from one IP and it is throttled.
    extraToml: '[auth]\npenalty_delay = "0s"\nmax_failures_per_ip = 4\n',
  });
  await child.addDomain('a.test');
  await child.addUser('alice@a.test', PASSWORD);
  await child.addUser('bob@a.test', PASSWORD);
  await child.start();
});
after(async () => {
  await child?.stop();
});

async function cli(args: string[], stdin?: string): Promise<void> {
  const r = await child.cli(args, stdin);
  assert.equal(r.code, 0, `postamt ${args.join(' ')}: ${r.stderr}`);
}

/** One IMAP login and logout; 'ok' or the server's refusal text. */
async function login(user: string, pass: string): Promise<string> {
  const client = new ImapFlow({ host: '127.0.0.1', port: child.ports.imaps!, secure: true, tls: { rejectUnauthorized: false }, auth: { user, pass }, logger: false });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.logout();
    return 'ok';
  } catch (err) {
    const e = err as { responseText?: string; message?: string };
    return `refused: ${e.responseText ?? e.message}`;
  } finally {
    client.close();
  }
}

/** The server's auth log line for the nth login attempt of `user` (the child writes its log asynchronously). */
async function authLine(user: string, n: number): Promise<Record<string, unknown>> {
  for (let i = 0; i < 100; i++) {
    const lines = child.logs.filter((l) => (l.event === 'auth.success' || l.event === 'auth.failed') && l.username === user);
    if (lines.length >= n) return lines[n - 1]!;
    await new Promise((r) => setTimeout(r, 20));
  }
  throw new Error(`no auth line ${n} for ${user}`);
}

test('a repeated right login skips the hash check; a new password is checked in full and the old one refused', async () => {
  for (let i = 0; i < 3; i++) assert.equal(await login('alice@a.test', PASSWORD), 'ok');
  assert.equal((await authLine('alice@a.test', 1)).cached, undefined, 'the first login checks the hash');
  assert.equal((await authLine('alice@a.test', 2)).cached, true);
  assert.equal((await authLine('alice@a.test', 3)).cached, true);

  await cli(['user', 'passwd', 'alice@a.test', '--password-stdin'], 'the second password 2\n');
  assert.match(await login('alice@a.test', PASSWORD), /^refused/, 'the old password is not let in from the cache');
  assert.equal((await authLine('alice@a.test', 4)).event, 'auth.failed');
  assert.equal(await login('alice@a.test', 'the second password 2'), 'ok');
  assert.equal((await authLine('alice@a.test', 5)).cached, undefined, 'the new password is checked against the new hash');
  assert.equal(await login('alice@a.test', 'the second password 2'), 'ok');
  assert.equal((await authLine('alice@a.test', 6)).cached, true);
});

test('a disabled account is refused though its password is in the cache; enabled again, it logs in', async () => {
  await cli(['user', 'disable', 'alice@a.test']);
  assert.match(await login('alice@a.test', 'the second password 2'), /^refused/);
  const refused = await authLine('alice@a.test', 7);
  assert.equal(refused.event, 'auth.failed');
  assert.equal(refused.reason, 'disabled');
  await cli(['user', 'enable', 'alice@a.test']);
  assert.equal(await login('alice@a.test', 'the second password 2'), 'ok');
});

test('a removed account added again with the same password pays the hash again (its stored hash is new)', async () => {
  await cli(['user', 'remove', 'alice@a.test']);
  assert.match(await login('alice@a.test', 'the second password 2'), /^refused/);
  assert.equal((await authLine('alice@a.test', 9)).reason, 'unknown-user');
  await cli(['user', 'add', 'alice@a.test', '--password-stdin'], 'the second password 2\n');
  assert.equal(await login('alice@a.test', 'the second password 2'), 'ok');
  assert.equal((await authLine('alice@a.test', 10)).cached, undefined);
});

test('the brute-force limit applies before the cache: a throttled address is refused a cached password', async () => {
  for (let i = 0; i < 2; i++) assert.equal(await login('bob@a.test', PASSWORD), 'ok');
  assert.equal((await authLine('bob@a.test', 2)).cached, true);
  // alice's failures above were forgotten by her successes after them (the limiter forgets an IP's failures
  // on an account when it logs in): four wrong passwords for bob reach the IP's limit.
  for (let i = 0; i < 4; i++) assert.match(await login('bob@a.test', 'not the password'), /^refused/);
  assert.match(await login('bob@a.test', PASSWORD), /^refused/);
  const line = await authLine('bob@a.test', 7);
  assert.equal(line.event, 'auth.failed');
  assert.equal(line.reason, 'throttled');
});
