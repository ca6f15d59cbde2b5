/**
 * Backscatter with the body: mail from a forged sender asking RET=FULL, sent to an alias that forwards to a
 * refusing server, must not bring the attacker's body to the forged address in our bounce. SRS is on without
 * any configuration (secret generated at first start); the DSN for the forwarded copy, addressed to our SRS
 * address, is reversed to the original sender and carries the header section only. An authenticated
 * sender still gets its full message back.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { smtpOpen, smtpReply, SMTP_REPLY, lastCode } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
const FWD = 'fwd@example.test';
const ATTACK = 'ATTACKER-PAYLOAD buy now at spam.example';
let dns: DnsServerHandle;
let refusing: SmtpSinkHandle;
let senders: SmtpSinkHandle;
let t: TestServer;

before(async () => {
  dns = await startDnsServer({
    '127.0.0.1': { PTR: ['client.test'] },
    'client.test': { A: ['127.0.0.1'] },
    // The forged domain publishes no SPF for us; the honest one authorises 127.0.0.1.
    'victim.test': { TXT: ['v=spf1 ip4:192.0.2.1 ~all'] },
    'honest.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  });
  refusing = await startSmtpSink({ rcpt: () => '550 5.1.1 no such user' });
  senders = await startSmtpSink();
  const route = (port: number): { host: string; port: number } => ({ host: '127.0.0.1', port });
  t = await startTestServer({
    dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }),
    // No srs_secret anywhere: forwarding must use SRS all the same.
    config: { policy: { trustedNetworks: [] }, queue: { routes: { 'far.test': route(refusing.port), 'victim.test': route(senders.port), 'honest.test': route(senders.port) } } },
  });
  await t.addUser('alice@example.test', 'pw');
  await t.addAlias(FWD, ['carol@far.test']);
});
after(async () => {
  await t?.stop();
  await refusing?.stop();
  await senders?.stop();
  await dns?.stop();
});

async function sendWithRetFull(from: string, subject: string): Promise<number> {
  const c = await smtpOpen(t.ports.smtp, { localAddress: '127.0.0.1' });
  await c.cmd(`MAIL FROM:<${from}> RET=FULL ENVID=attack1`, smtpReply(250));
  await c.cmd(`RCPT TO:<${FWD}>`, smtpReply(250));
  await c.cmd('DATA', smtpReply(354));
  const r = await c.cmd(`From: <${from}>\r\nTo: <${FWD}>\r\nSubject: ${subject}\r\nMessage-ID: <${subject}@client.test>\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\n\r\n${ATTACK}\r\n.`, SMTP_REPLY);
  c.close();
  return lastCode(r);
}

test('forged sender + RET=FULL to a forwarding alias: the bounce reaches the forged address with headers only', async () => {
  assert.equal(await sendWithRetFull('victim@victim.test', 'forged'), 250);
  const [dsn] = await senders.waitForMessages(1, 20_000);
  const text = dsn!.data.toString('latin1');
  assert.equal(refusing.sessions.some((s) => s.some((l) => /^MAIL FROM:<SRS0=/i.test(l))), true, 'forwarded with an SRS envelope sender');
  assert.deepEqual(dsn!.recipients, ['victim@victim.test'], 'the DSN is reversed from our SRS address to the original sender');
  assert.equal(dsn!.reversePath, '');
  assert.match(text, /Content-Type: text\/rfc822-headers/);
  assert.doesNotMatch(text, /Content-Type: message\/rfc822/);
  assert.ok(!text.includes(ATTACK), 'the attacker\'s body came back in the bounce');
  fig.record({ case: 'forged sender, RET=FULL, alias to a refusing server', figure: `SRS on by default; DSN to the forged address: headers only, body returned ${text.includes(ATTACK)}`, limit: 'no body', pass: !text.includes(ATTACK) });
  assert.ok(existsSync(join(t.dataDir, 'srs-secret')), 'the SRS secret was generated at first start');
  assert.ok(readFileSync(join(t.dataDir, 'srs-secret'), 'utf8').trim().length >= 32);
});

test('an SPF-authenticated sender with RET=FULL gets its whole message back', async () => {
  assert.equal(await sendWithRetFull('someone@honest.test', 'honest'), 250);
  const all = await senders.waitForMessages(2, 20_000);
  const dsn = all.find((m) => m.recipients[0] === 'someone@honest.test');
  assert.ok(dsn, 'a DSN to the honest sender');
  const text = dsn.data.toString('latin1');
  assert.match(text, /Content-Type: message\/rfc822/);
  assert.ok(text.includes(ATTACK), 'RET=FULL honoured for an authenticated sender');
});

test('policy.srs = false forwards with the original envelope sender and makes no SRS secret', async () => {
  const off = await startTestServer({
    dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }),
    config: { policy: { trustedNetworks: [], srs: false }, queue: { routes: { 'far.test': { host: '127.0.0.1', port: senders.port } } } },
  });
  try {
    await off.addDomain('example.test');
    await off.addAlias(FWD, ['dora@far.test']);
    const c = await smtpOpen(off.ports.smtp, { localAddress: '127.0.0.1' });
    await c.cmd('MAIL FROM:<someone@honest.test>', smtpReply(250));
    await c.cmd(`RCPT TO:<${FWD}>`, smtpReply(250));
    await c.cmd('DATA', smtpReply(354));
    assert.equal(lastCode(await c.cmd('From: <someone@honest.test>\r\nSubject: plain\r\n\r\nplain forward\r\n.', SMTP_REPLY)), 250);
    c.close();
    const deadline = Date.now() + 20_000;
    while (!senders.messages.some((m) => m.recipients.includes('dora@far.test')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    const got = senders.messages.find((m) => m.recipients.includes('dora@far.test'));
    assert.equal(got?.reversePath, 'someone@honest.test');
    assert.equal(existsSync(join(off.dataDir, 'srs-secret')), false);
  } finally {
    await off.stop();
  }
});
