// `postamt doctor DOMAIN` against a running server and the tests' DNS server: a good setup passes (exit 0),
// and each broken record, certificate or listener gives its own failure with the fix (exit 1). The test
// message goes through the server's own MX (the same DNS) and its Authentication-Results are read back.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { startDnsServer, type DnsRecords, type DnsServerHandle } from '../harness/dns-server.ts';
import { freePort } from '../harness/free-port.ts';
import { makeTlsFixture, type TlsFixture } from '../harness/test-ca.ts';
import { cliHarness, type CliHarness } from '../../src/cli/test-harness.ts';
import type { DoctorReport } from '../../src/doctor/report.ts';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { readdirSync } from 'node:fs';
import { sendRaw } from '../harness/smtp-raw.ts';
import { join } from 'node:path';

const HOST = 'mx.postamt.test';
const ROLES = ['smtp', 'submission', 'submissions', 'imap', 'imaps', 'pop3', 'pop3s', 'http', 'https'] as const;

describe('postamt doctor', () => {
  let dns: DnsServerHandle;
  let server: TestServer;
  let cli: CliHarness;
  let fixture: TlsFixture;
  let good: DnsRecords;
  const ports: Record<string, number> = {};

  const listen = (overrides: Record<string, number> = {}) => ROLES.map((r) => `${r} = "127.0.0.1:${overrides[r] ?? ports[r]}"`).join('\n');
  const writeConfig = (extra = '', overrides: Record<string, number> = {}) => writeFileSync(cli.configPath, [
    `hostname = "${HOST}"`, `data_dir = "${server.dataDir}"`,
    '[listen]', listen(overrides),
    '[dns]', `servers = ["${dns.server}"]`, 'timeout = "1s"',
    // The test message goes to the MX found in DNS on the smtp listener's port, as the queue would send it.
    '[queue]', `port_override = ${overrides.smtp ?? ports.smtp}`,
    '[mta_sts_policy]', 'mode = "enforce"', extra, '',
  ].join('\n'));
  const doctor = async (...args: string[]) => {
    const r = await cli.run(['doctor', 'example.test', '--json', ...args]);
    return { code: r.code, report: JSON.parse(r.stdout) as DoctorReport, stderr: r.stderr };
  };
  const failures = (report: DoctorReport) => report.checks.filter((c) => c.status === 'fail');

  before(async () => {
    dns = await startDnsServer({});
    fixture = makeTlsFixture({ dnsNames: [HOST, 'mta-sts.example.test', 'autoconfig.example.test'], ips: ['127.0.0.1'] });
    for (const r of ROLES) ports[r] = await freePort();
    server = await startTestServer({
      hostname: HOST, startQueue: false,
      dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1, cacheSize: 0 }),
      config: {
        // The doctor's message comes from 127.0.0.1: loopback must not skip the inbound checks here.
        policy: { trustedNetworks: [] },
        listen: Object.fromEntries(ROLES.map((r) => [r, { host: '127.0.0.1', port: ports[r] }])),
        tls: { cert: fixture.certPath, key: fixture.keyPath },
        mtaStsPolicy: { mode: 'enforce' },
      } as never,
    });
    await server.addDomain('example.test');
    cli = cliHarness();
    writeConfig();
    assert.equal((await cli.run(['dkim', 'generate', 'example.test', '--selector', 'doc', '--algorithm', 'rsa', '--active'])).code, 0);
    const printed = JSON.parse((await cli.run(['dns', 'example.test', '--json'])).stdout) as { name: string; type: string; value: string }[];
    const txt = (name: string) => printed.find((r) => r.name === name && r.type === 'TXT')!.value.match(/"([^"]*)"/g)!.map((s) => s.slice(1, -1)).join('');
    good = {
      'example.test': { MX: [{ preference: 10, exchange: HOST }], TXT: ['v=spf1 mx -all'] },
      [HOST]: { A: ['127.0.0.1'] },
      '127.0.0.1': { PTR: [HOST] },
      'doc._domainkey.example.test': { TXT: [txt('doc._domainkey.example.test')] },
      '_dmarc.example.test': { TXT: ['v=DMARC1; p=reject; rua=mailto:postmaster@example.test'] },
      '_mta-sts.example.test': { TXT: [txt('_mta-sts.example.test')] },
      'mta-sts.example.test': { A: ['127.0.0.1'] },
      '_smtp._tls.example.test': { TXT: ['v=TLSRPTv1; rua=mailto:postmaster@example.test'] },
    };
  });
  after(async () => {
    await server.stop();
    await dns.stop();
    cli.cleanup();
    rmSync(fixture.dir, { recursive: true, force: true });
  });

  it('a good setup passes every check and exits 0', async () => {
    dns.setRecords(good);
    const { code, report } = await doctor('--ca-file', fixture.caPath);
    assert.deepEqual(failures(report), []);
    assert.equal(code, 0);
    assert.equal(report.ok, true);
    const passed = new Set(report.checks.filter((c) => c.status === 'pass').map((c) => c.check));
    for (const check of ['address', 'mx', 'ptr', 'spf', 'dkim', 'dmarc', 'mta-sts', 'tls-rpt', 'certificate', 'port', 'dnsbl', 'probe', 'probe-spf', 'probe-dkim', 'probe-dmarc']) assert.ok(passed.has(check), `${check} passed`);
    assert.equal(report.checks.filter((c) => c.check === 'port' && c.status === 'pass').length, ROLES.length);
    assert.ok(report.checks.some((c) => c.check === 'mta-sts' && c.subject === 'https://mta-sts.example.test/.well-known/mta-sts.txt' && c.status === 'pass'));
    assert.equal(report.checks.find((c) => c.check === 'tlsa')!.status, 'skip');
    const text = await cli.run(['doctor', 'example.test', '--ca-file', fixture.caPath]);
    assert.match(text.stdout, /all checks for example\.test pass/);
  });

  const broken: [string, (r: DnsRecords) => DnsRecords, string, RegExp, RegExp][] = [
    // SPF names the host itself here, so only the MX check is about the MX.
    ['MX elsewhere', (r) => ({ ...r, 'example.test': { MX: [{ preference: 10, exchange: 'mx.elsewhere.test' }], TXT: ['v=spf1 a:mx.postamt.test -all'] } }), 'mx', /found 10 mx\.elsewhere\.test/, /replace it with: example\.test MX 10 mx\.postamt\.test\./],
    ['no PTR', (r) => ({ ...r, '127.0.0.1': {} }), 'ptr', /not published/, /ask the provider of 127\.0\.0\.1 to set its PTR to mx\.postamt\.test/],
    ['SPF without our address', (r) => ({ ...r, 'example.test': { ...r['example.test'], TXT: ['v=spf1 -all'] } }), 'spf', /SPF for 127\.0\.0\.1: fail/, /v=spf1 mx -all/],
    ['DKIM record of another key', (r) => ({ ...r, 'doc._domainkey.example.test': { TXT: ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrong'] } }), 'dkim', /found v=DKIM1; k=rsa; p=MIIB/, /replace it with: doc\._domainkey\.example\.test TXT "v=DKIM1/],
    ['no DMARC', (r) => ({ ...r, '_dmarc.example.test': {} }), 'dmarc', /not published/, /publish: _dmarc\.example\.test TXT "v=DMARC1/],
    ['stale MTA-STS id', (r) => ({ ...r, '_mta-sts.example.test': { TXT: ['v=STSv1; id=20200101'] } }), 'mta-sts', /found v=STSv1; id=20200101/, /replace it with: _mta-sts\.example\.test TXT "v=STSv1; id=/],
    ['no TLS-RPT', (r) => ({ ...r, '_smtp._tls.example.test': {} }), 'tls-rpt', /not published/, /_smtp\._tls\.example\.test TXT "v=TLSRPTv1/],
    ['listed on a block list', (r) => ({ ...r, '1.0.0.127.zen.spamhaus.org': { A: ['127.0.0.2'] } }), 'dnsbl', /listed on zen\.spamhaus\.org/, /ask for removal/],
  ];
  it('the DMARC record to publish names reports.dmarc_address as rua, with the other domain\'s consent record', async () => {
    dns.setRecords({ ...good, '_dmarc.example.test': {} });
    writeConfig('[reports]\ndmarc_address = "dmarc-reports@reports.example.net"');
    try {
      const { report } = await doctor('--ca-file', fixture.caPath, '--no-probe');
      const dmarc = failures(report).filter((c) => c.check === 'dmarc');
      assert.equal(dmarc.length, 2, JSON.stringify(dmarc));
      assert.match(dmarc[0]!.fix, /publish: _dmarc\.example\.test TXT "v=DMARC1; p=quarantine; rua=mailto:dmarc-reports@reports\.example\.net"/);
      // RFC 7489 §7.1: the reports' domain agrees to receive them.
      assert.match(dmarc[1]!.fix, /ask the owner of reports\.example\.net to publish: example\.test\._report\._dmarc\.reports\.example\.net TXT "v=DMARC1"/);
    } finally {
      writeConfig();
    }
  });

  for (const [what, change, check, detail, fix] of broken) {
    it(`${what}: the ${check} check fails with its fix, exit 1`, async () => {
      dns.setRecords(change(good));
      const { code, report } = await doctor('--ca-file', fixture.caPath, '--no-probe');
      assert.equal(code, 1);
      const failed = failures(report);
      assert.deepEqual(failed.map((c) => c.check), [check], JSON.stringify(failed));
      assert.match(failed[0]!.detail, detail);
      assert.match(failed[0]!.fix, fix);
    });
  }

  describe('TLSA with a validating resolver (outbound_tls.dane_resolver)', () => {
    const spki256 = (pem: string) => createHash('sha256').update(new X509Certificate(pem).publicKey.export({ type: 'spki', format: 'der' })).digest('hex');
    // The zone signed: MX and address records validated (AD), and the TLSA records at _25._tcp.<host>.
    const signed = (tlsaData: string): DnsRecords => ({
      ...good,
      'example.test': { ...good['example.test'], AD: true },
      [HOST]: { ...good[HOST], AD: true },
      [`_25._tcp.${HOST}`]: { TLSA: [{ usage: 3, selector: 1, matchingType: 1, data: tlsaData }], AD: true },
    });
    before(() => writeConfig(`[outbound_tls]\ndane_resolver = "${dns.server}"`));
    after(() => writeConfig());

    it('a DANE-EE record for the key the smtp listener serves passes', async () => {
      dns.setRecords(signed(spki256(readFileSync(fixture.certPath, 'utf8'))));
      const { code, report } = await doctor('--ca-file', fixture.caPath);
      assert.deepEqual(failures(report), []);
      assert.equal(code, 0);
      const tlsa = report.checks.find((c) => c.check === 'tlsa')!;
      assert.equal(tlsa.status, 'pass');
      assert.match(tlsa.detail, /1 DNSSEC-validated record\(s\); the certificate served on port \d+ matches/);
    });

    it('a record of another key fails with the record to publish', async () => {
      dns.setRecords(signed('00'.repeat(32)));
      const { code, report } = await doctor('--ca-file', fixture.caPath);
      assert.equal(code, 1);
      const failed = failures(report);
      assert.deepEqual(failed.map((c) => c.check), ['tlsa']);
      assert.match(failed[0]!.detail, /no TLSA record of mx\.postamt\.test matches the presented certificate/);
      assert.match(failed[0]!.fix, new RegExp(`publish _25\\._tcp\\.mx\\.postamt\\.test\\. IN TLSA 3 1 1 ${spki256(readFileSync(fixture.certPath, 'utf8'))}`));
    });

    it('TLSA records behind an unsigned MX RRset fail: senders ignore them', async () => {
      const records = signed(spki256(readFileSync(fixture.certPath, 'utf8')));
      dns.setRecords({ ...records, 'example.test': good['example.test']! });
      const { report } = await doctor('--ca-file', fixture.caPath);
      const tlsa = report.checks.find((c) => c.check === 'tlsa')!;
      assert.equal(tlsa.status, 'fail');
      assert.match(tlsa.detail, /senders ignore them: the MX RRset is not DNSSEC-validated/);
      assert.match(tlsa.fix, /sign the zone/);
    });
  });

  describe('the test message through our own MX', () => {
    const probeFiles = () => readdirSync(join(server.dataDir, 'doctor-probes'));
    // Where a message to an unknown address of the domain would have to go: the postmaster.
    before(async () => {
      await server.addUser('postmaster@example.test', 'probe-test-password');
    });

    it('passes SPF, DKIM and DMARC, lands in no mailbox and is removed', async () => {
      dns.setRecords(good);
      const { report } = await doctor('--ca-file', fixture.caPath);
      const probe = report.checks.filter((c) => c.check.startsWith('probe'));
      assert.deepEqual(probe.map((c) => [c.check, c.status]), [['probe', 'pass'], ['probe-spf', 'pass'], ['probe-dkim', 'pass'], ['probe-dmarc', 'pass']], JSON.stringify(probe));
      assert.match(probe[0]!.detail, /sent to mx\.postamt\.test \[127\.0\.0\.1\]:\d+, filed and removed/);
      assert.match(probe[2]!.detail, /pass header\.i=@example\.test header\.s=doc/);
      assert.deepEqual(probeFiles(), [], 'nothing left in data_dir/doctor-probes');
      assert.equal((await server.messages('postmaster@example.test')).length, 0, 'no copy in the postmaster\'s mailbox');
      assert.equal((await server.messages('postmaster@example.test', 'Junk').catch(() => [])).length, 0);
      const logged = server.logs.find((l) => l.event === 'smtp.transaction' && JSON.stringify(l).includes('doctor-probe'));
      assert.ok(logged, 'the MX logged the probe as filed');
    });

    it('a broken SPF record fails the test message\'s SPF result, with the fix', async () => {
      dns.setRecords({ ...good, 'example.test': { ...good['example.test'], TXT: ['v=spf1 ip4:192.0.2.1 -all'] } });
      const { code, report } = await doctor('--ca-file', fixture.caPath);
      assert.equal(code, 1);
      const failed = failures(report);
      assert.deepEqual(failed.map((c) => c.check), ['spf', 'probe-spf'], JSON.stringify(failed));
      assert.match(failed[1]!.detail, /spf=fail/);
      assert.match(failed[1]!.fix, /must allow the address the server sends from \(127\.0\.0\.1\): publish example\.test TXT "v=spf1 mx -all"/);
      // DKIM still aligns: DMARC passes.
      assert.equal(report.checks.find((c) => c.check === 'probe-dmarc')!.status, 'pass');
      assert.deepEqual(probeFiles(), []);
    });

    it('a DKIM record of another key fails the test message\'s DKIM result', async () => {
      dns.setRecords({ ...good, 'doc._domainkey.example.test': { TXT: ['v=DKIM1; k=rsa; p=MIIBIjANBgkqhkiG9w0BAQEFAAOCAQ8AMIIBCgKCAQEAwrong'] } });
      const { report } = await doctor('--ca-file', fixture.caPath);
      const dkim = report.checks.find((c) => c.check === 'probe-dkim')!;
      assert.equal(dkim.status, 'fail');
      assert.match(dkim.detail, /dkim=(fail|neutral|permerror)/);
      assert.match(dkim.fix, /postamt dns example\.test/);
    });

    it('a probe address nobody waits for is an unknown user (550 5.1.1): nothing can be dropped there', async () => {
      dns.setRecords(good);
      const reply = await sendRaw(ports.smtp!, { from: 'someone@elsewhere.test', to: [`postamt-probe-${'ab'.repeat(16)}@example.test`], data: 'Subject: x\r\n\r\nx\r\n' });
      assert.equal(reply.code, 550);
      assert.match(reply.lines.join(' '), /5\.1\.1/);
      assert.deepEqual(probeFiles(), []);
    });

    describe('when another server takes the message', () => {
      let other: SmtpSinkHandle;
      before(async () => {
        other = await startSmtpSink({ host: '127.0.0.2', port: ports.smtp });
      });
      after(async () => other.stop());

      it('times out and says the MX is another server', async () => {
        dns.setRecords({ ...good, 'example.test': { ...good['example.test'], MX: [{ preference: 10, exchange: 'mx.other.test' }] }, 'mx.other.test': { A: ['127.0.0.2'] } });
        const { report } = await doctor('--ca-file', fixture.caPath, '--probe-timeout', '1');
        const probe = report.checks.find((c) => c.check === 'probe')!;
        assert.equal(probe.status, 'fail');
        assert.match(probe.detail, /mx\.other\.test accepted it but it did not arrive here within 1000 ms/);
        assert.match(probe.fix, /point the MX at this server/);
        assert.equal(other.messages.length, 1);
        assert.deepEqual(probeFiles(), []);
      });

      it('with a shared PostgreSQL store (several nodes) it probes this node and says the MX may be another', async () => {
        // The MX leads to another node (127.0.0.2); SPF allows every node (this one sends from 127.0.0.1).
        dns.setRecords({ ...good, 'example.test': { MX: [{ preference: 10, exchange: 'mx.other.test' }], TXT: ['v=spf1 mx ip4:127.0.0.1 -all'] }, 'mx.other.test': { A: ['127.0.0.2'] } });
        // The doctor reads only the configuration; the store URL is never opened by it.
        writeConfig('[storage]\nbackend = "postgres"\nurl = "postgres://postamt@127.0.0.1:1/postamt"');
        try {
          const before = other.messages.length;
          const { report } = await doctor('--ca-file', fixture.caPath, '--probe-timeout', '5');
          const probe = report.checks.filter((c) => c.check.startsWith('probe'));
          assert.deepEqual(probe.map((c) => [c.check, c.status]), [['probe', 'pass'], ['probe-spf', 'pass'], ['probe-dkim', 'pass'], ['probe-dmarc', 'pass']], JSON.stringify(probe));
          assert.match(probe[0]!.detail, new RegExp(`sent to mx\\.other\\.test \\[127\\.0\\.0\\.1\\]:${ports.smtp} \\(this node's smtp listener: mx\\.other\\.test \\[127\\.0\\.0\\.2\\] is not an address of this machine and may lead to another node`));
          assert.equal(other.messages.length, before, 'the other server got nothing');
          assert.deepEqual(probeFiles(), []);
        } finally {
          writeConfig();
        }
      });
    });
  });

  it('a certificate clients cannot verify fails the certificate check', async () => {
    dns.setRecords(good);
    const { code, report } = await doctor();
    assert.equal(code, 1);
    const failed = failures(report);
    assert.ok(failed.length > 0 && failed.every((c) => c.check === 'certificate' || c.check === 'mta-sts'), JSON.stringify(failed));
    assert.match(failed[0]!.fix, /certificate from a public CA that covers mx\.postamt\.test: switch on \[acme\]|must cover/);
  });

  it('a listener that does not answer fails the port check', async () => {
    dns.setRecords(good);
    writeConfig('', { pop3s: await freePort() });
    try {
      const { code, report } = await doctor('--ca-file', fixture.caPath);
      assert.equal(code, 1);
      const failed = failures(report);
      assert.deepEqual(failed.map((c) => c.check), ['port']);
      assert.match(failed[0]!.subject, /^pop3s 127\.0\.0\.1:\d+$/);
      assert.match(failed[0]!.fix, /open the port in the firewall/);
    } finally {
      writeConfig();
    }
  });
});
