/**
 * What Postamt writes itself keeps to RFC 5322 §2.1.1 (998 octets a line) even though it now accepts longer
 * body lines on receipt: a DSN for a message with a 5,000-octet line, a huge Subject and a long remote reply.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { buildDsn } from './dsn.ts';

function longestLine(bytes: Buffer): number {
  return Math.max(...bytes.toString('latin1').split('\r\n').map((l) => l.length));
}

const original = Buffer.from([
  'From: a@sender.test',
  `Subject: ${'subject '.repeat(300)}`,
  `X-Long: ${'h'.repeat(3000)}`,
  '',
  'x'.repeat(5000),
  'end',
  '',
].join('\r\n'));

test('a bounce of a message with lines over 998 octets has no line over 998 octets', () => {
  const dsn = buildDsn({
    reportingMta: 'mx.postamt.test', originalSender: 'a@sender.test', arrivalDate: new Date(), now: new Date(), ret: 'FULL', original,
    recipients: [{ address: 'b@remote.test', action: 'failed', status: '5.0.0', remoteMta: 'mx.remote.test', diagnostic: `550 5.0.0 ${'word '.repeat(400)}${'z'.repeat(2000)}` }],
  });
  assert.ok(longestLine(dsn) <= 998, `longest line ${longestLine(dsn)}`);
  const text = dsn.toString('latin1');
  assert.match(text, /Content-Type: text\/rfc822-headers/, 'only the headers are returned when the body has a long line');
  assert.match(text, /\r\nDiagnostic-Code: smtp; 550 5\.0\.0 word word/);
  assert.ok(!text.includes('x'.repeat(999)));
});

test('a bounce of an ordinary message still returns it whole (RET=FULL)', () => {
  const dsn = buildDsn({
    reportingMta: 'mx.postamt.test', originalSender: 'a@sender.test', arrivalDate: new Date(), now: new Date(), ret: 'FULL',
    original: Buffer.from('From: a@sender.test\r\nSubject: hi\r\n\r\nbody line\r\n'),
    recipients: [{ address: 'b@remote.test', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 no such user' }],
  });
  const text = dsn.toString('latin1');
  assert.match(text, /Content-Type: message\/rfc822/);
  assert.match(text, /\r\n\r\nbody line\r\n/);
  assert.match(text, /\r\nDiagnostic-Code: smtp; 550 5\.1\.1 no such user\r\n/);
});
