// `postamt doctor DOMAIN` against a running server and the tests' DNS server: a good setup passes (exit 0),
// and each broken record, certificate or listener gives its own failure with the fix (exit 1).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, X509Certificate } from 'node:crypto';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { startDnsServer, type DnsRecords, type DnsServerHandle } from '../harness/dns-server.ts';
import { freePort } from '../harness/child-server.ts';
import { makeTlsFixture, type TlsFixture } from '../harness/test-ca.ts';
import { cliHarness, type CliHarness } from '../../src/cli/test-harness.ts';
import type { DoctorReport } from '../../src/doctor/report.ts';

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
      config: {
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
    for (const check of ['address', 'mx', 'ptr', 'spf', 'dkim', 'dmarc', 'mta-sts', 'tls-rpt', 'certificate', 'port', 'dnsbl']) assert.ok(passed.has(check), `${check} passed`);
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
  for (const [what, change, check, detail, fix] of broken) {
    it(`${what}: the ${check} check fails with its fix, exit 1`, async () => {
      dns.setRecords(change(good));
      const { code, report } = await doctor('--ca-file', fixture.caPath);
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
