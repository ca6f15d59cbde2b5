import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { Greylister, MemoryGreylistStore, DEFAULT_GREYLIST_OPTIONS, type GreylistOptions } from './greylist.ts';

function setup(options: Partial<GreylistOptions> = {}) {
  let now = 1_000_000_000_000;
  const store = new MemoryGreylistStore({ maxEntries: 1000 });
  const g = new Greylister({ store, options: { ...DEFAULT_GREYLIST_OPTIONS, enabled: true, ...options }, now: () => now });
  return { g, store, advance: (seconds: number) => (now += seconds * 1000) };
}

const T = { ip: '192.0.2.10', sender: 'alice@sender.example', recipient: 'bob@postamt.test' };

describe('greylisting', () => {
  it('answers 451 4.7.1 to the first attempt, again before the delay, and accepts the retry after it', async () => {
    const { g, advance } = setup();
    assert.deepEqual(await g.check(T), { action: 'tempfail', reply: { code: 451, enhancedCode: '4.7.1', text: 'Greylisted, try again later', rule: 'greylisted' } });
    advance(60);
    assert.equal((await g.check(T)).action, 'tempfail');
    advance(241);
    assert.equal((await g.check(T)).action, 'accept');
    advance(3600);
    assert.equal((await g.check(T)).action, 'accept', 'a passed triplet stays accepted');
  });

  it('treats a retry from another host of the same /24 as the same sender', async () => {
    const { g, advance } = setup({ autoWhitelistAfter: 0 });
    await g.check(T);
    advance(301);
    assert.equal((await g.check({ ...T, ip: '192.0.2.77' })).action, 'accept');
    assert.equal((await g.check({ ...T, ip: '192.0.3.10' })).action, 'tempfail');
  });

  it('auto-whitelists a client network that retried properly, for other senders and recipients too', async () => {
    const { g, advance } = setup();
    await g.check(T);
    advance(301);
    await g.check(T);
    assert.equal((await g.check({ ip: '192.0.2.11', sender: 'x@other.example', recipient: 'carol@postamt.test' })).action, 'accept');
    advance(40 * 86400);
    assert.equal((await g.check({ ip: '192.0.2.11', sender: 'x@other.example', recipient: 'carol@postamt.test' })).action, 'tempfail', 'the whitelisting expires');
  });

  it('starts over when the retry comes after the retry window', async () => {
    const { g, advance } = setup({ retryWindowSeconds: 3600 });
    await g.check(T);
    advance(7200);
    assert.equal((await g.check(T)).action, 'tempfail');
    advance(301);
    assert.equal((await g.check(T)).action, 'accept');
  });

  it('never delays whitelisted IPs, CIDRs, sender domains or verified client host domains; off means off', async () => {
    const { g } = setup({ whitelistIps: ['198.51.100.0/24', '2001:db8::/32'], whitelistDomains: ['trusted.example'] });
    assert.equal((await g.check({ ...T, ip: '198.51.100.9' })).action, 'accept');
    assert.equal((await g.check({ ...T, ip: '2001:db8::5' })).action, 'accept');
    assert.equal((await g.check({ ...T, sender: 'a@trusted.example' })).action, 'accept');
    assert.equal((await g.check({ ...T, clientHostname: 'out1.mail.trusted.example' })).action, 'accept');
    assert.equal((await g.check(T)).action, 'tempfail');
    const off = setup({ enabled: false });
    assert.equal((await off.g.check(T)).action, 'accept');
  });

  it('keeps memory bounded', async () => {
    const store = new MemoryGreylistStore({ maxEntries: 10 });
    const g = new Greylister({ store, options: { ...DEFAULT_GREYLIST_OPTIONS, enabled: true } });
    for (let i = 0; i < 100; i++) await g.check({ ...T, recipient: `u${i}@postamt.test` });
    assert.ok(store.size <= 20);
  });
});
