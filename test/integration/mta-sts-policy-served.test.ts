// Our own MTA-STS policy: served over https to mta-sts.<hosted domain> (verified by curl against the certificate
// the operator configured), 404 for other hosts; `postamt dns` prints the `_mta-sts` record whose id follows the
// policy and the `_smtp._tls` record, and `dns check` calls a stale id wrong.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { caFile, curl } from '../harness/curl.ts';
import { createTestCa, issueServerCertificate } from '../harness/test-ca.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { cliHarness, type CliHarness } from '../../src/cli/test-harness.ts';

describe('our MTA-STS policy', () => {
  let server: TestServer;
  let certDir: string;
  let ca: ReturnType<typeof caFile>;

  before(async () => {
    const testCa = createTestCa();
    const cert = issueServerCertificate(testCa, { dnsNames: ['mx.postamt.test', 'mta-sts.example.test', 'mta-sts.other.test'] });
    certDir = mkdtempSync(join(tmpdir(), 'postamt-mta-sts-'));
    writeFileSync(join(certDir, 'cert.pem'), cert.cert);
    writeFileSync(join(certDir, 'key.pem'), cert.key, { mode: 0o600 });
    ca = caFile(testCa.cert);
    server = await startTestServer({
      startQueue: false,
      config: {
        tls: { cert: join(certDir, 'cert.pem'), key: join(certDir, 'key.pem') },
        mtaStsPolicy: { mode: 'enforce', maxAge: 86_400_000, mx: ['mx.postamt.test', '*.backup.postamt.test'] },
      },
    });
    await server.addDomain('example.test');
  });
  after(async () => {
    await server.stop();
    ca.remove();
    rmSync(certDir, { recursive: true, force: true });
  });

  const fetchPolicy = (host: string) => curl(['--cacert', ca.path, '--resolve', `${host}:${server.ports.https}:127.0.0.1`, `https://${host}:${server.ports.https}/.well-known/mta-sts.txt`]);

  it('is served at https://mta-sts.<domain>/.well-known/mta-sts.txt as RFC 8461 §3.2 text', async () => {
    const r = await fetchPolicy('mta-sts.example.test');
    assert.equal(r.status, 200);
    assert.match(r.headers['content-type']!, /^text\/plain/);
    assert.equal(r.body, 'version: STSv1\r\nmode: enforce\r\nmx: mx.postamt.test\r\nmx: *.backup.postamt.test\r\nmax_age: 86400\r\n');
  });

  it('is not served for a domain the server does not host, nor on other host names', async () => {
    assert.equal((await fetchPolicy('mta-sts.other.test')).status, 404);
    assert.equal((await fetchPolicy('mx.postamt.test')).status, 404);
  });
});

describe('postamt dns with an MTA-STS policy', () => {
  let cli: CliHarness;
  let dns: DnsServerHandle;

  before(async () => {
    dns = await startDnsServer({});
    cli = cliHarness();
    appendFileSync(cli.configPath, `\n[dns]\nservers = ["${dns.server}"]\ntimeout = "1s"\n\n[mta_sts_policy]\nmode = "testing"\n`);
  });
  after(async () => {
    cli.cleanup();
    await dns.stop();
  });

  const records = async () => {
    const r = await cli.run(['dns', 'example.test', '--json']);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as { name: string; type: string; value: string; required: boolean }[];
  };

  it('prints _mta-sts with an id that changes with the policy, the policy host and _smtp._tls', async () => {
    const text = (await cli.run(['dns', 'example.test'])).stdout;
    assert.match(text, /^_mta-sts\.example\.test\.\s+IN\s+TXT\s+"v=STSv1; id=[A-Za-z0-9]{1,32}"$/m);
    assert.match(text, /^mta-sts\.example\.test\.\s+IN\s+CNAME\s+mx\.example\.test\.$/m);
    assert.match(text, /^_smtp\._tls\.example\.test\.\s+IN\s+TXT\s+"v=TLSRPTv1; rua=mailto:postmaster@example\.test"$/m);
    const first = (await records()).find((r) => r.name === '_mta-sts.example.test')!;
    assert.equal(first.required, true);
    // The same policy keeps its id; another mode is another policy and gets another id.
    assert.equal((await records()).find((r) => r.name === '_mta-sts.example.test')!.value, first.value);
    writeFileSync(cli.configPath, readFileSync(cli.configPath, 'utf8').replace('mode = "testing"', 'mode = "enforce"'));
    const enforced = (await records()).find((r) => r.name === '_mta-sts.example.test')!;
    assert.notEqual(enforced.value, first.value);
  });

  it('dns check: a stale id is wrong, the current one ok', async () => {
    const txt = (await records()).find((r) => r.name === '_mta-sts.example.test')!.value.replace(/^"|"$/g, '');
    dns.setRecords({ '_mta-sts.example.test': { TXT: ['v=STSv1; id=20200101000000'] } });
    const stale = await cli.run(['dns', 'check', 'example.test']);
    assert.equal(stale.code, 1);
    assert.match(stale.stdout, /^wrong\s+TXT\s+_mta-sts\.example\.test\s+found v=STSv1; id=20200101000000; expected "v=STSv1; id=/m);
    dns.setRecords({ '_mta-sts.example.test': { TXT: [txt] }, 'mta-sts.example.test': { CNAME: 'mx.example.test' } });
    const fresh = await cli.run(['dns', 'check', 'example.test']);
    assert.match(fresh.stdout, /^ok\s+TXT\s+_mta-sts\.example\.test/m);
    assert.match(fresh.stdout, /^ok\s+CNAME\s+mta-sts\.example\.test/m);
  });
});
