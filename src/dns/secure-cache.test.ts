import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startDnsServer } from '../../test/harness/dns-server.ts';
import { CachedSecureResolver } from './secure-cache.ts';
import { DnssecResolver } from './secure-resolver.ts';

const tlsaRecord = { usage: 3, selector: 1, matchingType: 1, data: 'ab'.repeat(32) };

test('DANE lookups are asked once per DNS TTL, capped by the configured maximum, failures never kept', async (t) => {
  const dns = await startDnsServer({
    '_25._tcp.mx.short.test': { TLSA: [tlsaRecord], AD: true, ttl: 300 },
    '_25._tcp.mx.long.test': { TLSA: [tlsaRecord], AD: true, ttl: 86400 },
    'mx.short.test': { A: ['192.0.2.1'], AD: true, ttl: 300 },
    '_25._tcp.mx.none.test': { AD: true },
    '_25._tcp.mx.fail.test': { SERVFAIL: true },
  });
  t.after(() => dns.stop());
  let now = 1_000_000;
  const secure = new CachedSecureResolver(new DnssecResolver({ server: dns.server, timeoutMs: 2000 }), { maxTtlSeconds: 3600, negativeTtlSeconds: 60, maxEntries: 100, now: () => now });
  const count = (q: string): number => dns.queries.filter((x) => x === q).length;

  const first = await secure.tlsa('_25._tcp.mx.short.test');
  assert.equal(first.authenticated, true);
  assert.equal(first.records.length, 1);
  assert.equal(first.ttlSeconds, 300);
  await Promise.all([secure.tlsa('_25._tcp.MX.short.test.'), secure.tlsa('_25._tcp.mx.short.test')]);
  await secure.addresses('mx.short.test', 4);
  await secure.addresses('mx.short.test', 4);
  assert.equal(count('TLSA _25._tcp.mx.short.test'), 1, 'the TLSA RRset is reused within its TTL');
  assert.equal(count('A mx.short.test'), 1);

  now += 299_000;
  await secure.tlsa('_25._tcp.mx.short.test');
  assert.equal(count('TLSA _25._tcp.mx.short.test'), 1);
  now += 2_000;
  await secure.tlsa('_25._tcp.mx.short.test');
  assert.equal(count('TLSA _25._tcp.mx.short.test'), 2, 'asked again once the TTL ran out');

  // A TTL of a day is capped at dane_cache_max_ttl (an hour here).
  await secure.tlsa('_25._tcp.mx.long.test');
  now += 3_601_000;
  await secure.tlsa('_25._tcp.mx.long.test');
  assert.equal(count('TLSA _25._tcp.mx.long.test'), 2);

  // No TLSA records (a secure NODATA): kept for the negative time only.
  assert.equal((await secure.tlsa('_25._tcp.mx.none.test')).records.length, 0);
  await secure.tlsa('_25._tcp.mx.none.test');
  assert.equal(count('TLSA _25._tcp.mx.none.test'), 1);
  now += 61_000;
  await secure.tlsa('_25._tcp.mx.none.test');
  assert.equal(count('TLSA _25._tcp.mx.none.test'), 2);

  // SERVFAIL is asked again every time: DANE must not stay failed on one bad answer.
  await assert.rejects(secure.tlsa('_25._tcp.mx.fail.test'));
  await assert.rejects(secure.tlsa('_25._tcp.mx.fail.test'));
  assert.equal(count('TLSA _25._tcp.mx.fail.test'), 2);
});

test('the DANE cache holds at most its configured number of answers', async (t) => {
  const dns = await startDnsServer({ 'a.test': { A: ['192.0.2.1'], AD: true }, 'b.test': { A: ['192.0.2.2'], AD: true }, 'c.test': { A: ['192.0.2.3'], AD: true } });
  t.after(() => dns.stop());
  const secure = new CachedSecureResolver(new DnssecResolver({ server: dns.server, timeoutMs: 2000 }), { maxTtlSeconds: 3600, negativeTtlSeconds: 60, maxEntries: 2 });
  for (const name of ['a.test', 'b.test', 'c.test']) await secure.addresses(name, 4);
  assert.equal(secure.size, 2);
  await secure.addresses('a.test', 4);
  assert.equal(dns.queries.filter((q) => q === 'A a.test').length, 2, 'the oldest answer was dropped');
});
