/**
 * Relay and auth abuse: an open-relay battery on the MX port, brute force across IMAP, POP3 and
 * submission from one IP (the real user elsewhere still logs in), identical answers for unknown user
 * and wrong password, and backscatter (no DSN for refused RCPT, none to the null sender, loops stopped).
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { SCRYPT_DEFAULT_LOG_N } from '../../src/accounts/passwords.ts';
import { Conn, smtpOpen, smtpReply, SMTP_REPLY, lastCode } from './lib/conn.ts';
import { figures } from './lib/figures.ts';
import { percentile } from './lib/monitor.ts';

const fig = figures(import.meta.url);
let t: TestServer;
const PASSWORD = 'pw-relay-auth-1';
const MAX_FAILURES = 5;

before(async () => {
  t = await startTestServer({ config: { policy: { trustedNetworks: [] }, auth: { maxFailuresPerIp: MAX_FAILURES }, queue: { maxHops: 5 } } });
  // The account's hash costs what a real one does (the default), as the fake check for unknown users does: the
  // timing comparison below is between a real account and an unknown one, not between two hash costs.
  await t.addUser('user@example.test', PASSWORD, { hashLogN: SCRYPT_DEFAULT_LOG_N });
});
after(async () => {
  await t?.stop();
});
const settle = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

test('open-relay battery: every tricky address form is refused with 5xx, nothing is queued', async () => {
  const forms = [
    'user%remote.test@example.test', '<@example.test:user@remote.test>', 'remote.test!user@example.test', '"user@remote.test"@example.test',
    'user@[127.0.0.1]', 'user@remote.test.', 'user@REMOTE.test', 'user@example.test@remote.test', 'user@remote.test', '"user%remote.test"@example.test',
    'user@xn--rmote-fsa.test', 'user@example.test.remote.test', '@example.test,@remote.test:user@remote.test', 'user@[IPv6:::1]',
  ];
  const accepted: string[] = [];
  const codes: number[] = [];
  for (const form of forms) {
    const c = await smtpOpen(t.ports.smtp, { localAddress: '127.0.0.3' });
    await c.cmd('MAIL FROM:<spammer@outside.test>', smtpReply(250));
    const path = form.startsWith('<') ? form : `<${form}>`;
    const r = await c.cmd(`RCPT TO:${path}`, SMTP_REPLY);
    const code = lastCode(r);
    codes.push(code);
    if (code < 500) {
      accepted.push(`${form} → ${r.trim()}`);
      const d = await c.cmd('DATA', SMTP_REPLY);
      if (lastCode(d) === 354) await c.cmd('Subject: relay\r\n\r\nrelay\r\n.', SMTP_REPLY);
    }
    c.close();
  }
  await settle(300);
  const queued = (await t.server.services.store.listQueue()).length;
  fig.record({ case: `open-relay battery (${forms.length} forms)`, figure: `${codes.filter((c) => c >= 500).length}/${forms.length} got 5xx; queued ${queued}`, limit: `all 5xx, 0 queued`, pass: accepted.length === 0 && queued === 0 });
  assert.deepEqual(accepted, []);
  assert.equal(queued, 0);
});

async function imapLogin(user: string, pass: string, localAddress: string): Promise<string> {
  const c = await Conn.open(t.ports.imaps, { tls: { ca: t.ca }, localAddress });
  await c.expect(/^\* OK[^\n]*\n/);
  const r = await c.cmd(`a LOGIN ${user} "${pass}"`, /a (OK|NO|BAD)[^\n]*\n/);
  c.close();
  return r.trim().split('\n').pop()!.trim();
}
async function popLogin(user: string, pass: string, localAddress: string): Promise<string> {
  const c = await Conn.open(t.ports.pop3s, { tls: { ca: t.ca }, localAddress });
  await c.expect(/^\+OK[^\n]*\n/);
  const u = await c.cmd(`USER ${user}`, /^[+-](OK|ERR)[^\n]*\n/m);
  const r = /^\+OK/.test(u) ? await c.cmd(`PASS ${pass}`, /^[+-](OK|ERR)[^\n]*\n/m) : u;
  c.close();
  return r.trim();
}
async function smtpLogin(user: string, pass: string, localAddress: string): Promise<string> {
  const c = await Conn.open(t.ports.submissions, { tls: { ca: t.ca }, localAddress });
  await c.expect(SMTP_REPLY);
  await c.cmd('EHLO hostile.test', SMTP_REPLY);
  const r = await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${pass}`).toString('base64')}`, SMTP_REPLY);
  c.close();
  return r.trim();
}

test('brute force across IMAP, POP3 and submission from one IP is capped; the real user elsewhere logs in', async () => {
  const attacker = '127.0.0.9';
  const logins = [imapLogin, popLogin, smtpLogin];
  let failuresBeforeCap = 0;
  for (let i = 0; i < MAX_FAILURES + 3; i++) {
    const r = await logins[i % 3]!('user@example.test', `wrong-${i}`, attacker);
    if (!/throttl|too many|4\.7\.0|\[UNAVAILABLE\]|try again later/i.test(r)) failuresBeforeCap++;
  }
  const right = await Promise.all(logins.map((f) => f('user@example.test', PASSWORD, attacker)));
  const rightRefused = right.filter((r) => !/^(a OK|\+OK|235)/.test(r)).length;
  const elsewhere = await Promise.all(logins.map((f) => f('user@example.test', PASSWORD, '127.0.0.2')));
  const elsewhereOk = elsewhere.filter((r) => /^(a OK|\+OK|235)/.test(r)).length;
  fig.record({ case: `brute force from one IP (cap ${MAX_FAILURES})`, figure: `${failuresBeforeCap} checks before the cap; right password refused ${rightRefused}/3; other IP ok ${elsewhereOk}/3`, limit: `<= ${MAX_FAILURES}; 3/3; 3/3`, pass: failuresBeforeCap <= MAX_FAILURES && rightRefused === 3 && elsewhereOk === 3 });
  assert.ok(failuresBeforeCap <= MAX_FAILURES, `${failuresBeforeCap} password checks before the cap`);
  assert.equal(rightRefused, 3, right.join(' | '));
  assert.equal(elsewhereOk, 3, elsewhere.join(' | '));
});

test('unknown user and wrong password get identical text and similar timing', async () => {
  const differ: string[] = [];
  const unknownMs: number[] = [];
  const wrongMs: number[] = [];
  const logins = { imap: imapLogin, pop3: popLogin, smtp: smtpLogin };
  let ip = 20;
  for (const [name, login] of Object.entries(logins)) {
    const a = await login('nobody@example.test', 'whatever-1', `127.0.0.${ip++}`);
    const b = await login('user@example.test', 'whatever-1', `127.0.0.${ip++}`);
    if (a !== b) differ.push(`${name}: "${a}" vs "${b}"`);
  }
  for (let i = 0; i < 4; i++) {
    let began = Date.now();
    await imapLogin('nobody@example.test', 'x', `127.0.1.${i}`);
    unknownMs.push(Date.now() - began);
    began = Date.now();
    await imapLogin('user@example.test', 'x', `127.0.2.${i}`);
    wrongMs.push(Date.now() - began);
  }
  const ratio = (percentile(unknownMs, 50) + 1) / (percentile(wrongMs, 50) + 1);
  fig.record({ case: 'unknown user vs wrong password', figure: `${differ.length} differing texts; median time ratio ${ratio.toFixed(2)}`, limit: '0; 0.1..10', pass: differ.length === 0 && ratio > 0.1 && ratio < 10 });
  assert.deepEqual(differ, []);
  assert.ok(ratio > 0.1 && ratio < 10, `timing ratio ${ratio} (${unknownMs} vs ${wrongMs})`);
});

test('backscatter: no DSN for mail refused at RCPT, none to the null sender; a loop is stopped at max_hops', async () => {
  const c = await smtpOpen(t.ports.smtp, { localAddress: '127.0.0.4' });
  await c.cmd('MAIL FROM:<forged@victim-of-backscatter.test>', smtpReply(250));
  const r1 = await c.cmd('RCPT TO:<nobody@example.test>', SMTP_REPLY);
  await c.cmd('RSET', smtpReply(250));
  // A loop: more Received fields than queue.maxHops (5), from the null sender.
  await c.cmd('MAIL FROM:<>', smtpReply(250));
  await c.cmd('RCPT TO:<user@example.test>', smtpReply(250));
  await c.cmd('DATA', smtpReply(354));
  const received = Array.from({ length: 8 }, (_, i) => `Received: from hop${i}.test by hop${i + 1}.test; Thu, 1 Jan 2026 00:00:0${i} +0000\r\n`).join('');
  const r2 = await c.cmd(`${received}Subject: loop\r\n\r\nloop\r\n.`, SMTP_REPLY);
  // The same loop from a real sender: refused or bounced, never delivered.
  await c.cmd('MAIL FROM:<looper@victim-of-backscatter.test>', smtpReply(250));
  await c.cmd('RCPT TO:<user@example.test>', smtpReply(250));
  await c.cmd('DATA', smtpReply(354));
  const r3 = await c.cmd(`${received}Subject: loop2\r\n\r\nloop\r\n.`, SMTP_REPLY);
  c.close();
  await settle(1500);
  const queue = await t.server.services.store.listQueue();
  const delivered = (await t.messages('user@example.test')).length;
  fig.record({ case: 'backscatter + loop (8 Received > max_hops 5)', figure: `RCPT unknown ${lastCode(r1)}; loop from <> ${lastCode(r2)}; loop ${lastCode(r3)}; DSNs queued ${queue.length}; delivered ${delivered}`, limit: '5xx; 0 DSN; 0 delivered', pass: lastCode(r1) >= 500 && queue.length === 0 && delivered === 0 });
  assert.ok(lastCode(r1) >= 500);
  assert.equal(delivered, 0, 'a looping message was delivered');
  assert.equal(queue.length, 0, JSON.stringify(queue));
});
