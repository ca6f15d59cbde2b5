import { test } from 'node:test';
import assert from 'node:assert/strict';
import { AuthLimiter } from './auth-limiter.ts';

function clock(): { now: () => number; advance: (ms: number) => void } {
  let t = 1_000_000;
  return { now: () => t, advance: (ms) => (t += ms) };
}

test('an IP is throttled after maxFailuresPerIp failures, for any account', () => {
  const c = clock();
  const limiter = new AuthLimiter({ maxFailuresPerIp: 3, now: c.now });
  for (let i = 0; i < 3; i++) {
    assert.equal(limiter.check('192.0.2.1', `user${i}@example.org`), 'ok');
    limiter.recordFailure('192.0.2.1', `user${i}@example.org`);
  }
  assert.equal(limiter.check('192.0.2.1', 'someone-else@example.org'), 'throttled');
  assert.equal(limiter.check('::ffff:192.0.2.1', 'x@example.org'), 'throttled', 'IPv4-mapped form is the same client');
  assert.equal(limiter.check('192.0.2.2', 'user0@example.org'), 'ok', 'another IP is unaffected');
});

test('the IP recovers once the window has passed', () => {
  const c = clock();
  const limiter = new AuthLimiter({ maxFailuresPerIp: 2, windowMs: 60_000, now: c.now });
  limiter.recordFailure('192.0.2.1', 'a@example.org');
  c.advance(30_000);
  limiter.recordFailure('192.0.2.1', 'a@example.org');
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'throttled');
  c.advance(30_001);
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'ok', 'first failure expired (sliding window)');
  c.advance(60_000);
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'ok');
  assert.deepEqual(limiter.trackedKeys, { ips: 0, accounts: 0 }, 'expired entries are dropped when next looked at');
});

test('an attacked account is locked only for the IPs that failed on it; the owner elsewhere logs in', () => {
  const c = clock();
  const limiter = new AuthLimiter({ maxFailuresPerIp: 100, maxFailuresPerAccount: 4, now: c.now });
  for (let i = 0; i < 4; i++) limiter.recordFailure(`198.51.100.${i}`, 'victim@example.org');
  for (let i = 0; i < 4; i++) assert.equal(limiter.check(`198.51.100.${i}`, 'Victim@Example.org'), 'throttled');
  assert.equal(limiter.check('203.0.113.5', 'victim@example.org'), 'ok', 'the owner from a clean IP');
  assert.equal(limiter.check('198.51.100.0', 'other@example.org'), 'ok', 'other accounts from the attacking IP');
  limiter.recordFailure('198.51.100.9', 'victim@example.org');
  assert.equal(limiter.check('198.51.100.9', 'victim@example.org'), 'throttled', 'a fresh attacking IP gets one guess');
});

test('a success forgets that IP\'s failures for that account only', () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 3 });
  limiter.recordFailure('192.0.2.1', 'a@example.org');
  limiter.recordFailure('192.0.2.1', 'a@example.org');
  limiter.recordFailure('192.0.2.1', 'b@example.org');
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'throttled');
  limiter.recordSuccess('192.0.2.1', 'A@example.org');
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'ok');
  limiter.recordFailure('192.0.2.1', 'b@example.org');
  limiter.recordFailure('192.0.2.1', 'b@example.org');
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'throttled', 'b\'s failures still count against the IP');
});

test('memory stays bounded: the oldest keys are evicted', () => {
  const limiter = new AuthLimiter({ maxTrackedKeys: 50 });
  for (let i = 0; i < 500; i++) limiter.recordFailure(`10.0.${i >> 8}.${i & 255}`, `u${i}@example.org`);
  assert.deepEqual(limiter.trackedKeys, { ips: 50, accounts: 50 });
});

test('defaults: 10 per IP, 2 s penalty', () => {
  const limiter = new AuthLimiter();
  assert.equal(limiter.penaltyDelayMs, 2000);
  for (let i = 0; i < 9; i++) limiter.recordFailure('192.0.2.1', 'a@example.org');
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'ok');
  limiter.recordFailure('192.0.2.1', 'a@example.org');
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'throttled');
});

test('reserve counts the attempt at once: parallel wrong passwords never exceed the cap', async () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 3, maxWaitMs: 200 });
  let checked = 0;
  const attempts = Array.from({ length: 10 }, async () => {
    const r = await limiter.reserve('192.0.2.1', 'a@example.org');
    if (!r) return false;
    checked++;
    await new Promise((resolve) => setTimeout(resolve, 5));
    r.failed();
    return true;
  });
  const through = (await Promise.all(attempts)).filter(Boolean).length;
  assert.equal(through, 3);
  assert.equal(checked, 3);
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'throttled');
});

test('parallel right passwords from one address all get through, one after the other past the cap', async () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 3 });
  let inFlight = 0;
  let mostInFlight = 0;
  const attempts = Array.from({ length: 50 }, async () => {
    const r = await limiter.reserve('192.0.2.1', 'a@example.org');
    if (!r) return false;
    inFlight++;
    mostInFlight = Math.max(mostInFlight, inFlight);
    await new Promise((resolve) => setTimeout(resolve, 2));
    inFlight--;
    r.succeeded();
    return true;
  });
  assert.equal((await Promise.all(attempts)).filter(Boolean).length, 50);
  assert.equal(mostInFlight, 3, 'no more passwords checked at once than the cap');
  assert.deepEqual(limiter.trackedKeys, { ips: 0, accounts: 0 });
});

test('an attempt held back by attempts in flight gives up after maxWaitMs', async () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 1, maxWaitMs: 30 });
  const first = await limiter.reserve('192.0.2.1', 'a@example.org');
  assert.ok(first);
  const started = Date.now();
  assert.equal(await limiter.reserve('192.0.2.1', 'a@example.org'), null);
  assert.ok(Date.now() - started >= 25);
  first.release();
});

test('a reservation taken back by success or release frees its place; a failed one keeps it', async () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 2, maxFailuresPerAccount: 2, maxWaitMs: 20 });
  (await limiter.reserve('192.0.2.1', 'a@example.org'))!.succeeded();
  (await limiter.reserve('192.0.2.1', 'a@example.org'))!.release();
  assert.deepEqual(limiter.trackedKeys, { ips: 0, accounts: 0 });
  const r = (await limiter.reserve('192.0.2.1', 'a@example.org'))!;
  r.failed();
  r.release(); // settled already: no effect
  assert.equal(limiter.trackedKeys.ips, 1);
  (await limiter.reserve('192.0.2.1', 'a@example.org'))!.failed();
  assert.equal(await limiter.reserve('192.0.2.1', 'a@example.org'), null);
});

test('against an account over its limit, a fresh IP has one attempt in flight at a time', async () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 100, maxFailuresPerAccount: 3, maxWaitMs: 1000 });
  for (let i = 0; i < 3; i++) limiter.recordFailure(`198.51.100.${i}`, 'victim@example.org');
  const first = await limiter.reserve('203.0.113.5', 'victim@example.org');
  assert.ok(first, 'the owner from a clean IP');
  let secondTaken = false;
  const second = limiter.reserve('203.0.113.5', 'victim@example.org').then((r) => {
    secondTaken = true;
    return r;
  });
  await new Promise((resolve) => setTimeout(resolve, 20));
  assert.equal(secondTaken, false, 'a second attempt in parallel waits');
  first.succeeded();
  assert.ok(await second, 'after the success, the next login');
});

test('against an account over its limit, a fresh IP whose guess failed is refused', async () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 100, maxFailuresPerAccount: 3, maxWaitMs: 1000 });
  for (let i = 0; i < 3; i++) limiter.recordFailure(`198.51.100.${i}`, 'victim@example.org');
  const first = await limiter.reserve('203.0.113.5', 'victim@example.org');
  const second = limiter.reserve('203.0.113.5', 'victim@example.org');
  first!.failed();
  assert.equal(await second, null);
});
