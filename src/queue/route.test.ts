import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Resolver } from '../dns/resolver.ts';
import { DnsError } from '../dns/resolver.ts';
import { resolveRoute } from './route.ts';

function fakeResolver(mx: Record<string, { exchange: string; priority: number }[] | 'nx' | 'servfail'>): Resolver {
  return {
    mx: async (n) => {
      const v = mx[n];
      if (v === 'nx' || v === undefined) throw new DnsError('nxdomain', n, 'MX');
      if (v === 'servfail') throw new DnsError('servfail', n, 'MX');
      return v;
    },
    a: async () => [],
    aaaa: async () => [],
    txt: async () => [],
    ptr: async () => [],
  };
}

test('orders MX hosts by preference and shuffles equal preferences', async () => {
  const resolver = fakeResolver({ 'x.test': [{ exchange: 'c', priority: 20 }, { exchange: 'a', priority: 10 }, { exchange: 'b', priority: 10 }] });
  const seen = new Set<string>();
  for (let i = 0; i < 40; i++) {
    const route = await resolveRoute('x.test', resolver);
    assert.equal(route.kind, 'hosts');
    if (route.kind !== 'hosts') return;
    assert.equal(route.hosts[2]!.host, 'c');
    seen.add(route.hosts.map((h) => h.host).join(','));
  }
  assert.deepEqual([...seen].sort(), ['a,b,c', 'b,a,c']);
});

test('implicit MX, null MX, NXDOMAIN, SERVFAIL, smarthost and per-domain routes', async () => {
  const resolver = fakeResolver({ 'nomx.test': [], 'null.test': [{ exchange: '', priority: 0 }], 'broken.test': 'servfail', 'self.test': [{ exchange: 'me.test', priority: 10 }] });
  const implicit = await resolveRoute('nomx.test', resolver, { portOverride: 2525 });
  assert.deepEqual(implicit.kind === 'hosts' && implicit.hosts.map((h) => [h.host, h.port, h.source]), [['nomx.test', 2525, 'implicit-mx']]);
  const nul = await resolveRoute('null.test', resolver);
  assert.equal(nul.kind === 'fail' && `${nul.reply.code} ${nul.reply.enhancedCode}`, '556 5.1.10');
  const nx = await resolveRoute('missing.test', resolver);
  assert.equal(nx.kind === 'fail' && nx.reply.code, 550);
  const sf = await resolveRoute('broken.test', resolver);
  assert.equal(sf.kind === 'fail' && sf.reply.code, 451);
  const self = await resolveRoute('self.test', resolver, { localHostnames: ['me.test'] });
  assert.equal(self.kind === 'fail' && self.reply.enhancedCode, '5.4.6');
  const relay = await resolveRoute('any.test', resolver, { relayhost: { host: 'smart.test', port: 587, tls: 'starttls', auth: { username: 'u', password: 'p' } } });
  assert.ok(relay.kind === 'hosts' && relay.hosts[0]!.host === 'smart.test' && relay.hosts[0]!.port === 587 && relay.hosts[0]!.tls === 'starttls');
  const routed = await resolveRoute('sub.corp.test', resolver, { routes: { '.corp.test': '[10.0.0.1]:2525' }, relayhost: { host: 'smart.test' } });
  assert.ok(routed.kind === 'hosts' && routed.hosts[0]!.host === '10.0.0.1' && routed.hosts[0]!.port === 2525);
});
