import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RateLimiter, DEFAULT_RATE_LIMIT_OPTIONS, type RateLimitOptions } from './rate-limit.ts';

function setup(options: Partial<RateLimitOptions>) {
  let now = 0;
  const r = new RateLimiter({ options: { ...DEFAULT_RATE_LIMIT_OPTIONS, ...options }, now: () => now });
  return { r, advance: (s: number) => (now += s * 1000) };
}

describe('rate limits', () => {
  it('refuses the connection over the per-IP rate with 421 4.7.0 and recovers as tokens refill', () => {
    const { r, advance } = setup({ connectionsPerIp: { count: 3, perSeconds: 60 } });
    for (let i = 0; i < 3; i++) assert.equal(r.onConnection('192.0.2.1').action, 'accept');
    const refused = r.onConnection('192.0.2.1');
    assert.deepEqual(refused, { action: 'tempfail', reply: { code: 421, enhancedCode: '4.7.0', text: 'Too many connections from your network, try again later', rule: 'rate_connections' } });
    assert.equal(r.onConnection('192.0.2.2').action, 'accept', 'another IP has its own bucket');
    advance(20);
    assert.equal(r.onConnection('192.0.2.1').action, 'accept');
    assert.equal(r.onConnection('192.0.2.1').action, 'tempfail');
  });

  it('limits a whole /24 and a whole IPv6 /64', () => {
    const { r } = setup({ connectionsPerIp: { count: 100, perSeconds: 60 }, connectionsPerNetwork: { count: 4, perSeconds: 60 } });
    for (let i = 1; i <= 4; i++) assert.equal(r.onConnection(`192.0.2.${i}`).action, 'accept');
    assert.equal(r.onConnection('192.0.2.200').action, 'tempfail');
    assert.equal(r.onConnection('192.0.3.1').action, 'accept');
    for (let i = 1; i <= 4; i++) assert.equal(r.onConnection(`2001:db8:1:2::${i}`).action, 'accept');
    assert.equal(r.onConnection('2001:db8:1:2:ffff::1').action, 'tempfail');
    assert.equal(r.onConnection('2001:db8:1:3::1').action, 'accept');
  });

  it('limits messages with 451 4.7.1', () => {
    const { r } = setup({ messagesPerIp: { count: 2, perSeconds: 3600 } });
    assert.equal(r.onMessage('192.0.2.1').action, 'accept');
    assert.equal(r.onMessage('192.0.2.1').action, 'accept');
    const v = r.onMessage('192.0.2.1');
    assert.equal(v.action, 'tempfail');
    assert.deepEqual(v.action === 'tempfail' && [v.reply.code, v.reply.enhancedCode], [451, '4.7.1']);
  });

  it('keeps at most maxTrackedKeys buckets', () => {
    const { r } = setup({ maxTrackedKeys: 50 });
    for (let i = 0; i < 1000; i++) r.onConnection(`10.${i >> 8}.${i & 255}.1`);
    assert.ok(r.trackedKeys <= 50);
  });
});
