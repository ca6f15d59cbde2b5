// Aggregate reports end to end: TLS-RPT (RFC 8460) built from real outbound TLS sessions, sent as gzip JSON to
// the `_smtp._tls` rua address, received in a mailbox and read by `postamt tlsrpt report`; DMARC (RFC 7489 §7)
// results of mail received on the MX port reported to a rua that passed the §7.1 check (and not to one that did
// not), and a zipped report from another receiver read by `postamt dmarc report`.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { gzipSync } from 'node:zlib';
import { createServer, type Server } from 'node:https';
import { zipSync, strToU8 } from 'fflate';
import nodemailer from 'nodemailer';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { makeTlsFixture } from '../harness/test-ca.ts';
import { PASS, attempts, cliFor, rawMessage, submit, until } from './queue-helpers.ts';

const ALICE = 'alice@example.org';
const TLSRPT = 'tlsrpt@example.org';
const DMARC = 'dmarc@example.org';
const fixture = makeTlsFixture({ dnsNames: ['mx.sts.test', 'mta-sts.sts.test'] });
const today = (): string => new Date().toISOString().slice(0, 10);

describe('TLS-RPT and DMARC aggregate reports', () => {
  let dns: DnsServerHandle;
  let https: Server;
  let good: SmtpSinkHandle;
  let plain: SmtpSinkHandle;
  let t: TestServer;

  before(async () => {
    https = createServer({ key: fixture.server.key, cert: fixture.server.cert }, (_req, res) => {
      res.writeHead(200, { 'Content-Type': 'text/plain' }).end('version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n');
    });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    good = await startSmtpSink({ host: '127.0.0.1', tls: { key: fixture.server.key, cert: fixture.server.cert } });
    plain = await startSmtpSink({ host: '127.0.0.5', port: good.port });
    dns = await startDnsServer({
      'sts.test': { MX: [{ preference: 10, exchange: 'mx.sts.test' }] },
      '_mta-sts.sts.test': { TXT: ['v=STSv1; id=20240101;'] },
      'mta-sts.sts.test': { A: ['127.0.0.1'] },
      '_smtp._tls.sts.test': { TXT: [`v=TLSRPTv1; rua=mailto:${TLSRPT}`] },
      'mx.sts.test': { A: ['127.0.0.1'] },
      'plain.test': { MX: [{ preference: 10, exchange: 'mx.plain.test' }] },
      '_smtp._tls.plain.test': { TXT: [`v=TLSRPTv1; rua=mailto:${TLSRPT},https://reports.plain.test/tlsrpt`] },
      'mx.plain.test': { A: ['127.0.0.5'] },
      // Senders whose mail we receive: SPF passes for 127.0.0.1; both ask for DMARC reports at example.org.
      'sender.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.sender.test': { TXT: [`v=DMARC1; p=none; rua=mailto:${DMARC}`] },
      // RFC 7489 §7.1: example.org agrees to receive sender.test's reports ...
      'sender.test._report._dmarc.example.org': { TXT: ['v=DMARC1'] },
      // ... but was never asked about other.test's.
      'other.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      '_dmarc.other.test': { TXT: [`v=DMARC1; p=none; rua=mailto:${DMARC}`] },
      'client.test': { A: ['127.0.0.1'] },
    });
    t = await startTestServer({
      dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1, cacheSize: 0 }),
      config: {
        queue: { portOverride: good.port, delayWarning: null },
        outboundTls: { mtaStsPort: (https.address() as { port: number }).port, caFile: fixture.caPath },
        policy: { trustedNetworks: [] },
        reports: { tlsrptAddress: TLSRPT, dmarcAddress: DMARC, organization: 'Postamt Test' },
      },
    });
    await t.addUser(ALICE, PASS);
    await t.addUser(TLSRPT, PASS);
    await t.addUser(DMARC, PASS);
  });

  after(async () => {
    await t?.stop();
    await good?.stop();
    await plain?.stop();
    await dns?.stop();
    https?.close();
  });

  it('sends the day\'s TLS-RPT report with the session counts, and `postamt tlsrpt report` reads it', async () => {
    for (const to of ['a@sts.test', 'b@sts.test', 'c@plain.test']) {
      await submit(t, ALICE, { from: ALICE, to: [to] }, rawMessage(ALICE, to, `tls ${to}`, 'hi\r\n'));
      await until(`delivery to ${to}`, () => attempts(t, to).find((l) => l.result === 'delivered'), 8000);
    }
    // TLS-RPT counts TLS sessions, and messages to one domain may share one (the outbound connection cache).
    const sessions = (domain: string) => good.sessions.filter((s) => s.some((l) => l.toLowerCase().startsWith('rcpt to:<') && l.toLowerCase().includes(`@${domain}>`))).length;
    const ids = await t.server.services.tlsRpt!.sendDay(today());
    assert.equal(ids.length, 2, 'one mailed report per domain that asks (the https: rua is posted, not mailed)');
    const reports = await t.waitForMessages(TLSRPT, 2);
    const raw = (await t.read(TLSRPT, reports[0]!.uid)).toString();
    // RFC 8460 §5.3: multipart/report with report-type tlsrpt, the TLS-Report fields, application/tlsrpt+gzip.
    assert.match(raw, /Content-Type: multipart\/report; report-type="tlsrpt"/);
    assert.match(raw, /^TLS-Report-Domain: (sts|plain)\.test$/m);
    assert.match(raw, /^Subject: Report Domain: (sts|plain)\.test Submitter: Postamt Test Report-ID: </m);
    assert.match(raw, /Content-Type: application\/tlsrpt\+gzip/);
    assert.match(raw, /filename="mx\.postamt\.test!(sts|plain)\.test!\d+!\d+\.json\.gz"/);

    const cli = cliFor(t);
    try {
      const out = await cli.run(['tlsrpt', 'report', '--address', TLSRPT, '--json']);
      assert.equal(out.code, 0, out.stderr);
      const parsed = JSON.parse(out.stdout) as { organization: string; policies: { type: string; domain: string; successful: number; failed: number; failures: { type: string; count: number; mx: string }[] }[] }[];
      const policies = parsed.flatMap((r) => r.policies);
      const sts = policies.find((p) => p.domain === 'sts.test')!;
      assert.equal(sts.type, 'sts');
      assert.equal(sts.successful, sessions('sts.test'));
      assert.equal(sts.failed, 0);
      const noPolicy = policies.find((p) => p.domain === 'plain.test')!;
      assert.equal(noPolicy.type, 'no-policy-found');
      assert.equal(noPolicy.successful, 0);
      assert.equal(noPolicy.failed, 1);
      assert.deepEqual(noPolicy.failures.map((f) => [f.type, f.count, f.mx]), [['starttls-not-supported', 1, 'mx.plain.test']]);
      const table = await cli.run(['tlsrpt', 'report', '--address', TLSRPT]);
      assert.match(table.stdout, /Postamt Test\s+\d{4}-\d\d-\d\d\s+no-policy-found\s+plain\.test\s+0\s+1\s+starttls-not-supported x1 \(mx\.plain\.test 127\.0\.0\.5\)/);
    } finally {
      cli.cleanup();
    }
  });

  it('reads a gzip TLS-RPT report sent by another implementation (the RFC 8460 example)', async () => {
    const report = {
      'organization-name': 'Company-X', 'date-range': { 'start-datetime': '2016-04-01T00:00:00Z', 'end-datetime': '2016-04-01T23:59:59Z' },
      'contact-info': 'sts-reporting@company-x.example', 'report-id': '5065427c-23d3-47ca-b6e0-946ea0e8c4be',
      policies: [{
        policy: { 'policy-type': 'sts', 'policy-string': ['version: STSv1', 'mode: testing', 'mx: *.mail.company-y.example', 'max_age: 86400'], 'policy-domain': 'company-y.example', 'mx-host': ['*.mail.company-y.example'] },
        summary: { 'total-successful-session-count': 5326, 'total-failure-session-count': 303 },
        'failure-details': [{ 'result-type': 'certificate-expired', 'sending-mta-ip': '2001:db8:abcd:0012::1', 'receiving-mx-hostname': 'mx1.mail.company-y.example', 'failed-session-count': 100 }],
      }],
    };
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
    await transport.sendMail({
      envelope: { from: 'reports@sender.test', to: [TLSRPT] },
      from: 'reports@sender.test', to: TLSRPT, subject: 'Report Domain: company-y.example Submitter: company-x.example', text: 'TLS report',
      attachments: [{ filename: 'company-x.example!company-y.example!1470013207!1470186007!001.json.gz', content: gzipSync(JSON.stringify(report)), contentType: 'application/tlsrpt+gzip' }],
    });
    transport.close();
    const cli = cliFor(t);
    try {
      const out = await until('the received report', async () => {
        const r = await cli.run(['tlsrpt', 'report', '--address', TLSRPT, '--json']);
        return r.stdout.includes('Company-X') ? r : null;
      }, 8000);
      const parsed = JSON.parse(out.stdout) as { organization: string; policies: { successful: number; failed: number; failures: { type: string; count: number }[] }[] }[];
      const x = parsed.find((r) => r.organization === 'Company-X')!;
      assert.equal(x.policies[0]!.successful, 5326);
      assert.equal(x.policies[0]!.failed, 303);
      assert.deepEqual(x.policies[0]!.failures.map((f) => [f.type, f.count]), [['certificate-expired', 100]]);
    } finally {
      cli.cleanup();
    }
  });

  it('records DMARC results of received mail and sends the daily report only to an authorized rua (§7.1)', async () => {
    for (const from of ['news@sender.test', 'news@sender.test', 'x@other.test']) {
      const reply = await sendRaw(t.ports.smtp, { from, to: [ALICE], data: rawMessage(from, ALICE, `dmarc ${from}`, 'hi\r\n').toString(), helo: 'client.test' });
      assert.equal(reply.code, 250, reply.text);
    }
    const before = (await t.messages(DMARC)).length;
    const ids = await t.server.services.dmarcReports!.sendDay(today());
    assert.equal(ids.length, 1, 'sender.test authorized example.org; other.test did not');
    assert.ok(t.logs.some((l) => l.event === 'dmarc.report_refused' && l.domain === 'other.test'));
    const msgs = await t.waitForMessages(DMARC, before + 1);
    const raw = (await t.read(DMARC, msgs[msgs.length - 1]!.uid)).toString();
    assert.match(raw, /^Subject: Report Domain: sender\.test Submitter: Postamt Test Report-ID: </m);
    assert.match(raw, /filename="mx\.postamt\.test!sender\.test!\d+!\d+\.xml\.gz"/);
    const cli = cliFor(t);
    try {
      const out = await cli.run(['dmarc', 'report', '--address', DMARC, '--json']);
      assert.equal(out.code, 0, out.stderr);
      const reports = JSON.parse(out.stdout) as { organization: string; domain: string; records: { sourceIp: string; count: number; spf: string; dkim: string; disposition: string; headerFrom: string }[] }[];
      const ours = reports.find((r) => r.organization === 'Postamt Test' && r.domain === 'sender.test')!;
      // Three messages from sender.test came in on the MX port today: the two above and the TLS report before.
      assert.deepEqual(ours.records.map((r) => [r.sourceIp, r.count, r.spf, r.dkim, r.disposition, r.headerFrom]), [['127.0.0.1', 3, 'pass', 'fail', 'none', 'sender.test']]);
    } finally {
      cli.cleanup();
    }
  });

  it('`postamt dmarc report` reads a zipped aggregate report from another receiver: who sends in our name, and whether it passes', async () => {
    const xml = `<?xml version="1.0" encoding="UTF-8" ?>
<feedback>
  <report_metadata><org_name>google.com</org_name><email>noreply-dmarc-support@google.com</email><report_id>1234567890</report_id><date_range><begin>1700000000</begin><end>1700086399</end></date_range></report_metadata>
  <policy_published><domain>example.org</domain><adkim>r</adkim><aspf>r</aspf><p>reject</p><sp>reject</sp><pct>100</pct></policy_published>
  <record><row><source_ip>192.0.2.10</source_ip><count>42</count><policy_evaluated><disposition>none</disposition><dkim>pass</dkim><spf>pass</spf></policy_evaluated></row>
    <identifiers><header_from>example.org</header_from></identifiers><auth_results><dkim><domain>example.org</domain><selector>s1</selector><result>pass</result></dkim><spf><domain>example.org</domain><result>pass</result></spf></auth_results></record>
  <record><row><source_ip>203.0.113.66</source_ip><count>3</count><policy_evaluated><disposition>reject</disposition><dkim>fail</dkim><spf>fail</spf></policy_evaluated></row>
    <identifiers><header_from>example.org</header_from></identifiers><auth_results><spf><domain>spoofer.example</domain><result>fail</result></spf></auth_results></record>
</feedback>`;
    const zip = Buffer.from(zipSync({ 'google.com!example.org!1700000000!1700086399.xml': strToU8(xml) }));
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
    await transport.sendMail({
      envelope: { from: 'noreply@sender.test', to: [DMARC] }, from: 'noreply@sender.test', to: DMARC, subject: 'Report domain: example.org Submitter: google.com', text: 'DMARC report',
      attachments: [{ filename: 'google.com!example.org!1700000000!1700086399.zip', content: zip, contentType: 'application/zip' }],
    });
    transport.close();
    const cli = cliFor(t);
    try {
      const out = await until('the zipped report', async () => {
        const r = await cli.run(['dmarc', 'report', '--address', DMARC]);
        return r.stdout.includes('google.com') ? r : null;
      }, 8000);
      assert.match(out.stdout, /google\.com\s+2023-11-14\s+example\.org\s+192\.0\.2\.10\s+42\s+none\s+pass\s+pass\s+pass/);
      assert.match(out.stdout, /google\.com\s+2023-11-14\s+example\.org\s+203\.0\.113\.66\s+3\s+reject\s+fail\s+fail\s+fail/);
    } finally {
      cli.cleanup();
    }
  });
});
