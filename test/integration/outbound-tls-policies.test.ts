// Outbound TLS that cannot be stripped: MTA-STS (RFC 8461) policies fetched from a local HTTPS server and
// DANE (RFC 7672) TLSA records from the test DNS server with the AD bit, against SMTP peers on loopback with a
// good, a wrong-name, an expired and a self-signed certificate, and one that does not offer STARTTLS.
// DANE applies only when the MX RRset, the MX host's address records (after CNAME expansion) and its TLSA
// records are all validated (RFC 7672 §2.2); each insecure link switches it off, as the cases below show.
// Each case delivers or waits in the queue as the RFCs say; every negotiation lands in the TLS-RPT log.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { createServer, type Server } from 'node:https';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { startDnsServer, type DnsRecords, type DnsServerHandle } from '../harness/dns-server.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { createTestCa, issueServerCertificate, makeTlsFixture, selfSignedServerCertificate } from '../harness/test-ca.ts';
import { PASS, attempts, rawMessage, submit, until } from './queue-helpers.ts';
import type { TlsAttempt } from '../../src/outbound-tls/attempt.ts';
import { TLSRPT_ORIGIN } from '../../src/queue/tls-report-origin.ts';

const ALICE = 'alice@example.org';

const fixture = makeTlsFixture({ dnsNames: ['mx.sts.test', 'mx.danebad.test', 'mx.insecure.test', 'mx.fetchfail.test'] });
const ca = fixture.ca;
const wrongName = issueServerCertificate(ca, { dnsNames: ['other.example'] });
const expired = issueServerCertificate(ca, { dnsNames: ['mx.expired.test'], days: -1 });
const selfSigned = selfSignedServerCertificate(['mx.selfsigned.test']);
const taLeaf = issueServerCertificate(ca, { dnsNames: ['mx.daneta.test'] });
const cnameLeaf = issueServerCertificate(ca, { dnsNames: ['mx.dane-cname.test'] });
// A leaf from another CA sent with our CA behind it: the DANE-TA anchor is in the chain but did not sign it.
const strangerLeaf = issueServerCertificate(createTestCa({ commonName: 'Stranger CA' }), { dnsNames: ['mx.danechain.test'] });
const policyCert = issueServerCertificate(ca, { dnsNames: ['*.sts-good.test', 'mta-sts.sts-good.test', 'mta-sts.sts-wrongname.test', 'mta-sts.sts-expired.test', 'mta-sts.sts-selfsigned.test', 'mta-sts.sts-downgrade.test', 'mta-sts.sts-mxmismatch.test', 'mta-sts.sts-testing.test', 'mta-sts.dane-ee.test', 'mta-sts.sts-fetchfail.test', 'mta-sts.sts-redirect.test', 'mta-sts.sts-report.test'] });

const der = (pem: string): Buffer => new X509Certificate(pem).raw;
const spkiSha256 = (pem: string): string => createHash('sha256').update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');

const POLICIES: Record<string, string> = {
  'sts-good.test': 'version: STSv1\nmode: enforce\nmx: mx.sts.test\nmax_age: 86400\n',
  'sts-wrongname.test': 'version: STSv1\nmode: enforce\nmx: mx.wrongname.test\nmax_age: 86400\n',
  'sts-report.test': 'version: STSv1\nmode: enforce\nmx: mx.wrongname.test\nmax_age: 86400\n',
  'sts-expired.test': 'version: STSv1\nmode: enforce\nmx: mx.expired.test\nmax_age: 86400\n',
  'sts-selfsigned.test': 'version: STSv1\nmode: enforce\nmx: mx.selfsigned.test\nmax_age: 86400\n',
  'sts-downgrade.test': 'version: STSv1\nmode: enforce\nmx: *.downgrade.test\nmax_age: 86400\n',
  'sts-mxmismatch.test': 'version: STSv1\nmode: enforce\nmx: mx.elsewhere.test\nmax_age: 86400\n',
  'sts-testing.test': 'version: STSv1\r\nmode: testing\r\nmx: mx.wrongname.test\r\nmax_age: 86400\r\n',
  // DANE-EE on a host whose certificate does not carry its name: DANE wins over this policy (RFC 8461 §2).
  'dane-ee.test': 'version: STSv1\nmode: enforce\nmx: mx.daneee.test\nmax_age: 86400\n',
};

describe('outbound TLS policies: MTA-STS and DANE against real peers', () => {
  let dns: DnsServerHandle;
  let records: DnsRecords;
  let https: Server;
  const fetches: string[] = [];
  const sinks: Record<string, SmtpSinkHandle> = {};
  let t: TestServer;

  before(async () => {
    https = createServer({ key: policyCert.key, cert: policyCert.cert }, (req, res) => {
      const host = String(req.headers.host ?? '').replace(/^mta-sts\./, '').replace(/:\d+$/, '');
      fetches.push(host);
      const policy = POLICIES[host];
      if (host === 'sts-redirect.test') res.writeHead(301, { Location: 'https://mta-sts.sts-good.test/.well-known/mta-sts.txt' }).end();
      else if (req.url !== '/.well-known/mta-sts.txt' || !policy) res.writeHead(404).end();
      else res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' }).end(policy);
    });
    await new Promise<void>((resolve) => https.listen(0, '127.0.0.1', resolve));
    const httpsPort = (https.address() as { port: number }).port;

    sinks.good = await startSmtpSink({ host: '127.0.0.1', tls: { key: fixture.server.key, cert: fixture.server.cert } });
    const port = sinks.good.port;
    sinks.wrongName = await startSmtpSink({ host: '127.0.0.2', port, tls: { key: wrongName.key, cert: wrongName.cert } });
    sinks.expired = await startSmtpSink({ host: '127.0.0.3', port, tls: { key: expired.key, cert: expired.cert } });
    sinks.selfSigned = await startSmtpSink({ host: '127.0.0.4', port, tls: { key: selfSigned.key, cert: selfSigned.cert } });
    sinks.plain = await startSmtpSink({ host: '127.0.0.5', port });
    // DANE-TA: the server sends its chain up to the trust anchor (RFC 7671 §5.2.2).
    sinks.daneTa = await startSmtpSink({ host: '127.0.0.6', port, tls: { key: taLeaf.key, cert: taLeaf.cert + ca.cert } });
    sinks.daneCname = await startSmtpSink({ host: '127.0.0.7', port, tls: { key: cnameLeaf.key, cert: cnameLeaf.cert + ca.cert } });
    sinks.daneChain = await startSmtpSink({ host: '127.0.0.8', port, tls: { key: strangerLeaf.key, cert: strangerLeaf.cert + ca.cert } });

    const sts = (domain: string, mx: string, id = '1'): DnsRecords => ({
      [domain]: { MX: [{ preference: 10, exchange: mx }] },
      [`_mta-sts.${domain}`]: { TXT: [`v=STSv1; id=${id};`] },
      [`mta-sts.${domain}`]: { A: ['127.0.0.1'] },
    });
    const tlsa = (host: string, records: { usage: number; selector: number; matchingType: number; data: string }[], ad = true): DnsRecords => ({ [`_${port}._tcp.${host}`]: { TLSA: records, AD: ad } });
    // A DNSSEC-signed destination: the MX RRset and the host's address records validated (AD).
    const signed = (domain: string, mx: string, ip: string, options: { mxAd?: boolean; aAd?: boolean } = {}): DnsRecords => ({
      [domain]: { MX: [{ preference: 10, exchange: mx }], AD: options.mxAd ?? true },
      [mx]: { A: [ip], AD: options.aAd ?? true },
    });
    const ca256 = createHash('sha256').update(der(ca.cert)).digest('hex');
    records = {
      ...sts('sts-good.test', 'mx.sts.test'),
      ...sts('sts-wrongname.test', 'mx.wrongname.test'),
      ...sts('sts-report.test', 'mx.wrongname.test'),
      ...sts('sts-expired.test', 'mx.expired.test'),
      ...sts('sts-selfsigned.test', 'mx.selfsigned.test'),
      ...sts('sts-downgrade.test', 'mx.downgrade.test'),
      ...sts('sts-mxmismatch.test', 'mx.sts.test'),
      ...sts('sts-testing.test', 'mx.wrongname.test'),
      ...sts('sts-fetchfail.test', 'mx.fetchfail.test'),
      ...sts('sts-redirect.test', 'mx.fetchfail.test'),
      ...sts('dane-ee.test', 'mx.daneee.test'),
      'plain.test': { MX: [{ preference: 10, exchange: 'mx.plain.test' }] },
      'mx.sts.test': { A: ['127.0.0.1'] },
      'mx.fetchfail.test': { A: ['127.0.0.1'] },
      'mx.wrongname.test': { A: ['127.0.0.2'] },
      'mx.expired.test': { A: ['127.0.0.3'] },
      'mx.selfsigned.test': { A: ['127.0.0.4'] },
      'mx.downgrade.test': { A: ['127.0.0.5'] },
      'mx.plain.test': { A: ['127.0.0.5'] },
      ...signed('dane-ee.test', 'mx.daneee.test', '127.0.0.2'),
      ...signed('dane-ta.test', 'mx.daneta.test', '127.0.0.6'),
      ...signed('dane-bad.test', 'mx.danebad.test', '127.0.0.1'),
      ...signed('dane-insecure.test', 'mx.insecure.test', '127.0.0.1'),
      ...signed('dane-downgrade.test', 'mx.danedown.test', '127.0.0.5'),
      ...signed('dane-insecure-mx.test', 'mx.insecuremx.test', '127.0.0.1', { mxAd: false }),
      ...signed('dane-insecure-a.test', 'mx.insecurea.test', '127.0.0.1', { aAd: false }),
      ...signed('dane-expired-ee.test', 'mx.expiredee.test', '127.0.0.3'),
      ...signed('dane-unusable.test', 'mx.unusable.test', '127.0.0.2'),
      ...signed('dane-unusable-plain.test', 'mx.unusableplain.test', '127.0.0.5'),
      ...signed('dane-ta-name.test', 'mx.danetaname.test', '127.0.0.6'),
      ...signed('dane-chain.test', 'mx.danechain.test', '127.0.0.8'),
      ...signed('dane-servfail.test', 'mx.daneservfail.test', '127.0.0.1'),
      // The MX host is an alias: TLSA records at the expanded name, the certificate names the MX host.
      'dane-cname.test': { MX: [{ preference: 10, exchange: 'mx.dane-cname.test' }], AD: true },
      'mx.dane-cname.test': { CNAME: 'real.dane-cname.test', AD: true },
      'real.dane-cname.test': { A: ['127.0.0.7'], AD: true },
      ...tlsa('real.dane-cname.test', [{ usage: 2, selector: 0, matchingType: 1, data: ca256 }]),
      // An alias without TLSA records at its target (securely denied): the original name's records count.
      'dane-cname-back.test': { MX: [{ preference: 10, exchange: 'mx.dane-cname-back.test' }], AD: true },
      'mx.dane-cname-back.test': { CNAME: 'real.dane-cname-back.test', AD: true },
      'real.dane-cname-back.test': { A: ['127.0.0.1'], AD: true },
      [`_${port}._tcp.real.dane-cname-back.test`]: { AD: true },
      ...tlsa('mx.dane-cname-back.test', [{ usage: 3, selector: 1, matchingType: 1, data: spkiSha256(wrongName.cert) }]),
      ...tlsa('mx.daneee.test', [{ usage: 3, selector: 1, matchingType: 1, data: spkiSha256(wrongName.cert) }]),
      ...tlsa('mx.daneta.test', [{ usage: 2, selector: 0, matchingType: 1, data: ca256 }]),
      ...tlsa('mx.danebad.test', [{ usage: 3, selector: 1, matchingType: 1, data: spkiSha256(wrongName.cert) }]),
      // Not validated (no AD): a forged TLSA answer must change nothing.
      ...tlsa('mx.insecure.test', [{ usage: 3, selector: 1, matchingType: 1, data: spkiSha256(wrongName.cert) }], false),
      ...tlsa('mx.danedown.test', [{ usage: 3, selector: 0, matchingType: 1, data: createHash('sha256').update(der(wrongName.cert)).digest('hex') }]),
      // Validated TLSA records behind an insecure MX RRset or insecure address records: DANE does not apply.
      ...tlsa('mx.insecuremx.test', [{ usage: 3, selector: 1, matchingType: 1, data: spkiSha256(wrongName.cert) }]),
      ...tlsa('mx.insecurea.test', [{ usage: 3, selector: 1, matchingType: 1, data: spkiSha256(wrongName.cert) }]),
      // DANE-EE for an expired certificate of another name: names and dates do not count.
      ...tlsa('mx.expiredee.test', [{ usage: 3, selector: 1, matchingType: 1, data: spkiSha256(expired.cert) }]),
      // Only unusable records: PKIX-EE (not for SMTP), an unknown selector, a SHA-256 digest of the wrong length.
      ...tlsa('mx.unusable.test', [{ usage: 1, selector: 1, matchingType: 1, data: spkiSha256(wrongName.cert) }, { usage: 3, selector: 7, matchingType: 1, data: spkiSha256(wrongName.cert) }, { usage: 3, selector: 1, matchingType: 1, data: 'abcd' }]),
      ...tlsa('mx.unusableplain.test', [{ usage: 0, selector: 0, matchingType: 1, data: ca256 }]),
      ...tlsa('mx.danetaname.test', [{ usage: 2, selector: 0, matchingType: 1, data: ca256 }]),
      ...tlsa('mx.danechain.test', [{ usage: 2, selector: 0, matchingType: 1, data: ca256 }]),
      [`_${port}._tcp.mx.daneservfail.test`]: { SERVFAIL: true },
    };
    dns = await startDnsServer(records);
    t = await startTestServer({
      dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1, cacheSize: 0 }),
      config: {
        queue: { portOverride: port, retrySchedule: [60_000], maxAge: 120_000, delayWarning: null },
        outboundTls: { mtaSts: true, daneResolver: dns.server, mtaStsPort: httpsPort, caFile: fixture.caPath, mtaStsFetchTimeout: 3000 },
      },
    });
    await t.addUser(ALICE, PASS);
  });

  after(async () => {
    await t?.stop();
    for (const s of Object.values(sinks)) await s.stop();
    await dns?.stop();
    https?.close();
  });

  const send = async (to: string): Promise<void> => {
    await submit(t, ALICE, { from: ALICE, to: [to] }, rawMessage(ALICE, to, `to ${to}`, 'hello\r\n'));
  };
  const result = async (to: string): Promise<Record<string, unknown>> => until(`the attempt for ${to}`, () => attempts(t, to)[0], 8000);
  const received = (sink: SmtpSinkHandle, to: string) => sink.messages.filter((m) => m.recipients.includes(to));
  const tlsLog = async (): Promise<TlsAttempt[]> => {
    await t.server.services.tlsAttempts!.flush();
    const day = new Date().toISOString().slice(0, 10);
    return readFileSync(join(t.dataDir, 'reports', `tls-${day}.jsonl`), 'utf8').trim().split('\n').map((l) => JSON.parse(l) as TlsAttempt);
  };
  const logFor = async (domain: string) => (await tlsLog()).filter((a) => a.policy.domain === domain);

  it('MTA-STS enforce: delivers over TLS to the MX the policy names when its certificate is valid', async () => {
    await send('bob@sts-good.test');
    assert.equal((await result('bob@sts-good.test')).result, 'delivered');
    const [msg] = received(sinks.good!, 'bob@sts-good.test');
    assert.ok(msg?.tls, 'delivered over TLS');
    const [a] = await logFor('sts-good.test');
    assert.equal(a!.result, 'success');
    assert.equal(a!.policy.type, 'sts');
    assert.deepEqual(a!.policy.strings, ['version: STSv1', 'mode: enforce', 'mx: mx.sts.test', 'max_age: 86400']);
    // RFC 8461 §5.1: the policy is cached on disk with safe permissions.
    assert.equal(statSync(join(t.dataDir, 'mta-sts', 'sts-good.test.json')).mode & 0o777, 0o600);
  });

  for (const [domain, mx, type, sink] of [
    ['sts-wrongname.test', 'mx.wrongname.test', 'certificate-host-mismatch', 'wrongName'],
    ['sts-expired.test', 'mx.expired.test', 'certificate-expired', 'expired'],
    ['sts-selfsigned.test', 'mx.selfsigned.test', 'certificate-not-trusted', 'selfSigned'],
  ] as const) {
    it(`MTA-STS enforce: a ${type} certificate defers (4.7.5) and sends nothing`, async () => {
      await send(`bob@${domain}`);
      const line = await result(`bob@${domain}`);
      assert.equal(line.result, 'deferred');
      assert.match(String(line.reply), /^451 4\.7\.5 /);
      assert.equal(received(sinks[sink]!, `bob@${domain}`).length, 0);
      const logged = await logFor(domain);
      assert.equal(logged[0]!.result, type, logged[0]!.detail);
      assert.equal(logged[0]!.mx, mx);
    });
  }

  it('a TLS report is delivered despite the enforced policy it may be reporting on, and its session is not counted (RFC 8460 §5.3)', async () => {
    const to = 'tlsrpt@sts-report.test';
    const body = Buffer.from(rawMessage('postmaster@postamt.test', to, 'Report Domain: postamt.test', 'report\r\n'));
    await t.server.services.store.enqueue({ sender: '', recipients: [{ address: to }], origin: TLSRPT_ORIGIN }, body);
    t.server.services.queue.kick();
    assert.equal((await result(to)).result, 'delivered');
    assert.equal(received(sinks.wrongName!, to).length, 1, 'delivered to the MX whose certificate the policy would refuse');
    assert.deepEqual(await logFor('sts-report.test'), [], 'not in the next report');
    // Other mail to the same domain still meets the policy.
    await send('bob@sts-report.test');
    const line = await result('bob@sts-report.test');
    assert.equal(line.result, 'deferred');
    assert.equal(received(sinks.wrongName!, 'bob@sts-report.test').length, 0);
  });

  it('MTA-STS enforce: a peer that does not offer STARTTLS (stripped) gets no mail in plain text', async () => {
    await send('bob@sts-downgrade.test');
    const line = await result('bob@sts-downgrade.test');
    assert.equal(line.result, 'deferred');
    assert.match(String(line.reply), /4\.7\.4 TLS is required/);
    assert.equal(received(sinks.plain!, 'bob@sts-downgrade.test').length, 0);
    assert.ok(!sinks.plain!.sessions.flat().some((l) => /bob@sts-downgrade\.test/i.test(l)), 'no RCPT was sent');
    assert.equal((await logFor('sts-downgrade.test'))[0]!.result, 'starttls-not-supported');
  });

  it('MTA-STS enforce: an MX host the policy does not name is not even contacted', async () => {
    const before = sinks.good!.sessions.length;
    await send('bob@sts-mxmismatch.test');
    const line = await result('bob@sts-mxmismatch.test');
    assert.equal(line.result, 'deferred');
    assert.match(String(line.reply), /not in the MTA-STS policy/);
    assert.equal(sinks.good!.sessions.length, before);
    assert.equal((await logFor('sts-mxmismatch.test'))[0]!.result, 'validation-failure');
  });

  it('MTA-STS testing: delivers despite the wrong name and reports the failure', async () => {
    await send('bob@sts-testing.test');
    assert.equal((await result('bob@sts-testing.test')).result, 'delivered');
    assert.equal(received(sinks.wrongName!, 'bob@sts-testing.test').length, 1);
    assert.equal((await logFor('sts-testing.test'))[0]!.result, 'certificate-host-mismatch');
  });

  it('a policy that cannot be fetched (404, or a redirect, which is never followed) counts as none and is reported', async () => {
    await send('bob@sts-fetchfail.test');
    await send('bob@sts-redirect.test');
    assert.equal((await result('bob@sts-fetchfail.test')).result, 'delivered');
    assert.equal((await result('bob@sts-redirect.test')).result, 'delivered');
    assert.equal(fetches.filter((f) => f === 'sts-good.test').length, 1, 'the redirect target was not fetched');
    assert.equal((await logFor('sts-fetchfail.test'))[0]!.result, 'sts-policy-fetch-error');
    assert.equal((await logFor('sts-redirect.test'))[0]!.result, 'sts-policy-fetch-error');
  });

  it('no policy: opportunistic delivery, plain text when STARTTLS is not offered', async () => {
    await send('bob@plain.test');
    assert.equal((await result('bob@plain.test')).result, 'delivered');
    assert.equal(received(sinks.plain!, 'bob@plain.test').length, 1);
    const [a] = await logFor('plain.test');
    assert.equal(a!.policy.type, 'no-policy-found');
    assert.equal(a!.result, 'starttls-not-supported');
  });

  it('DANE-EE: a validated TLSA record for the key delivers although the name does not match, and wins over MTA-STS', async () => {
    await send('bob@dane-ee.test');
    assert.equal((await result('bob@dane-ee.test')).result, 'delivered');
    assert.equal(received(sinks.wrongName!, 'bob@dane-ee.test').length, 1);
    const [a] = await logFor('dane-ee.test');
    assert.equal(a!.policy.type, 'tlsa');
    assert.equal(a!.result, 'success');
  });

  it('DANE-TA: the chain up to the trust anchor in the TLSA record delivers', async () => {
    await send('bob@dane-ta.test');
    assert.equal((await result('bob@dane-ta.test')).result, 'delivered');
    assert.equal(received(sinks.daneTa!, 'bob@dane-ta.test').length, 1);
    assert.equal((await logFor('dane-ta.test'))[0]!.result, 'success');
  });

  it('DANE: a certificate no TLSA record matches defers; an unvalidated (no AD) TLSA answer is ignored', async () => {
    await send('bob@dane-bad.test');
    await send('bob@dane-insecure.test');
    const bad = await result('bob@dane-bad.test');
    assert.equal(bad.result, 'deferred');
    assert.match(String(bad.reply), /^451 4\.7\.5 .*no TLSA record/);
    assert.equal(received(sinks.good!, 'bob@dane-bad.test').length, 0);
    assert.equal((await logFor('dane-bad.test'))[0]!.result, 'tlsa-invalid');
    assert.equal((await result('bob@dane-insecure.test')).result, 'delivered');
    assert.equal((await logFor('dane-insecure.test'))[0]!.policy.type, 'no-policy-found');
  });

  it('DANE: STARTTLS stripped by the peer defers instead of sending in plain text', async () => {
    await send('bob@dane-downgrade.test');
    assert.equal((await result('bob@dane-downgrade.test')).result, 'deferred');
    assert.equal(received(sinks.plain!, 'bob@dane-downgrade.test').length, 0);
    assert.equal((await logFor('dane-downgrade.test'))[0]!.result, 'starttls-not-supported');
  });

  it('DANE needs a validated MX RRset and validated address records: either one insecure and the TLSA records are ignored', async () => {
    await send('bob@dane-insecure-mx.test');
    await send('bob@dane-insecure-a.test');
    for (const domain of ['dane-insecure-mx.test', 'dane-insecure-a.test']) {
      assert.equal((await result(`bob@${domain}`)).result, 'delivered', domain);
      assert.equal(received(sinks.good!, `bob@${domain}`).length, 1);
      assert.equal((await logFor(domain))[0]!.policy.type, 'no-policy-found');
    }
  });

  it('DANE and a CNAME: the TLSA records of the expanded name apply, and the certificate may carry the MX host name', async () => {
    await send('bob@dane-cname.test');
    assert.equal((await result('bob@dane-cname.test')).result, 'delivered');
    assert.equal(received(sinks.daneCname!, 'bob@dane-cname.test').length, 1);
    const [a] = await logFor('dane-cname.test');
    assert.equal(a!.policy.type, 'tlsa');
    assert.equal(a!.result, 'success');
    assert.ok(dns.queries.includes(`TLSA _${sinks.good!.port}._tcp.real.dane-cname.test`));
  });

  it('DANE and a CNAME without TLSA records at its target: the MX host name\'s own TLSA records apply (here: a mismatch defers)', async () => {
    await send('bob@dane-cname-back.test');
    const line = await result('bob@dane-cname-back.test');
    assert.equal(line.result, 'deferred');
    assert.match(String(line.reply), /^451 4\.7\.5 .*no TLSA record/);
    assert.equal(received(sinks.good!, 'bob@dane-cname-back.test').length, 0);
    assert.equal((await logFor('dane-cname-back.test'))[0]!.result, 'tlsa-invalid');
  });

  it('DANE-EE ignores the certificate\'s names and dates: an expired certificate of another name delivers', async () => {
    await send('bob@dane-expired-ee.test');
    assert.equal((await result('bob@dane-expired-ee.test')).result, 'delivered');
    assert.equal(received(sinks.expired!, 'bob@dane-expired-ee.test').length, 1);
    assert.equal((await logFor('dane-expired-ee.test'))[0]!.result, 'success');
  });

  it('DANE-TA checks the name: a certificate under the trust anchor for another host defers (certificate-host-mismatch)', async () => {
    await send('bob@dane-ta-name.test');
    const line = await result('bob@dane-ta-name.test');
    assert.equal(line.result, 'deferred');
    assert.match(String(line.reply), /not valid for mx\.danetaname\.test/);
    assert.equal(received(sinks.daneTa!, 'bob@dane-ta-name.test').length, 0);
    assert.equal((await logFor('dane-ta-name.test'))[0]!.result, 'certificate-host-mismatch');
  });

  it('DANE-TA checks the chain: the anchor sent behind a leaf it did not sign defers', async () => {
    await send('bob@dane-chain.test');
    const line = await result('bob@dane-chain.test');
    assert.equal(line.result, 'deferred');
    // The chain is built by issuer, so the anchor that signed nothing is not part of it: nothing matches.
    assert.match(String(line.reply), /^451 4\.7\.5 .*(no TLSA record|does not verify up to the DANE-TA trust anchor)/);
    assert.equal(received(sinks.daneChain!, 'bob@dane-chain.test').length, 0);
    assert.ok(['tlsa-invalid', 'validation-failure'].includes((await logFor('dane-chain.test'))[0]!.result));
  });

  it('validated TLSA records that are all unusable: TLS is still required, but any certificate will do', async () => {
    await send('bob@dane-unusable.test');
    await send('bob@dane-unusable-plain.test');
    assert.equal((await result('bob@dane-unusable.test')).result, 'delivered');
    const [msg] = received(sinks.wrongName!, 'bob@dane-unusable.test');
    assert.ok(msg?.tls, 'delivered over TLS');
    assert.equal((await logFor('dane-unusable.test'))[0]!.policy.type, 'tlsa');
    // RFC 7672 §2.2: without STARTTLS the host gets nothing.
    assert.equal((await result('bob@dane-unusable-plain.test')).result, 'deferred');
    assert.equal(received(sinks.plain!, 'bob@dane-unusable-plain.test').length, 0);
    assert.equal((await logFor('dane-unusable-plain.test'))[0]!.result, 'starttls-not-supported');
  });

  it('a TLSA lookup that fails (SERVFAIL: bogus) keeps the mail in the queue and the host uncontacted', async () => {
    const before = sinks.good!.sessions.length;
    await send('bob@dane-servfail.test');
    const line = await result('bob@dane-servfail.test');
    assert.equal(line.result, 'deferred');
    assert.match(String(line.reply), /TLSA lookup for .* failed/);
    assert.equal(sinks.good!.sessions.length, before);
    assert.equal((await logFor('dane-servfail.test'))[0]!.result, 'dnssec-invalid');
  });

  it('a message an enforced policy keeps from every MX bounces when the queue lifetime ends (4.4.7)', async () => {
    const short = await startTestServer({
      dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1, cacheSize: 0 }),
      config: {
        // Every MX refused by the policy makes the destination dead for queue.destination_backoff: off, so the
        // 300 ms retries run until the lifetime ends.
        queue: { portOverride: sinks.good!.port, retrySchedule: [300], maxAge: 1200, delayWarning: null, destinationBackoff: 0 },
        outboundTls: { mtaSts: true, daneResolver: dns.server, mtaStsPort: (https.address() as { port: number }).port, caFile: fixture.caPath },
      },
    });
    try {
      await short.addUser(ALICE, PASS);
      await submit(short, ALICE, { from: ALICE, to: ['dave@sts-expired.test'] }, rawMessage(ALICE, 'dave@sts-expired.test', 'expires', 'hello\r\n'));
      const bounced = await until('the bounce', () => short.logs.find((l) => l.event === 'queue.attempt' && l.recipient === 'dave@sts-expired.test' && l.result === 'bounced'), 8000);
      assert.match(String(bounced.reply), /4\.7\.5/);
      const [dsn] = await short.waitForMessages(ALICE, 1);
      const text = (await short.read(ALICE, dsn!.uid)).toString();
      assert.match(text, /Status: 5\.4\.7/);
      assert.match(text, /certificate has expired/);
      assert.equal(received(sinks.expired!, 'dave@sts-expired.test').length, 0);
    } finally {
      await short.stop();
    }
  });

  it('an attacker who strips the TXT record and points the MX elsewhere gains nothing: the cached policy holds (RFC 8461 §5.1)', async () => {
    const before = fetches.filter((f) => f === 'sts-good.test').length;
    const { ['_mta-sts.sts-good.test']: _gone, ...rest } = records;
    dns.setRecords({ ...rest, 'sts-good.test': { MX: [{ preference: 10, exchange: 'evil.attacker.test' }] }, 'evil.attacker.test': { A: ['127.0.0.1'] } });
    await send('carol@sts-good.test');
    const line = await result('carol@sts-good.test');
    assert.equal(line.result, 'deferred');
    assert.match(String(line.reply), /evil\.attacker\.test is not in the MTA-STS policy/);
    assert.equal(received(sinks.good!, 'carol@sts-good.test').length, 0);
    assert.equal(fetches.filter((f) => f === 'sts-good.test').length, before, 'no new fetch without a new id');
  });
});
