/**
 * App passwords must not show in login cost: a failed login against an account with three app passwords
 * runs one scrypt check, not four (the count of app passwords was visible in timing and multiplied the
 * cost of every guess). Scrypt checks are counted by the server's password-hash pool; app passwords are made
 * with the real CLI.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { cliHarness, type CliHarness } from '../../src/cli/test-harness.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { Conn, SMTP_REPLY } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
let t: TestServer;
let cli: CliHarness;
const appPasswords: string[] = [];

before(async () => {
  t = await startTestServer();
  await t.addUser('alice@example.test', 'alice-account-pw');
  await t.addUser('bob@example.test', 'bob-account-pw');
  cli = cliHarness();
  writeFileSync(cli.configPath, `hostname = "mx.postamt.test"\ndata_dir = ${JSON.stringify(t.dataDir)}\n`);
  for (const label of ['phone', 'laptop', 'tablet']) {
    const r = await cli.run(['app-password', 'add', 'alice@example.test', label]);
    assert.equal(r.code, 0, r.stderr);
    appPasswords.push(r.stdout.trim());
  }
});
after(async () => {
  cli?.cleanup();
  await t?.stop();
});

async function imapLogin(user: string, pass: string): Promise<string> {
  const c = await Conn.open(t.ports.imaps, { tls: { ca: t.ca } });
  await c.expect(/^\* OK[^\n]*\n/);
  const r = await c.cmd(`a LOGIN ${user} "${pass}"`, /a (OK|NO|BAD)[^\n]*\n/);
  c.close();
  return r.trim().split('\n').pop()!.trim();
}

async function smtpLogin(user: string, pass: string): Promise<string> {
  const c = await Conn.open(t.ports.submissions, { tls: { ca: t.ca } });
  await c.expect(SMTP_REPLY);
  await c.cmd('EHLO hostile.test', SMTP_REPLY);
  const r = await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`, SMTP_REPLY);
  c.close();
  return r.trim();
}

/** Scrypt calls made by one login. */
async function cost(login: () => Promise<string>): Promise<{ reply: string; checks: number }> {
  const before = t.server.services.hashes.hashed;
  const reply = await login();
  return { reply, checks: t.server.services.hashes.hashed - before };
}

test('a failed login with 3 app passwords costs one scrypt check, like one without any', async () => {
  const rows: string[] = [];
  const cases: Array<[string, () => Promise<string>]> = [
    ['IMAP wrong password', () => imapLogin('alice@example.test', 'wrong-guess')],
    ['SMTP wrong password', () => smtpLogin('alice@example.test', 'wrong-guess')],
    ['IMAP guess shaped like an app password', () => imapLogin('alice@example.test', 'abcd-efgh-jkmn-pqrs')],
    ['IMAP wrong password, no app passwords', () => imapLogin('bob@example.test', 'wrong-guess')],
  ];
  for (const [name, login] of cases) {
    const { reply, checks } = await cost(login);
    rows.push(`${name}: ${checks}`);
    assert.match(reply, /^(a NO|535)/, `${name}: ${reply}`);
    assert.equal(checks, 1, `${name}: ${checks} scrypt checks`);
  }
  fig.record({ case: 'failed login, account with 3 app passwords', figure: rows.join('; '), limit: '1 check each', pass: true });
});

test('each app password and the account password log in with one scrypt check', async () => {
  const checks: number[] = [];
  for (const pass of [...appPasswords, 'alice-account-pw']) {
    const r = await cost(() => imapLogin('alice@example.test', pass));
    assert.match(r.reply, /^a OK/, r.reply);
    checks.push(r.checks);
  }
  fig.record({ case: 'successful logins (3 app passwords, account password)', figure: `checks ${checks.join(', ')}`, limit: '1 each', pass: checks.every((c) => c === 1) });
  assert.deepEqual(checks, [1, 1, 1, 1]);
});
