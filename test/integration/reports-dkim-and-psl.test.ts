// The reports we send, as the receiving side sees them: a TLS-RPT report (RFC 8460 §3, §5.3) and a DMARC aggregate
// report (RFC 7489 §7.2) arrive at a loopback SMTP peer DKIM-signed by the reporting domain, and mailauth verifies
// both against the key published in the test DNS server. DMARC grouping, alignment and the §7.1 check use the
// Public Suffix List: mail from a.b.example.co.uk falls under example.co.uk's policy, SPF for other.co.uk is not
// aligned with it, and other.co.uk is another organization whose rua needs its own authorization record.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { Resolver as DnsResolver } from 'node:dns/promises';
import { authenticate } from 'mailauth';
import { FileDkimKeyStore } from '../../src/dkim/file-key-store.ts';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { dkimRecordText, generateDkimKey } from '../../src/policy/dkim-sign.ts';
import { reportFiles } from '../../src/reports/attachments.ts';
import { parseDmarcReport } from '../../src/reports/dmarc-format.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { startSmtpSink, type SmtpSinkHandle, type ReceivedMessage } from '../harness/smtp-sink.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { PASS, attempts, rawMessage, submit, until } from './queue-helpers.ts';

const ALICE = 'alice@example.org';
const today = (): string => new Date().toISOString().slice(0, 10);
const key = generateDkimKey('rsa');

describe('reports we send are DKIM-signed; DMARC uses the Public Suffix List', () => {
  let dns: DnsServerHandle;
  let sink: SmtpSinkHandle;
  let t: TestServer;

  /** mailauth as a receiver would run it, asking the test DNS server. */
  async function verify(m: ReceivedMessage) {
    const r = new DnsResolver();
    r.setServers([dns.server]);
    const resolver = (name: string, type: string) => r.resolve(name, type as 'TXT');
    return authenticate(m.data, { ip: '127.0.0.1', helo: 'mx.postamt.test', sender: m.reversePath, mta: 'receiver.test', resolver: resolver as never, disableBimi: true, disableArc: true });
  }

  before(async () => {
    sink = await startSmtpSink({ host: '127.0.0.1' });
    dns = await startDnsServer({
      // The receiving side: every domain's MX is the sink.
      'rpt.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
      '_smtp._tls.rpt.test': { TXT: ['v=TLSRPTv1; rua=mailto:tls@rpt.test'] },
      'example.co.uk': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
      'other.co.uk': { MX: [{ preference: 10, exchange: 'mx.sink.test' }], TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      'mx.sink.test': { A: ['127.0.0.1'] },
      // The reporting domain: reports come from postmaster@mx.postamt.test, signed by postamt.test (no key for mx.).
      's1._domainkey.postamt.test': { TXT: [dkimRecordText(key)] },
      '_dmarc.postamt.test': { TXT: ['v=DMARC1; p=reject'] },
      // Senders whose mail we receive: a.b.example.co.uk has no record of its own, example.co.uk's applies.
      'a.b.example.co.uk': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      'bounces.example.co.uk': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.example.co.uk': { TXT: ['v=DMARC1; p=none; rua=mailto:dmarc@example.co.uk,mailto:collector@other.co.uk'] },
      'client.test': { A: ['127.0.0.1'] },
    });
    t = await startTestServer({
      dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1, cacheSize: 0 }),
      config: { queue: { portOverride: sink.port, delayWarning: null }, policy: { trustedNetworks: [] }, reports: { organization: 'Postamt Test' } },
    });
    await t.addUser(ALICE, PASS);
    await new FileDkimKeyStore({ dataDir: t.dataDir }).addKey('postamt.test', 's1', 'rsa', key.privateKeyPem, key.publicKeyB64);
  });

  after(async () => {
    await t?.stop();
    await sink?.stop();
    await dns?.stop();
  });

  it('a TLS-RPT report reaches the rua mailbox signed by the reporting domain, and mailauth verifies it', async () => {
    await submit(t, ALICE, { from: ALICE, to: ['bob@rpt.test'] }, rawMessage(ALICE, 'bob@rpt.test', 'tls session', 'hi\r\n'));
    await until('delivery to rpt.test', () => attempts(t, 'bob@rpt.test').find((l) => l.result === 'delivered'), 8000);
    const before = sink.messages.length;
    const ids = await t.server.services.tlsRpt!.sendDay(today());
    assert.equal(ids.length, 1);
    const [report] = (await sink.waitForMessages(before + 1, 8000)).slice(before);
    assert.deepEqual(report!.recipients, ['tls@rpt.test']);
    assert.equal(report!.reversePath, '');
    const raw = report!.data.toString('latin1');
    // RFC 8460 §5.3: the header fields, the subject form, multipart/report and the gzip JSON part.
    assert.match(raw, /^TLS-Report-Domain: rpt\.test\r$/m);
    assert.match(raw, /^TLS-Report-Submitter: Postamt Test\r$/m);
    assert.match(raw, /^Subject: Report Domain: rpt\.test Submitter: Postamt Test Report-ID: <[^>]+@mx\.postamt\.test>\r$/m);
    assert.match(raw, /^Content-Type: multipart\/report; report-type="tlsrpt"; boundary=/m);
    assert.match(raw, /^Content-Type: application\/tlsrpt\+gzip\r$/m);
    const [file] = reportFiles(report!.data);
    const json = JSON.parse(file!.text) as { policies: { policy: { 'policy-domain': string } }[] };
    assert.equal(json.policies[0]!.policy['policy-domain'], 'rpt.test');

    const auth = await verify(report!);
    const dkim = auth.dkim.results.map((r) => `${r.status.result} d=${r.signingDomain} s=${r.selector}`);
    assert.deepEqual(dkim, ['pass d=postamt.test s=s1']);
    assert.equal(auth.dmarc && auth.dmarc.status.result, 'pass', 'the signature is aligned with From: postmaster@mx.postamt.test');
  });

  it('a DMARC report groups a.b.example.co.uk under example.co.uk, aligns SPF by the PSL, refuses other.co.uk (§7.1), and is signed', async () => {
    // SPF passes for both senders; only bounces.example.co.uk is the From's organization.
    for (const sender of ['news@bounces.example.co.uk', 'mailer@other.co.uk']) {
      const data = rawMessage('news@a.b.example.co.uk', ALICE, `from ${sender}`, 'hi\r\n');
      const reply = await sendRaw(t.ports.smtp, { from: sender, to: [ALICE], data: data.toString(), helo: 'client.test' });
      assert.equal(reply.code, 250, reply.text);
    }
    const before = sink.messages.length;
    const ids = await t.server.services.dmarcReports!.sendDay(today());
    assert.equal(ids.length, 1, 'example.co.uk\'s own rua only');
    const refused = t.logs.find((l) => l.event === 'dmarc.report_refused');
    assert.equal(refused?.to, 'collector@other.co.uk', 'other.co.uk shares only the public suffix co.uk with example.co.uk');
    assert.equal(refused?.domain, 'example.co.uk');
    const [report] = (await sink.waitForMessages(before + 1, 8000)).slice(before);
    assert.deepEqual(report!.recipients, ['dmarc@example.co.uk']);
    const xml = reportFiles(report!.data).find((f) => f.text.includes('<feedback'))!;
    const parsed = parseDmarcReport(xml.text);
    assert.equal(parsed.domain, 'example.co.uk', 'the policy domain is the organizational domain whose record applied');
    const rows = parsed.records.map((r) => [r.headerFrom, r.envelopeFrom, r.spf]).sort();
    assert.deepEqual(rows, [['a.b.example.co.uk', 'bounces.example.co.uk', 'pass'], ['a.b.example.co.uk', 'other.co.uk', 'fail']]);

    const auth = await verify(report!);
    assert.deepEqual(auth.dkim.results.map((r) => `${r.status.result} d=${r.signingDomain}`), ['pass d=postamt.test']);
  });
});
