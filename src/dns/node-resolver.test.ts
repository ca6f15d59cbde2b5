import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer, type DnsServerHandle } from '../../test/harness/dns-server.ts';
import { NodeResolver } from './node-resolver.ts';
import { DnsError } from './resolver.ts';

let dns: DnsServerHandle;
before(async () => {
  dns = await startDnsServer({
    'example.test': { MX: [{ preference: 10, exchange: 'mx1.example.test' }, { preference: 20, exchange: 'mx2.example.test.' }], TXT: ['v=spf1 -all', ['part1', 'part2'], 'x'.repeat(300)] },
    'mx1.example.test': { A: ['127.0.0.1'], AAAA: ['::1'], ttl: 42 },
    'nomx.example.test': { A: ['127.0.0.2'] },
    'broken.example.test': { SERVFAIL: true },
    'slow.example.test': { DROP: true },
    '127.0.0.1': { PTR: ['localhost.example.test'] },
  });
});
after(() => dns.stop());

test('answers MX, A, AAAA, TXT and PTR from the test server', async () => {
  const r = new NodeResolver({ servers: [dns.server], timeoutMs: 500, tries: 1 });
  assert.deepEqual(await r.mx('Example.Test.'), [{ exchange: 'mx1.example.test', priority: 10 }, { exchange: 'mx2.example.test', priority: 20 }]);
  assert.deepEqual(await r.a('mx1.example.test'), ['127.0.0.1']);
  assert.deepEqual(await r.aaaa('mx1.example.test'), ['::1']);
  const txt = await r.txt('example.test');
  assert.deepEqual(txt[0], ['v=spf1 -all']);
  assert.deepEqual(txt[1], ['part1', 'part2']);
  assert.equal(txt[2]!.join(''), 'x'.repeat(300));
  assert.deepEqual(await r.ptr('127.0.0.1'), ['localhost.example.test']);
});

test('NODATA is an empty list, NXDOMAIN and SERVFAIL are typed errors', async () => {
  const r = new NodeResolver({ servers: [dns.server], timeoutMs: 300, tries: 1 });
  assert.deepEqual(await r.mx('nomx.example.test'), []);
  await assert.rejects(r.mx('missing.example.test'), (e: unknown) => e instanceof DnsError && e.kind === 'nxdomain' && e.isPermanent);
  await assert.rejects(r.a('broken.example.test'), (e: unknown) => e instanceof DnsError && e.kind === 'servfail' && !e.isPermanent);
  await assert.rejects(r.a('slow.example.test'), (e: unknown) => e instanceof DnsError && e.kind === 'timeout');
});

test('caches answers until their TTL runs out', async () => {
  let now = 1_000_000;
  const r = new NodeResolver({ servers: [dns.server], timeoutMs: 500, tries: 1, now: () => now });
  const before = dns.queries.filter((q) => q === 'A mx1.example.test').length;
  await r.a('mx1.example.test');
  await r.a('mx1.example.test');
  assert.equal(dns.queries.filter((q) => q === 'A mx1.example.test').length, before + 1);
  now += 43_000; // TTL 42 s
  await r.a('mx1.example.test');
  assert.equal(dns.queries.filter((q) => q === 'A mx1.example.test').length, before + 2);
});
