import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SubmissionRateLimiter } from './submission-rate.ts';

test('open transactions count against the hour: two sessions cannot both fill it', () => {
  const limiter = new SubmissionRateLimiter({ messagesPerHour: 10, recipientsPerHour: 5 });
  let granted = 0;
  for (let i = 0; i < 5; i++) if (limiter.reserve('a@example.org', 'T1')) granted++;
  for (let i = 0; i < 5; i++) if (limiter.reserve('a@example.org', 'T2')) granted++;
  assert.equal(granted, 5);
  assert.equal(limiter.reserve('b@example.org', 'T3'), true, 'another user is not affected');
});

test('a settled transaction is recorded when accepted and given back otherwise', () => {
  let now = 1_000_000;
  const limiter = new SubmissionRateLimiter({ messagesPerHour: 10, recipientsPerHour: 3, now: () => now });
  limiter.reserve('a@example.org', 'T1');
  limiter.reserve('a@example.org', 'T1');
  limiter.settle('T1', false);
  assert.equal(limiter.openTransactions, 0);
  for (let i = 0; i < 3; i++) assert.equal(limiter.reserve('a@example.org', 'T2'), true);
  limiter.unreserveRecipient('T2');
  limiter.settle('T2', true);
  assert.equal(limiter.reserve('a@example.org', 'T3'), true);
  assert.equal(limiter.reserve('a@example.org', 'T3'), false, '2 sent + 1 open');
  limiter.settle('T3', false);
  now += 3600_001;
  assert.equal(limiter.reserve('a@example.org', 'T4'), true, 'the hour has passed');
});

test('messages per hour count open transactions as messages', () => {
  const limiter = new SubmissionRateLimiter({ messagesPerHour: 2, recipientsPerHour: 100 });
  assert.equal(limiter.reserve('a@example.org', 'T1'), true);
  assert.equal(limiter.reserve('a@example.org', 'T2'), true);
  assert.equal(limiter.reserve('a@example.org', 'T3'), false);
  assert.equal(limiter.reserve('a@example.org', 'T1'), true, 'more recipients of an open message');
});
