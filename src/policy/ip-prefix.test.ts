import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ipInCidr, networkKey, ptrName, reverseLabel, sameIp } from './ip-prefix.ts';
import { ipFromReverseName } from './resolver-adapter.ts';

describe('IP helpers', () => {
  it('computes /24 and /64 network keys, IPv4-mapped addresses included', () => {
    assert.equal(networkKey('192.0.2.77'), '192.0.2.0/24');
    assert.equal(networkKey('::ffff:192.0.2.77'), '192.0.2.0/24');
    assert.equal(networkKey('2001:db8:1:2:aaaa::1'), '2001:db8:1:2:0:0:0:0/64');
  });
  it('gives a plain IPv4 address the key of the general path (its IPv4-mapped form), other prefixes too', () => {
    for (let i = 0; i < 2000; i++) {
      const octets = [0, 0, 0, 0].map(() => (i < 4 ? [0, 255, 1, 10][i]! : Math.floor(Math.random() * 256)));
      const ip = octets.join('.');
      assert.equal(networkKey(ip), networkKey(`::ffff:${ip}`), ip);
      assert.equal(networkKey(ip, { v4: 16, v6: 48 }), `${octets[0]}.${octets[1]}.0.0/16`, ip);
    }
    // Not dotted quads as isIPv4 reads them: left as they are.
    assert.equal(networkKey('01.2.3.4'), '01.2.3.4');
    assert.equal(networkKey('not an ip'), 'not an ip');
  });
  it('matches CIDRs', () => {
    assert.ok(ipInCidr('10.1.2.3', '10.0.0.0/8'));
    assert.ok(!ipInCidr('11.1.2.3', '10.0.0.0/8'));
    assert.ok(ipInCidr('2001:db8::1', '2001:db8::/32'));
    assert.ok(!ipInCidr('2001:db9::1', '2001:db8::/32'));
    assert.ok(ipInCidr('::1', '::1'));
    assert.ok(!ipInCidr('10.0.0.1', '2001:db8::/32'));
    assert.ok(sameIp('2001:DB8:0::1', '2001:db8::1'));
  });
  it('builds DNSBL and PTR names, and maps reverse names back', () => {
    assert.equal(reverseLabel('192.0.2.1'), '1.2.0.192');
    assert.equal(ptrName('2001:db8::567:89ab'), 'b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa');
    assert.equal(ipFromReverseName('1.2.0.192.in-addr.arpa'), '192.0.2.1');
    assert.ok(sameIp(ipFromReverseName(ptrName('2001:db8::567:89ab')!)!, '2001:db8::567:89ab'));
  });
});
