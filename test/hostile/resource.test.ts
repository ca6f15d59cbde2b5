/**
 * Resource abuse against a running server: slow-loris, connection floods, DATA trickle, 10 MB lines,
 * 100,000 RCPT, IMAP literal bombs and deep nesting, huge and deeply nested MIME, address-header ReDoS
 * shapes. A canary client submits throughout; peak RSS, event-loop lag and canary latency are recorded.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { Conn, smtpOpen, smtpReply, SMTP_REPLY, lastCode } from './lib/conn.ts';
import { figures, scale } from './lib/figures.ts';
import { startMonitor, type Monitor } from './lib/monitor.ts';

const fig = figures(import.meta.url);
const TIMEOUT = 1500;
let t: TestServer;
let monitor: Monitor;
const PASSWORD = 'correct horse battery';

before(async () => {
  t = await startTestServer({
    config: { limits: { smtpCommandTimeout: TIMEOUT, smtpDataTimeout: TIMEOUT, imapIdleTimeout: TIMEOUT, pop3IdleTimeout: TIMEOUT, connectionsPerIp: 40, connectionsPerNetwork: 1000, imapLiteralSize: 30 * 1048576 } },
  });
  await t.addUser('victim@example.test', PASSWORD);
  await t.addUser('canary@example.test', PASSWORD);
  monitor = startMonitor({ port: t.ports.smtp, to: 'canary@example.test' });
});
after(async () => {
  await t?.stop();
});

const mb = (): number => process.memoryUsage().rss / 1048576;

async function imapLogin(localAddress?: string): Promise<Conn> {
  const c = await Conn.open(t.ports.imaps, { tls: { ca: t.ca }, localAddress, timeoutMs: 30_000 });
  await c.expect(/^\* OK[^\n]*\n/);
  await c.cmd(`L LOGIN victim@example.test "${PASSWORD}"`, /L OK[^\n]*\n/);
  return c;
}

test('slow-loris: a byte every 300 ms does not keep SMTP, IMAP or POP3 sessions open', async () => {
  const n = scale(8, 60);
  const began = Date.now();
  // Each from its own loopback address: the per-IP limit (40) must not be what closes them, nor refuse the canary.
  const from = (k: number): { localAddress: string } => ({ localAddress: `127.0.2.${1 + k}` });
  const conns = await Promise.all([
    ...Array.from({ length: n }, (_, k) => Conn.open(t.ports.smtp, from(k))),
    ...Array.from({ length: n }, (_, k) => Conn.open(t.ports.imap, from(k))),
    ...Array.from({ length: n }, (_, k) => Conn.open(t.ports.pop3, from(k))),
  ]);
  const payload = 'NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP NOOP';
  let i = 0;
  const dribble = setInterval(() => {
    for (const c of conns) c.write(payload[i % payload.length]!);
    i++;
  }, 300);
  const closedAt = await Promise.all(conns.map(async (c) => ((await c.waitClosed(TIMEOUT + 8000)) ? Date.now() - began : Infinity)));
  clearInterval(dribble);
  conns.forEach((c) => c.close());
  const worst = Math.max(...closedAt);
  const limit = TIMEOUT + 4000;
  fig.record({ case: `slow-loris ${conns.length} conns (smtp/imap/pop3), timeout ${TIMEOUT} ms`, figure: `all closed after ${worst} ms`, limit: `<= ${limit} ms`, pass: worst <= limit });
  assert.ok(worst <= limit, `slowest slow-loris connection closed after ${worst} ms`);
});

test('DATA trickle: a message body dribbled byte by byte is cut off by the data timeout', async () => {
  const c = await smtpOpen(t.ports.smtp);
  await c.cmd('MAIL FROM:<a@outside.test>', smtpReply(250));
  await c.cmd('RCPT TO:<victim@example.test>', smtpReply(250));
  await c.cmd('DATA', smtpReply(354));
  const began = Date.now();
  const dribble = setInterval(() => c.write('x'), 200);
  const closed = await c.waitClosed(TIMEOUT + 8000);
  clearInterval(dribble);
  const took = Date.now() - began;
  fig.record({ case: 'DATA trickle (1 byte / 200 ms)', figure: closed ? `closed after ${took} ms (${/421/.test(c.text) ? '421' : 'no 421'})` : 'still open', limit: `<= ${TIMEOUT + 4000} ms`, pass: closed && took <= TIMEOUT + 4000 });
  assert.ok(closed && took <= TIMEOUT + 4000);
  assert.match(c.text, /421 4\.4\.2/);
  assert.equal((await t.messages('victim@example.test')).length, 0);
});

test('connection flood from one IP: over connectionsPerIp get 421 4.7.0, * BYE, -ERR; others still served', async () => {
  const limit = 40;
  const extra = 10;
  const src = '127.0.0.5';
  const refusedBy: Record<string, number> = { smtp: 0, imap: 0, pop3: 0 };
  const held: Conn[] = [];
  for (let i = 0; i < limit; i++) held.push(await Conn.open(t.ports.smtp, { localAddress: src }));
  await Promise.all(held.map((c) => c.expect(/^220 /)));
  const probes: Array<[string, number, RegExp]> = [['smtp', t.ports.smtp, /^421 4\.7\.0/], ['imap', t.ports.imap, /^\* BYE/], ['pop3', t.ports.pop3, /^-ERR/]];
  for (const [name, port, refusal] of probes) {
    for (let i = 0; i < extra; i++) {
      const c = await Conn.open(port, { localAddress: src });
      await c.waitClosed(5000);
      if (refusal.test(c.text)) refusedBy[name]!++;
      c.close();
    }
  }
  const other = await smtpOpen(t.ports.smtp, { localAddress: '127.0.0.6' });
  const ok = /250/.test(other.text);
  other.close();
  held.forEach((c) => c.close());
  const total = refusedBy.smtp! + refusedBy.imap! + refusedBy.pop3!;
  fig.record({ case: `connection flood: ${limit} held + ${extra}/protocol over the limit`, figure: `refused smtp ${refusedBy.smtp} imap ${refusedBy.imap} pop3 ${refusedBy.pop3}; other IP served: ${ok}`, limit: `${3 * extra} refused, other IP served`, pass: total === 3 * extra && ok });
  assert.deepEqual(refusedBy, { smtp: extra, imap: extra, pop3: extra });
  assert.ok(ok);
});

test('a 10 MB command line gets 500 5.5.2 and memory stays bounded; so does a 10 MB line in DATA', async () => {
  const before = mb();
  const c = await smtpOpen(t.ports.smtp, { timeoutMs: 30_000 });
  const chunk = Buffer.alloc(1048576, 'A');
  c.write('MAIL FROM:<');
  for (let i = 0; i < 10; i++) c.write(chunk);
  const r1 = await c.cmd('>', SMTP_REPLY);
  assert.match(r1, /500 5\.5\.2/);
  const r2 = await c.cmd('NOOP', SMTP_REPLY);
  assert.equal(lastCode(r2), 250);
  await c.cmd('MAIL FROM:<a@outside.test>', smtpReply(250));
  await c.cmd('RCPT TO:<victim@example.test>', smtpReply(250));
  await c.cmd('DATA', smtpReply(354));
  c.write('Subject: long line\r\n\r\n');
  for (let i = 0; i < 10; i++) c.write(chunk);
  const r3 = await c.cmd('\r\n.', SMTP_REPLY, 30_000);
  const code = lastCode(r3);
  const grew = Math.round(mb() - before);
  c.close();
  fig.record({ case: '10 MB line: command / in DATA', figure: `${r1.trim().slice(0, 9)} / ${r3.trim().slice(0, 9)}; RSS +${grew} MB`, limit: '500 5.5.2 / 5xx, RSS +< 150 MB', pass: code >= 500 && grew < 150 });
  assert.ok(code >= 500 && code < 600, `DATA with a 10 MB line: ${r3}`);
  assert.ok(grew < 150, `RSS grew ${grew} MB`);
});

test('100,000 RCPT in one transaction: 452 4.5.3 after the limit, the server stays responsive', async () => {
  const n = scale(100_000, 300_000);
  const c = await smtpOpen(t.ports.smtp, { timeoutMs: 120_000 });
  await c.cmd('MAIL FROM:<a@outside.test>', smtpReply(250));
  const began = Date.now();
  const batch = 'RCPT TO:<victim@example.test>\r\n'.repeat(1000);
  for (let i = 0; i < n / 1000; i++) c.write(batch);
  let accepted = 0;
  let refused = 0;
  let other = 0;
  while (accepted + refused + other < n) {
    // Every complete line received so far at once: reading one reply per await would starve the canary
    // (same process) and let the server's command timeout run while we are still reading.
    const chunk = await c.expect(/^[\s\S]*\n/, 120_000);
    for (const line of chunk.split('\n')) {
      if (/^250 /.test(line)) accepted++;
      else if (/^452 4\.5\.3/.test(line)) refused++;
      else if (/^\d{3} /.test(line)) other++;
    }
  }
  const took = Date.now() - began;
  const r = await c.cmd('RSET', SMTP_REPLY);
  c.close();
  fig.record({ case: `${n} RCPT pipelined`, figure: `250 x${accepted}, 452 4.5.3 x${refused}, other ${other} in ${took} ms`, limit: `250 <= 100 (limits.recipients)`, pass: accepted <= 100 && refused + other === n - accepted });
  assert.equal(accepted, 100);
  assert.equal(refused, n - 100);
  assert.equal(lastCode(r), 250);
});

test('IMAP literal bomb {999999999} is refused before reading; deep nesting is refused', async () => {
  const c = await imapLogin();
  const began = Date.now();
  const r = await c.cmd('B APPEND INBOX {999999999}', /(?:^|\n)(?:B (?:NO|BAD)|\+)[^\n]*\n/);
  const refusedFast = /B (NO|BAD)/.test(r);
  const nest = `N SEARCH ${'('.repeat(scale(5000, 50_000))}ALL${')'.repeat(scale(5000, 50_000))}`;
  const r2 = await c.cmd(nest, /(?:^|\n)N (?:OK|NO|BAD)[^\n]*\n/, 20_000);
  const r3 = await c.cmd('P NOOP', /P OK[^\n]*\n/);
  c.close();
  const took = Date.now() - began;
  fig.record({ case: 'IMAP literal bomb + nesting 5000', figure: `${r.trim().split('\n').pop()!.slice(0, 30)} / ${r2.trim().split('\n').pop()!.slice(0, 30)} (${took} ms)`, limit: 'NO/BAD, no "+"; BAD/NO', pass: refusedFast && /N (BAD|NO)/.test(r2) && /P OK/.test(r3) });
  assert.ok(refusedFast, r);
  assert.match(r2, /N (BAD|NO)/);
});

/** Sends one message on the MX port; returns the final reply code. */
async function deliver(body: Buffer | string): Promise<number> {
  const c = await smtpOpen(t.ports.smtp, { timeoutMs: 60_000 });
  await c.cmd('MAIL FROM:<a@outside.test>', smtpReply(250));
  await c.cmd('RCPT TO:<victim@example.test>', smtpReply(250));
  await c.cmd('DATA', smtpReply(354));
  c.write(body);
  const r = await c.cmd('.', SMTP_REPLY, 60_000);
  c.close();
  return lastCode(r);
}

test('huge (20 MB) and deeply nested MIME, address-header ReDoS shapes: stored, then IMAP answers in bounded time', async () => {
  const depth = scale(2000, 20_000);
  let nested = 'Subject: nested\r\n';
  for (let i = 0; i < depth; i++) nested += `Content-Type: multipart/mixed; boundary="b${i}"\r\n\r\n--b${i}\r\n`;
  nested += 'Content-Type: text/plain\r\n\r\ninner\r\n';
  for (let i = depth - 1; i >= 0; i--) nested += `--b${i}--\r\n`;
  const line = `${'QUFBQUFB'.repeat(9)}\r\n`;
  const huge = Buffer.from(`Subject: huge\r\nContent-Type: multipart/mixed; boundary="x"\r\n\r\n--x\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${line.repeat(Math.ceil((20 * 1048576) / line.length))}--x--\r\n`);
  // Folded (RFC 5322 §2.2.3) so no line passes the 1000-octet limit: the parsers see one huge field.
  const fold = (text: string): string => text.replace(/(.{900})/g, '$1\r\n ');
  const redos = [
    `From: ${fold('"'.repeat(30_000))}\r\nTo: victim@example.test\r\nSubject: q\r\n\r\nx\r\n`,
    `From: ${fold('a<'.repeat(20_000))}\r\nTo: ${fold('(('.repeat(10_000))}\r\nSubject: c\r\n\r\nx\r\n`,
    `From: ${fold('a@b,'.repeat(20_000))}x\r\nTo: ${fold('"\\"'.repeat(20_000))}\r\nCc: ${fold('<<@'.repeat(10_000))}\r\nSubject: l\r\n\r\nx\r\n`,
    `From: ${fold('x-'.repeat(30_000))}<a@b>\r\nTo: ${fold(`${'a.'.repeat(30_000)}@${'b.'.repeat(30_000)}`)}\r\nSubject: d\r\n\r\nx\r\n`,
  ];
  const codes = [await deliver(nested.replace(/\r\n\./g, '\r\n..')), await deliver(huge), ...(await Promise.all(redos.map((r) => deliver(r))))];
  const stored = (await t.messages('victim@example.test')).length;
  const c = await imapLogin();
  await c.cmd('S SELECT INBOX', /S OK[^\n]*\n/);
  const began = Date.now();
  const r = await c.cmd('F FETCH 1:* (BODYSTRUCTURE ENVELOPE)', /(?:^|\n)F (?:OK|NO|BAD)[^\n]*\n/, 60_000);
  const took = Date.now() - began;
  const answered = (r.match(/^\* \d+ FETCH/gm) ?? []).length;
  c.close();
  fig.record({ case: `MIME: depth ${depth}, 20 MB, 4 ReDoS headers`, figure: `SMTP ${codes.join(',')}; FETCH BODYSTRUCTURE+ENVELOPE of ${answered}/${stored} in ${took} ms`, limit: 'all answered, < 10 s', pass: /F OK/.test(r) && answered === stored && took < 10_000 });
  assert.ok(codes.every((code) => code === 250), `codes ${codes}`);
  assert.match(r, /F OK/);
  assert.equal(answered, stored);
  assert.ok(took < 10_000, `FETCH took ${took} ms`);
});

test('overall: peak RSS, event-loop lag and canary latency', async () => {
  const m = await monitor.stop();
  fig.record({ case: 'peak RSS (server + test in one process)', figure: `${m.peakRssMb} MB`, limit: '< 600 MB', pass: m.peakRssMb < 600 });
  fig.record({ case: 'event-loop lag p99', figure: `${m.lagP99Ms} ms`, limit: '< 1000 ms', pass: m.lagP99Ms < 1000 });
  fig.record({ case: 'canary latency p99', figure: `${m.canaryP99Ms} ms (${m.canarySent} sent, ${m.canaryFailed} failed)`, limit: '< 2000 ms, 0 failed', pass: m.canaryP99Ms < 2000 && m.canaryFailed === 0 });
  assert.ok(m.canarySent > 10);
  assert.equal(m.canaryFailed, 0);
  assert.ok(m.canaryP99Ms < 2000, `canary p99 ${m.canaryP99Ms} ms`);
  assert.ok(m.peakRssMb < 600);
});
