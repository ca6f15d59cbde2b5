/**
 * Idle connections as a lock-out: hundreds of POP3 connections that never log in, spread over many
 * loopback addresses and networks, must not keep IMAPS, IMAP and SMTP users out (the oldest idle
 * anonymous connection makes room), one /24 gets at most connections_per_network, and connections that
 * do not log in are closed after login_timeout while logged-in sessions and the MX keep their own.
 */
import { test, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { Conn, smtpOpen, smtpReply } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
const PASSWORD = 'pw-idle-flood-1';
const servers: TestServer[] = [];
after(async () => {
  for (const t of servers) await t.stop();
});

/** Opens a POP3 connection from `localAddress` and says whether it was greeted (+OK) or refused (-ERR / closed). */
async function pop3From(t: TestServer, localAddress: string): Promise<{ conn: Conn; greeted: boolean; line: string }> {
  const conn = await Conn.open(t.ports.pop3, { localAddress, timeoutMs: 15_000 });
  try {
    const line = await conn.expect(/^[^\n]*\n/);
    return { conn, greeted: line.startsWith('+OK'), line: line.trim() };
  } catch {
    return { conn, greeted: false, line: '(closed)' };
  }
}

async function imapsLogin(t: TestServer): Promise<Conn> {
  const c = await Conn.open(t.ports.imaps, { tls: { ca: t.ca }, timeoutMs: 15_000 });
  await c.expect(/^\* OK[^\n]*\n/);
  await c.cmd(`L LOGIN alice@example.test "${PASSWORD}"`, /L OK[^\n]*\n/);
  return c;
}

test('idle POP3 connections from 60 addresses in 12 networks cannot lock IMAPS, IMAP or SMTP out; one /24 gets connections_per_network', async () => {
  const total = 120;
  const t = await startTestServer({ config: { limits: { connectionsTotal: total, connectionsPerIp: 5, connectionsPerNetwork: 20 } } });
  servers.push(t);
  await t.addUser('alice@example.test', PASSWORD);
  // A user logged in before the flood must keep the session.
  const early = await imapsLogin(t);
  await early.cmd('S SELECT INBOX', /S OK[^\n]*\n/);

  // One /24 (10 addresses x 5): the network's share is 20.
  const sameNet = await Promise.all(Array.from({ length: 50 }, (_, k) => pop3From(t, `127.20.0.${1 + (k % 10)}`)));
  const sameNetGreeted = sameNet.filter((r) => r.greeted).length;
  const byNetwork = sameNet.filter((r) => /network/.test(r.line)).length;
  fig.record({ case: '50 idle POP3 from 10 addresses of one /24 (per IP 5, per network 20)', figure: `${sameNetGreeted} greeted, ${byNetwork} refused for the network`, limit: '20 greeted', pass: sameNetGreeted === 20 });
  assert.equal(sameNetGreeted, 20);
  assert.equal(byNetwork, 30);
  for (const r of sameNet) r.conn.close();

  // The flood: 12 networks x 5 addresses x 4 connections = 240 idle POP3 connections, twice the total cap.
  const flood: Array<{ conn: Conn; greeted: boolean }> = [];
  for (let net = 0; net < 12; net++) {
    flood.push(...(await Promise.all(Array.from({ length: 20 }, (_, k) => pop3From(t, `127.${30 + net}.0.${1 + (k % 5)}`)))));
  }
  await new Promise((r) => setTimeout(r, 200));
  const stillOpen = flood.filter((r) => !r.conn.closed).length;
  const openOnServer = t.server.services.counter.open;

  // Legitimate users of the other protocols get in, each by taking the place of the oldest idle one.
  const began = Date.now();
  const imaps = await imapsLogin(t);
  await imaps.cmd('S SELECT INBOX', /S OK[^\n]*\n/);
  const imap = await Conn.open(t.ports.imap, { timeoutMs: 15_000 });
  const imapGreeting = await imap.expect(/^[^\n]*\n/);
  const smtp = await smtpOpen(t.ports.smtp);
  await smtp.cmd('MAIL FROM:<someone@outside.test>', smtpReply(250));
  await smtp.cmd('RCPT TO:<alice@example.test>', smtpReply(250));
  await smtp.cmd('DATA', smtpReply(354));
  const accepted = await smtp.cmd('Subject: through the flood\r\n\r\nhello\r\n.', /^\d{3}[^\n]*\n/m);
  const servedMs = Date.now() - began;
  const earlyAlive = /N OK/.test(await early.cmd('N NOOP', /N (OK|NO|BAD)[^\n]*\n/).catch(() => 'closed'));
  const evictions = t.logs.filter((l) => l.event === 'conn.evicted').length;
  fig.record({
    case: `240 idle POP3 from 60 addresses / 12 networks, connections_total ${total}`,
    figure: `server held ${openOnServer}, flood still open ${stillOpen}; then IMAPS login+SELECT, IMAP greeting, SMTP ${accepted.slice(0, 3)} in ${servedMs} ms; ${evictions} evicted; logged-in session kept: ${earlyAlive}`,
    limit: `<= ${total} held; all served; session kept`,
    pass: openOnServer <= total && /^\* OK/.test(imapGreeting) && accepted.startsWith('250') && earlyAlive,
  });
  assert.ok(openOnServer <= total, `${openOnServer} open`);
  assert.match(imapGreeting, /^\* OK/);
  assert.match(accepted, /^250/);
  assert.ok(earlyAlive, 'the session logged in before the flood was closed');
  assert.ok(evictions > 0);
  for (const c of [imaps, imap, smtp, early, ...flood.map((r) => r.conn)]) c.close();
});

test('connections that do not log in are closed after login_timeout; logged-in sessions and the MX keep their timeouts', async () => {
  const loginTimeout = 1000;
  const t = await startTestServer({ config: { limits: { loginTimeout } } });
  servers.push(t);
  await t.addUser('alice@example.test', PASSWORD);
  const began = Date.now();
  const pop3 = await Conn.open(t.ports.pop3);
  const imap = await Conn.open(t.ports.imaps, { tls: { ca: t.ca } });
  const submission = await Conn.open(t.ports.submissions, { tls: { ca: t.ca } });
  const mx = await smtpOpen(t.ports.smtp);
  const pop3User = await Conn.open(t.ports.pop3s, { tls: { ca: t.ca } });
  await pop3User.expect(/^\+OK[^\n]*\n/);
  await pop3User.cmd('USER alice@example.test', /^\+OK[^\n]*\n/m);
  await pop3User.cmd(`PASS ${PASSWORD}`, /^\+OK[^\n]*\n/m);
  const imapUser = await imapsLogin(t);
  const closedAt = await Promise.all([pop3, imap, submission].map(async (c) => ((await c.waitClosed(loginTimeout + 5000)) ? Date.now() - began : Infinity)));
  await new Promise((r) => setTimeout(r, Math.max(0, began + 2.5 * loginTimeout - Date.now())));
  const kept = { mx: !mx.closed, pop3User: !pop3User.closed, imapUser: !imapUser.closed };
  const worst = Math.max(...closedAt);
  fig.record({ case: `idle before login (POP3, IMAPS, submissions), login_timeout ${loginTimeout} ms`, figure: `closed after ${closedAt.join(' / ')} ms; still open after ${2.5 * loginTimeout} ms: MX ${kept.mx}, POP3 user ${kept.pop3User}, IMAP user ${kept.imapUser}`, limit: `<= ${loginTimeout + 2000} ms; all three kept`, pass: worst <= loginTimeout + 2000 && kept.mx && kept.pop3User && kept.imapUser });
  assert.ok(worst <= loginTimeout + 2000, `closed after ${closedAt.join(' / ')} ms`);
  assert.deepEqual(kept, { mx: true, pop3User: true, imapUser: true });
  assert.match(submission.text, /421 4\.4\.2/);
  for (const c of [pop3, imap, submission, mx, pop3User, imapUser]) c.close();
});
