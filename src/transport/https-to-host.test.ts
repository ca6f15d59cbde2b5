import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { DnsError } from '../dns/resolver.ts';
import { fetchStsPolicy } from '../outbound-tls/mta-sts-fetch.ts';
import { postReport } from '../reports/https-report-post.ts';
import { createTestCa, issueServerCertificate } from '../../test/harness/test-ca.ts';

const ca = createTestCa();
const leaf = issueServerCertificate(ca, { dnsNames: ['mta-sts.v6only.test', 'reports.v6only.test'], ips: ['::1'] });
// A resolver whose A lookups fail (SERVFAIL) while AAAA answers: an IPv6-only host behind a broken A zone.
const brokenA = {
  a: (name: string) => Promise.reject(new DnsError('servfail', name, 'A')),
  aaaa: async () => ['::1'],
};

test('an MTA-STS policy and a TLS-RPT POST both reach an IPv6-only host whose A lookup fails', async (t) => {
  const seen: string[] = [];
  const server = createServer({ key: leaf.key, cert: leaf.cert }, (req, res) => {
    seen.push(`${req.method} ${req.headers.host} ${req.url}`);
    req.resume();
    req.on('end', () => {
      if (req.method === 'GET') {
        res.writeHead(200, { 'Content-Type': 'text/plain' });
        res.end('version: STSv1\nmode: enforce\nmx: mx.v6only.test\nmax_age: 86400\n');
      } else {
        res.writeHead(201).end();
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '::1', resolve));
  t.after(() => server.close());
  const port = (server.address() as AddressInfo).port;

  const policy = await fetchStsPolicy('v6only.test', { resolver: { ...brokenA, mx: async () => [], txt: async () => [], ptr: async () => [] }, timeoutMs: 5000, port, trust: { ca: [ca.cert] } });
  assert.deepEqual(policy.ok && policy.text.includes('mode: enforce'), true, JSON.stringify(policy));

  const posted = await postReport(`https://reports.v6only.test:${port}/tlsrpt`, Buffer.from('x'), { resolver: brokenA, ca: [ca.cert], timeoutMs: 5000 });
  assert.deepEqual(posted, { ok: true, status: 201 });
  assert.deepEqual(seen, [`GET mta-sts.v6only.test /.well-known/mta-sts.txt`, `POST reports.v6only.test:${port} /tlsrpt`]);
});

test('a name without any address is a failure that names the host, not a hang', async () => {
  const none = { a: async () => [] as string[], aaaa: async () => [] as string[] };
  assert.deepEqual(await postReport('https://nowhere.test/r', Buffer.from('x'), { resolver: none, ca: [ca.cert], timeoutMs: 1000 }), { ok: false, reason: 'nowhere.test has no address' });
});
