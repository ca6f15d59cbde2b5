/**
 * Forwarding off-site through an alias: the envelope sender is rewritten with SRS (our hostname), the
 * message is ARC-sealed with our key, and a bounce to the SRS address comes back to the original sender.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { authenticate } from 'mailauth';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { Srs } from '../../src/policy/srs.ts';
import { FileDkimKeyStore } from '../../src/dkim/file-key-store.ts';
import { dkimRecordText, generateDkimKey } from '../../src/policy/dkim-sign.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';

const HOST = 'mx.postamt.test';
const ALICE = 'alice@example.test';
const FWD = 'fwd@example.test';
const arcKey = generateDkimKey('rsa');
const RECORDS = {
  '127.0.0.1': { PTR: ['client.test'] },
  'client.test': { A: ['127.0.0.1'] },
  'ext.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  'example.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
  [`arc._domainkey.${HOST}`]: { TXT: [dkimRecordText(arcKey)] },
};

function message(from: string, subject: string): string {
  return `From: <${from}>\r\nTo: <${FWD}>\r\nSubject: ${subject}\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W+/g, '.')}@client.test>\r\n\r\nForward me.\r\n`;
}

describe('forwarding to an external address: SRS and ARC', () => {
  let dns: DnsServerHandle;
  let sink: SmtpSinkHandle;
  let t: TestServer;

  before(async () => {
    dns = await startDnsServer(RECORDS);
    sink = await startSmtpSink();
    t = await startTestServer({
      dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }),
      config: { policy: { trustedNetworks: [], srsSecret: 'forwarding secret', arcSeal: true }, queue: { routes: { 'far.test': { host: '127.0.0.1', port: sink.port } } } },
    });
    await t.addUser(ALICE, 'pw');
    await t.addAlias(FWD, ['carol@far.test']);
    await new FileDkimKeyStore({ dataDir: t.dataDir }).addKey(HOST, 'arc', 'rsa', arcKey.privateKeyPem, arcKey.publicKeyB64);
  });
  after(async () => {
    await t.stop();
    await sink.stop();
    await dns.stop();
  });

  it('the next hop sees MAIL FROM:<SRS0=...@our hostname> and a valid ARC set (i=1) over our results', async () => {
    const reply = await sendRaw(t.ports.smtp, { from: 'x@ext.test', to: [FWD], data: message('x@ext.test', 'forwarded'), helo: 'client.test' });
    assert.equal(reply.code, 250, reply.text);
    const [got] = await sink.waitForMessages(1);
    assert.match(got!.reversePath, new RegExp(`^SRS0=[^=]{4}=[A-Z2-7]{2}=ext\\.test=x@${HOST.replace(/\./g, '\\.')}$`, 'i'));
    assert.deepEqual(got!.recipients, ['carol@far.test']);
    // The configured secret signs it, not the one generated in data_dir.
    assert.deepEqual(new Srs({ secret: 'forwarding secret', domain: HOST }).reverse(got!.reversePath), { ok: true, address: 'x@ext.test' });
    const head = got!.data.toString('latin1').slice(0, got!.data.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
    assert.match(head, /^ARC-Seal: i=1; [^\r\n]*cv=none/m);
    assert.match(head, /^ARC-Message-Signature: i=1;/m);
    assert.match(head, new RegExp(`^ARC-Authentication-Results: i=1; ${HOST.replace(/\./g, '\\.')};[^\\r\\n]*spf=pass`, 'm'));
    // The next hop validates the chain with our published key.
    const resolver = async (name: string, rrtype: string): Promise<unknown> => {
      if (rrtype === 'TXT' && name.toLowerCase() === `arc._domainkey.${HOST}`) return [[dkimRecordText(arcKey)]];
      throw Object.assign(new Error(`${rrtype} ${name}: ENOTFOUND`), { code: 'ENOTFOUND' });
    };
    const res = await authenticate(got!.data, { ip: '192.0.2.1', helo: HOST, sender: got!.reversePath, mta: 'far.test', resolver: resolver as never, disableBimi: true });
    assert.ok(res.arc, 'an ARC result');
    assert.equal(res.arc.status.result, 'pass', JSON.stringify(res.arc.status));
  });

  it('a bounce to the SRS address is accepted on our MX and reaches the original (local) sender', async () => {
    const before = sink.messages.length;
    const reply = await sendRaw(t.ports.smtp, { from: ALICE, to: [FWD], data: message(ALICE, 'will bounce'), helo: 'client.test' });
    assert.equal(reply.code, 250, reply.text);
    const [, got] = await sink.waitForMessages(before + 1);
    const srsAddress = got!.reversePath;
    assert.match(srsAddress, /^SRS0=.*=example\.test=alice@mx\.postamt\.test$/i);
    const bounce = `From: MAILER-DAEMON@far.test\r\nTo: <${srsAddress}>\r\nSubject: Undelivered Mail Returned to Sender\r\nDate: Mon, 1 Jan 2024 10:05:00 +0000\r\nMessage-ID: <bounce.1@far.test>\r\n\r\ncarol@far.test: user unknown\r\n`;
    const back = await sendRaw(t.ports.smtp, { from: '', to: [srsAddress], data: bounce, helo: 'client.test' });
    assert.equal(back.code, 250, back.text);
    const [msg] = await t.waitForMessages(ALICE, 1);
    assert.match((await t.read(ALICE, msg!.uid)).toString('latin1'), /Subject: Undelivered Mail Returned to Sender/);
  });

  it('an SRS address with a bad hash is refused at RCPT (no open bounce relay)', async () => {
    const reply = await sendRaw(t.ports.smtp, { from: '', to: [`SRS0=AAAA=AB=victim.test=x@${HOST}`], data: 'Subject: x\r\n\r\nx\r\n', helo: 'client.test' });
    assert.equal(reply.code, 550);
    assert.equal(reply.enhanced, '5.7.1');
  });
});
