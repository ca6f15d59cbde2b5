/**
 * From: spoofing on submission by a long list: many copies of the user's own address followed by a
 * foreign one, in From: or Sender:, plain or inside a group, must be refused; so must a list over the limit.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { Conn, SMTP_REPLY, smtpReply, lastCode } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
const ALICE = 'alice@example.test';
const MAX = 100;
let t: TestServer;

before(async () => {
  t = await startTestServer({ config: { submission: { maxSenderAddresses: MAX } } });
  await t.addDomain('b.test');
  await t.addUser(ALICE, 'pw-alice');
  await t.addUser('bob@b.test', 'pw-bob');
});
after(async () => {
  await t?.stop();
});

async function submit(headers: string): Promise<string> {
  const c = await Conn.open(t.ports.submissions, { tls: { ca: t.ca } });
  await c.expect(SMTP_REPLY);
  await c.cmd('EHLO hostile.test', SMTP_REPLY);
  await c.cmd(`AUTH PLAIN ${Buffer.from(`\0${ALICE}\0pw-alice`).toString('base64')}`, smtpReply(235));
  await c.cmd(`MAIL FROM:<${ALICE}>`, smtpReply(250));
  await c.cmd('RCPT TO:<bob@b.test>', smtpReply(250));
  await c.cmd('DATA', smtpReply(354));
  const r = await c.cmd(`${headers}To: <bob@b.test>\r\nSubject: spoof\r\n\r\nbody\r\n.`, SMTP_REPLY, 30_000);
  c.close();
  return r.trim();
}

// Folded (RFC 5322 §2.2.3) so no line passes 1000 octets.
const copies = (n: number): string => Array.from({ length: n }, () => ALICE).join(',\r\n ');

test('a foreign address after 50 (or 99) of the user\'s own in From: or Sender: is refused with 553 5.7.1', async () => {
  const cases: Record<string, string> = {
    'From: 50 own + foreign': `From: ${copies(50)}, bob@b.test\r\n`,
    'From: 99 own + foreign': `From: ${copies(99)}, <bob@b.test>\r\n`,
    'Sender: 50 own + foreign': `From: ${ALICE}\r\nSender: ${copies(50)}, bob@b.test\r\n`,
    'From: group of 60 own + foreign': `From: team: ${copies(60)}, "Bob" <bob@b.test>;\r\n`,
    'second From: after 60 own': `From: ${copies(60)}\r\nFrom: bob@b.test\r\n`,
  };
  const seen: string[] = [];
  for (const [name, headers] of Object.entries(cases)) {
    const r = await submit(headers);
    seen.push(`${name}: ${r}`);
  }
  const refused = seen.filter((s) => /: 553 5\.7\.1 .*bob@b\.test/.test(s)).length;
  fig.record({ case: 'foreign From:/Sender: address after 50-99 own', figure: `${refused}/${seen.length} refused 553 5.7.1`, limit: 'all', pass: refused === seen.length });
  assert.equal(refused, seen.length, seen.join('\n'));
  assert.equal((await t.messages('bob@b.test')).length, 0, 'a spoofed message was delivered');
});

test(`more than ${MAX} addresses in From: and Sender: together are refused with 550 5.7.1; ${MAX} own addresses pass`, async () => {
  const over = await submit(`From: ${copies(MAX - 10)}\r\nSender: ${copies(11)}\r\n`);
  assert.equal(lastCode(over), 550, over);
  assert.match(over, /5\.7\.1 .*more than 100 addresses/);
  const atLimit = await submit(`From: ${copies(MAX)}\r\n`);
  assert.equal(lastCode(atLimit), 250, atLimit);
  fig.record({ case: `From:+Sender: over ${MAX} addresses`, figure: `${over.slice(0, 9)}; ${MAX} own: ${atLimit.slice(0, 3)}`, limit: '550 5.7.1; 250', pass: true });
});
