/**
 * Brute force by concurrency: many AUTH attempts from one address sent at the same moment must not all
 * pass the limiter before the first password check ends. At most the cap's number of passwords is checked.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { Conn, SMTP_REPLY } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
const CAP = 10;
const PARALLEL = 20;
let t: TestServer;

before(async () => {
  t = await startTestServer({ config: { auth: { maxFailuresPerIp: CAP } } });
  await t.addUser('user@example.test', 'the-right-password');
});
after(async () => {
  await t?.stop();
});

test(`${PARALLEL} parallel wrong AUTH PLAIN from one address check at most ${CAP} passwords`, async () => {
  const attacker = '127.0.0.77';
  const conns = await Promise.all(Array.from({ length: PARALLEL }, async () => {
    const c = await Conn.open(t.ports.submissions, { tls: { ca: t.ca }, localAddress: attacker });
    await c.expect(SMTP_REPLY);
    await c.cmd('EHLO hostile.test', SMTP_REPLY);
    return c;
  }));
  // Every AUTH line leaves at once: none of them waits for another's answer.
  const replies = await Promise.all(conns.map((c, i) => c.cmd(`AUTH PLAIN ${Buffer.from(`\0user@example.test\0wrong-${i}`).toString('base64')}`, SMTP_REPLY, 30_000)));
  for (const c of conns) c.close();
  const checked = t.logs.filter((l) => l.event === 'auth.failed' && l.ip === attacker && l.reason === 'wrong-password').length;
  const throttled = t.logs.filter((l) => l.event === 'auth.failed' && l.ip === attacker && l.reason === 'throttled').length;
  fig.record({ case: `${PARALLEL} parallel wrong AUTH, cap ${CAP}`, figure: `${checked} passwords checked, ${throttled} throttled`, limit: `<= ${CAP} checked`, pass: checked <= CAP });
  assert.equal(replies.filter((r) => /^235/m.test(r)).length, 0);
  assert.ok(checked <= CAP, `${checked} passwords checked against a cap of ${CAP}`);
  assert.equal(checked + throttled, PARALLEL);
  // The cap holds afterwards too, for the right password from that address.
  const c = await Conn.open(t.ports.submissions, { tls: { ca: t.ca }, localAddress: attacker });
  await c.expect(SMTP_REPLY);
  await c.cmd('EHLO hostile.test', SMTP_REPLY);
  const right = await c.cmd(`AUTH PLAIN ${Buffer.from('\0user@example.test\0the-right-password').toString('base64')}`, SMTP_REPLY);
  c.close();
  assert.doesNotMatch(right, /^235/m);
});

test('a successful login takes its reservation back: the user is not locked out by their own logins', async () => {
  const ip = '127.0.0.78';
  for (let i = 0; i < CAP + 5; i++) {
    const c = await Conn.open(t.ports.submissions, { tls: { ca: t.ca }, localAddress: ip });
    await c.expect(SMTP_REPLY);
    await c.cmd('EHLO hostile.test', SMTP_REPLY);
    const r = await c.cmd(`AUTH PLAIN ${Buffer.from('\0user@example.test\0the-right-password').toString('base64')}`, SMTP_REPLY);
    c.close();
    assert.match(r, /^235/m, `login ${i + 1}: ${r}`);
  }
});
