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

test('reserve counts the attempt at once: parallel attempts never exceed the cap', () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 3 });
  const taken = Array.from({ length: 10 }, () => limiter.reserve('192.0.2.1', 'a@example.org'));
  assert.equal(taken.filter((r) => r !== null).length, 3);
  for (const r of taken) r?.failed();
  assert.equal(limiter.check('192.0.2.1', 'a@example.org'), 'throttled');
});

test('a reservation taken back by success or release frees its place; a failed one keeps it', () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 2, maxFailuresPerAccount: 2 });
  limiter.reserve('192.0.2.1', 'a@example.org')!.succeeded();
  limiter.reserve('192.0.2.1', 'a@example.org')!.release();
  assert.deepEqual(limiter.trackedKeys, { ips: 0, accounts: 0 });
  const r = limiter.reserve('192.0.2.1', 'a@example.org')!;
  r.failed();
  r.release(); // settled already: no effect
  assert.equal(limiter.trackedKeys.ips, 1);
  limiter.reserve('192.0.2.1', 'a@example.org')!.failed();
  assert.equal(limiter.reserve('192.0.2.1', 'a@example.org'), null);
});

test('against an account over its limit, a fresh IP has one attempt in flight at a time', () => {
  const limiter = new AuthLimiter({ maxFailuresPerIp: 100, maxFailuresPerAccount: 3 });
  for (let i = 0; i < 3; i++) limiter.recordFailure(`198.51.100.${i}`, 'victim@example.org');
  const first = limiter.reserve('203.0.113.5', 'victim@example.org');
  assert.ok(first, 'the owner from a clean IP');
  assert.equal(limiter.reserve('203.0.113.5', 'victim@example.org'), null, 'a second guess in parallel');
  first.succeeded();
  assert.ok(limiter.reserve('203.0.113.5', 'victim@example.org'), 'after the success, the next login');
});
