/**
 * The hourly submission limit against parallel sessions: one user's 40 sessions each sending 100 RCPT
 * before any of them commits must not get more recipients through than the limit; recipients reserved by
 * transactions that end without a message (RSET, disconnect, refused data) are given back.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { Conn, SMTP_REPLY, smtpReply, lastCode } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
const LIMIT = 2000;
const SESSIONS = 40;
const RCPTS = 100;
let t: TestServer;

before(async () => {
  t = await startTestServer({ startQueue: false, config: { submission: { rateRecipientsPerHour: LIMIT, rateMessagesPerHour: 500 }, limits: { recipients: 1000, maxErrors: 5000 } } });
  await t.addUser('alice@example.test', 'pw-alice');
  await t.addUser('carol@example.test', 'pw-carol');
  await t.addUser('dave@example.test', 'pw-dave');
});
after(async () => {
  await t?.stop();
});

let nextAddress = 10;

/** Each session from its own loopback address: the per-address connection limit is not what is tested. */
async function session(user: string, password: string): Promise<Conn> {
  const c = await Conn.open(t.ports.submissions, { tls: { ca: t.ca }, timeoutMs: 60_000, localAddress: `127.0.3.${nextAddress++}` });
  await c.expect(SMTP_REPLY);
  await c.cmd('EHLO hostile.test', SMTP_REPLY);
  await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${user}\0${password}`).toString('base64')}`, smtpReply(235));
  await c.cmd(`MAIL FROM:<${user}>`, smtpReply(250));
  return c;
}

/** RFC 2920 pipelining: all RCPT lines at once; returns how many got 250. */
async function rcpts(c: Conn, tag: string, count: number): Promise<number> {
  c.write(Array.from({ length: count }, (_, i) => `RCPT TO:<${tag}-${i}@far.test>\r\n`).join(''));
  let accepted = 0;
  for (let i = 0; i < count; i++) if (lastCode(await c.expect(SMTP_REPLY)) === 250) accepted++;
  return accepted;
}

async function send(c: Conn, from: string): Promise<number> {
  const r = await c.cmd('DATA', SMTP_REPLY);
  if (lastCode(r) !== 354) return lastCode(r);
  return lastCode(await c.cmd(`From: <${from}>\r\nSubject: rate\r\n\r\nbody\r\n.`, SMTP_REPLY));
}

test(`${SESSIONS} parallel sessions × ${RCPTS} RCPT against ${LIMIT}/h get at most ${LIMIT} recipients through`, async () => {
  const conns = await Promise.all(Array.from({ length: SESSIONS }, () => session('alice@example.test', 'pw-alice')));
  // Every session has its recipients accepted before any message is committed.
  const accepted = await Promise.all(conns.map((c, i) => rcpts(c, `s${i}`, RCPTS)));
  const codes = await Promise.all(conns.map((c, i) => (accepted[i]! > 0 ? send(c, 'alice@example.test') : Promise.resolve(0))));
  for (const c of conns) c.close();
  const delivered = accepted.reduce((n, a, i) => n + (codes[i] === 250 ? a : 0), 0);
  const queued = (await t.server.services.store.listQueue()).reduce((n, q) => n + q.recipients.length, 0);
  fig.record({ case: `${SESSIONS} sessions × ${RCPTS} RCPT, limit ${LIMIT}/h`, figure: `${delivered} recipients accepted, ${queued} queued`, limit: `<= ${LIMIT}`, pass: delivered <= LIMIT && queued <= LIMIT });
  assert.ok(delivered <= LIMIT, `${delivered} recipients accepted against a limit of ${LIMIT}`);
  assert.ok(queued <= LIMIT, `${queued} recipients queued`);
  assert.equal(delivered, LIMIT, 'the limit itself is reachable');
});

test('recipients reserved by RSET, disconnect and refused data are given back', async () => {
  const rset = await session('carol@example.test', 'pw-carol');
  const dropped = await session('carol@example.test', 'pw-carol');
  const refused = await session('carol@example.test', 'pw-carol');
  const held = (await rcpts(rset, 'a', 700)) + (await rcpts(dropped, 'b', 700)) + (await rcpts(refused, 'c', 700));
  assert.equal(held, LIMIT, 'the three open transactions hold the whole hour');
  await rset.cmd('RSET', smtpReply(250));
  dropped.close();
  await refused.cmd('DATA', smtpReply(354));
  // A bare LF in the data: the message is refused (RFC 5321 §2.3.8), its transaction ends unsent.
  const refusal = await refused.cmd('Subject: x\r\n\nbare\r\n.', SMTP_REPLY);
  assert.ok(lastCode(refusal) >= 500, refusal);
  await new Promise((r) => setTimeout(r, 200));
  const later = await session('carol@example.test', 'pw-carol');
  const ok = await rcpts(later, 'd', 100);
  const code = await send(later, 'carol@example.test');
  for (const c of [rset, refused, later]) c.close();
  await new Promise((r) => setTimeout(r, 200));
  fig.record({ case: 'reservations after RSET / disconnect / refused data', figure: `later session: ${ok}/100 RCPT, DATA ${code}; open ${t.server.services.submissionRate.openTransactions}`, limit: '100/100, 250, 0 open', pass: ok === 100 && code === 250 });
  assert.equal(ok, 100);
  assert.equal(code, 250);
  assert.equal(t.server.services.submissionRate.openTransactions, 0);
});

test('a client that hangs up right after its final dot is still counted', async () => {
  const before = (await t.server.services.store.listQueue()).reduce((n, q) => n + q.recipients.length, 0);
  // 25 messages × 100 recipients: 2,500 offered against 2,000, each session gone before its 250 comes.
  for (let i = 0; i < 25; i++) {
    const c = await session('dave@example.test', 'pw-dave');
    await rcpts(c, `hang${i}`, RCPTS);
    await c.cmd('DATA', SMTP_REPLY);
    c.write('From: <dave@example.test>\r\nSubject: hang up\r\n\r\nbody\r\n.\r\n');
    c.socket.end();
    await c.waitClosed(10_000);
  }
  await new Promise((r) => setTimeout(r, 500));
  const queued = (await t.server.services.store.listQueue()).reduce((n, q) => n + q.recipients.length, 0) - before;
  fig.record({ case: 'hang up after the final dot, 25 × 100 RCPT', figure: `${queued} recipients stored`, limit: `<= ${LIMIT}`, pass: queued <= LIMIT });
  assert.ok(queued <= LIMIT, `${queued} recipients stored against a limit of ${LIMIT}`);
  assert.equal(t.server.services.submissionRate.openTransactions, 0);
});
