/**
 * Inbound policy end to end through the MX port, with 127.0.0.1 untrusted and a loopback DNS server:
 * SPF, DKIM (our signer and dkimpy), forged Authentication-Results, DMARC reject/quarantine, the spam
 * score, and greylisting against a second Postamt whose queue really retries.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createPrivateKey } from 'node:crypto';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { dkimRecordText, generateDkimKey, signMessage } from '../../src/policy/dkim-sign.ts';
import type { DkimKey } from '../../src/policy/types.ts';
import { startDnsServer, type DnsRecords, type DnsServerHandle } from '../harness/dns-server.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { PASS, attempts, rawMessage, submit, until } from './queue-helpers.ts';

const HOST = 'mx.postamt.test';
/** A python3 that has dkimpy (Debian installs it for /usr/bin/python3, which may not be first on PATH). */
const PYTHON = ['/usr/bin/python3', 'python3'].find((py) => spawnSync(py, ['-c', 'import dkim'], { stdio: 'ignore' }).status === 0);
const BOB = 'bob@example.test';
const rsa = generateDkimKey('rsa');
const ed = generateDkimKey('ed25519');
const key = (selector: string, g: typeof rsa, domain: string): DkimKey => ({ domain, selector, algorithm: g.algorithm, privateKeyPem: g.privateKeyPem, publicKeyB64: g.publicKeyB64, createdAt: new Date(), active: true });

/** The client is 127.0.0.1 with HELO client.test: forward-confirmed, so only authentication moves the score. */
const BASE_RECORDS: DnsRecords = {
  '127.0.0.1': { PTR: ['client.test'] },
  'client.test': { A: ['127.0.0.1'], TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  'pass.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  'fail.test': { TXT: ['v=spf1 -all'] },
  'signed.test': { TXT: ['v=spf1 -all'] },
  's1._domainkey.signed.test': { TXT: [dkimRecordText(rsa)] },
  'e1._domainkey.signed.test': { TXT: [dkimRecordText(ed)] },
  '_dmarc.signed.test': { TXT: ['v=DMARC1; p=reject'] },
  'reject.test': { TXT: ['v=spf1 -all'] },
  '_dmarc.reject.test': { TXT: ['v=DMARC1; p=reject'] },
  'quarantine.test': { TXT: ['v=spf1 -all'] },
  '_dmarc.quarantine.test': { TXT: ['v=DMARC1; p=quarantine'] },
};

function message(from: string, subject: string, extraHeaders = ''): string {
  return `${extraHeaders}From: <${from}>\r\nTo: <${BOB}>\r\nSubject: ${subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W+/g, '.')}@client.test>\r\n\r\nHello.\r\n`;
}

/** The stored copy's header section as text. */
async function storedHead(t: TestServer, uid: number, mailbox = 'INBOX'): Promise<string> {
  const raw = (await t.read(BOB, uid, mailbox)).toString('latin1');
  return raw.slice(0, raw.indexOf('\r\n\r\n') + 2);
}

/** The unfolded Authentication-Results fields of a header section. */
function authResults(head: string): string[] {
  return head.replace(/\r\n[ \t]+/g, ' ').split('\r\n').filter((l) => /^Authentication-Results:/i.test(l));
}

async function lastUid(t: TestServer, mailbox = 'INBOX'): Promise<number> {
  const list = await t.messages(BOB, mailbox);
  return list[list.length - 1]!.uid;
}

describe('inbound policy on the MX port (127.0.0.1 untrusted)', () => {
  let dns: DnsServerHandle;
  let t: TestServer;

  before(async () => {
    dns = await startDnsServer(BASE_RECORDS);
    t = await startTestServer({ dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }), config: { policy: { trustedNetworks: [], spamJunkScore: 4 } } });
    await t.addUser(BOB, 'pw');
  });
  after(async () => {
    await t.stop();
    await dns.stop();
  });

  it('SPF pass for a sender domain that lists 127.0.0.1, with our hostname as authserv-id', async () => {
    const reply = await sendRaw(t.ports.smtp, { from: 'a@pass.test', to: [BOB], data: message('a@pass.test', 'spf pass'), helo: 'client.test' });
    assert.equal(reply.code, 250, reply.text);
    const head = await storedHead(t, await lastUid(t));
    const [ar] = authResults(head);
    assert.ok(ar, head);
    assert.match(ar!, new RegExp(`^Authentication-Results: ${HOST.replace(/\./g, '\\.')};`));
    assert.match(ar!, /spf=pass [^;]*smtp\.mailfrom=a@pass\.test/);
    assert.match(head, /^X-Spam-Status: No, score=/m);
  });

  it('SPF fail for "v=spf1 -all" is recorded (and scored), the message still delivered without DMARC', async () => {
    const reply = await sendRaw(t.ports.smtp, { from: 'a@fail.test', to: [BOB], data: message('a@fail.test', 'spf fail'), helo: 'client.test' });
    assert.equal(reply.code, 250, reply.text);
    const head = await storedHead(t, await lastUid(t));
    assert.match(authResults(head)[0]!, /spf=fail [^;]*smtp\.mailfrom=a@fail\.test/);
    assert.match(head, /SPF_FAIL=3\.0/);
  });

  for (const [name, keys] of [['rsa-sha256', [key('s1', rsa, 'signed.test')]], ['ed25519-sha256', [key('e1', ed, 'signed.test')]]] as const) {
    it(`a message signed by our signer (${name}) gets dkim=pass and passes DMARC despite SPF -all`, async () => {
      const body = Buffer.from(message('a@signed.test', `dkim ${name}`));
      const sig = await signMessage({ message: body, domain: 'signed.test', keys: [...keys] });
      const reply = await sendRaw(t.ports.smtp, { from: 'a@signed.test', to: [BOB], data: Buffer.concat([sig, body]), helo: 'client.test' });
      assert.equal(reply.code, 250, reply.text);
      const ar = authResults(await storedHead(t, await lastUid(t)))[0]!;
      assert.match(ar, new RegExp(`dkim=pass [^;]*header\\.i=@signed\\.test[^;]*header\\.a=${name}`));
      assert.match(ar, /dmarc=pass/);
    });
  }

  it('a message signed by dkimpy (independent signer) verifies: dkim=pass', async (ctx) => {
    if (!PYTHON) return ctx.skip('python3-dkim not installed');
    const dir = mkdtempSync(join(tmpdir(), 'postamt-dkimpy-'));
    try {
      // dkimpy wants a PKCS#1 RSA key.
      const pem = createPrivateKey(rsa.privateKeyPem).export({ type: 'pkcs1', format: 'pem' }).toString();
      writeFileSync(join(dir, 'k.pem'), pem);
      const signed = execFileSync(PYTHON, ['test/fixtures/dkim_sign.py', 'signed.test', 's1', join(dir, 'k.pem'), 'rsa'], { input: message('a@signed.test', 'dkimpy signed') });
      const reply = await sendRaw(t.ports.smtp, { from: 'a@signed.test', to: [BOB], data: signed, helo: 'client.test' });
      assert.equal(reply.code, 250, reply.text);
      assert.match(authResults(await storedHead(t, await lastUid(t)))[0]!, /dkim=pass [^;]*header\.i=@signed\.test/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('a forged Authentication-Results claiming our authserv-id is removed; a foreign one is kept', async () => {
    const forged = `Authentication-Results: ${HOST}; spf=pass smtp.mailfrom=a@fail.test; dkim=pass header.d=fail.test; dmarc=pass\r\nAuthentication-Results: other.example; spf=none\r\n`;
    const reply = await sendRaw(t.ports.smtp, { from: 'a@fail.test', to: [BOB], data: message('a@fail.test', 'forged ar', forged), helo: 'client.test' });
    assert.equal(reply.code, 250, reply.text);
    const ars = authResults(await storedHead(t, await lastUid(t)));
    const ours = ars.filter((l) => l.startsWith(`Authentication-Results: ${HOST};`));
    assert.equal(ours.length, 1, ars.join('\n'));
    assert.match(ours[0]!, /spf=fail/);
    assert.ok(ars.some((l) => l.startsWith('Authentication-Results: other.example;')), 'a foreign authserv-id stays');
  });

  it('DMARC p=reject failure: 550 5.7.1 at end of data, nothing stored', async () => {
    const before = (await t.messages(BOB)).length;
    const reply = await sendRaw(t.ports.smtp, { from: 'a@reject.test', to: [BOB], data: message('a@reject.test', 'dmarc reject'), helo: 'client.test' });
    assert.equal(reply.code, 550);
    assert.equal(reply.enhanced, '5.7.1');
    assert.match(reply.text, /DMARC/);
    assert.equal((await t.messages(BOB)).length, before);
  });

  it('DMARC p=quarantine failure: delivered to Junk, not INBOX', async () => {
    const inbox = (await t.messages(BOB)).length;
    const junk = (await t.messages(BOB, 'Junk')).length;
    const reply = await sendRaw(t.ports.smtp, { from: 'a@quarantine.test', to: [BOB], data: message('a@quarantine.test', 'dmarc quarantine'), helo: 'client.test' });
    assert.equal(reply.code, 250, reply.text);
    await t.waitForMessages(BOB, junk + 1, { mailbox: 'Junk' });
    assert.equal((await t.messages(BOB)).length, inbox);
    assert.match(authResults(await storedHead(t, await lastUid(t, 'Junk'), 'Junk'))[0]!, /dmarc=fail/);
  });

  it('a spam score over the junk threshold goes to Junk with an X-Spam-Status that explains it', async () => {
    // Junk threshold 4 in this suite. HELO without a dot (1.5) and SPF fail (3): 4.5.
    const junk = (await t.messages(BOB, 'Junk')).length;
    const reply = await sendRaw(t.ports.smtp, { from: 'a@fail.test', to: [BOB], data: message('a@fail.test', 'spammy'), helo: 'nodot' });
    assert.equal(reply.code, 250, reply.text);
    await t.waitForMessages(BOB, junk + 1, { mailbox: 'Junk' });
    const head = (await storedHead(t, await lastUid(t, 'Junk'), 'Junk')).replace(/\r\n[ \t]+/g, ' ');
    const status = /^X-Spam-Status: (.*)$/m.exec(head)?.[1] ?? '';
    assert.match(status, /^Yes, score=\d+\.\d required=4\.0 tests=/);
    assert.match(status, /SPF_FAIL=3\.0/);
    assert.match(status, /HELO_NO_DOT=1\.5/);
    assert.ok(Number(/score=([\d.]+)/.exec(status)![1]) >= 4);
  });
});

describe('greylisting against a real retrying sender (a second Postamt)', () => {
  let dns: DnsServerHandle;
  let receiver: TestServer;
  let sender: TestServer;

  before(async () => {
    dns = await startDnsServer(BASE_RECORDS);
    const resolver = new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 });
    receiver = await startTestServer({ dns: resolver, config: { policy: { trustedNetworks: [], greylisting: true, greylistDelay: 300 } } });
    await receiver.addUser(BOB, 'pw');
    sender = await startTestServer({
      dns: resolver,
      hostname: 'client.test',
      config: { queue: { routes: { 'example.test': { host: '127.0.0.1', port: receiver.ports.smtp } }, retrySchedule: [400, 400, 400, 400], delayWarning: null } },
    });
    await sender.addUser('alice@pass.test', PASS);
  });
  after(async () => {
    await sender.stop();
    await receiver.stop();
    await dns.stop();
  });

  it('the first attempt gets 451 4.7.1, the queue retries after the delay and the message arrives', async () => {
    const started = Date.now();
    await submit(sender, 'alice@pass.test', { from: 'alice@pass.test', to: [BOB] }, rawMessage('alice@pass.test', BOB, 'greylisted', 'Hello later.\r\n'));
    const [msg] = await receiver.waitForMessages(BOB, 1, { timeoutMs: 15_000 });
    assert.ok(Date.now() - started >= 300, 'not before the greylist delay');
    // The log line of the successful attempt may follow the delivery by a moment.
    const tries = await until('two attempts logged', () => {
      const list = attempts(sender, BOB);
      return list.length >= 2 ? list : null;
    });
    assert.equal(tries[0]!.reply, '451 4.7.1 Greylisted, try again later');
    assert.equal(tries[0]!.result, 'deferred');
    assert.equal(tries[tries.length - 1]!.result, 'delivered');
    const head = (await receiver.read(BOB, msg!.uid)).toString('latin1');
    assert.match(head, /spf=pass/);
    // The auto-whitelist/triplet pass: a second message of the same triplet is accepted at once.
    const reply = await sendRaw(receiver.ports.smtp, { from: 'alice@pass.test', to: [BOB], data: message('alice@pass.test', 'second'), helo: 'client.test' });
    assert.equal(reply.code, 250, reply.text);
  });
});
