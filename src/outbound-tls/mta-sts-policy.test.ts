import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mxMatchesPolicy, parseStsPolicy, parseStsRecord } from './mta-sts-policy.ts';

test('the _mta-sts TXT record: exactly one v=STSv1 record with a valid id (RFC 8461 §3.1)', () => {
  assert.deepEqual(parseStsRecord([['v=STSv1; id=20160831085700Z;']]), { id: '20160831085700Z' });
  assert.deepEqual(parseStsRecord([['v=STSv1; ', 'id=abc'], ['v=spf1 -all']]), { id: 'abc' });
  assert.equal(parseStsRecord([['v=STSv1; id=a'], ['v=STSv1; id=b']]), null, 'two records: no policy');
  assert.equal(parseStsRecord([['v=STSv1; id=has-dash']]), null);
  assert.equal(parseStsRecord([['v=STSv1;']]), null);
  assert.equal(parseStsRecord([]), null);
});

test('the policy file: fields, CRLF or LF, unknown keys ignored, required keys checked (RFC 8461 §3.2)', () => {
  const ok = parseStsPolicy('version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\nextension: x\r\n');
  assert.ok(ok.ok);
  assert.deepEqual(ok.ok && ok.policy.mx, ['mail.example.com', '*.example.net']);
  assert.equal(ok.ok && ok.policy.maxAge, 604800);
  assert.equal(parseStsPolicy('version: STSv1\nmode: none\nmax_age: 86400\n').ok, true, 'mode none needs no mx');
  assert.equal(parseStsPolicy('version: STSv2\nmode: enforce\nmx: a.b\nmax_age: 1\n').ok, false);
  assert.equal(parseStsPolicy('version: STSv1\nmode: strict\nmx: a.b\nmax_age: 1\n').ok, false);
  assert.equal(parseStsPolicy('version: STSv1\nmode: enforce\nmax_age: 1\n').ok, false, 'enforce without mx');
  assert.equal(parseStsPolicy('version: STSv1\nmode: enforce\nmx: a.b\n').ok, false, 'no max_age');
  const capped = parseStsPolicy('version: STSv1\nmode: testing\nmx: a.b\nmax_age: 99999999999\n');
  assert.equal(capped.ok, false, 'max_age beyond 10 digits is malformed');
  const year = parseStsPolicy('version: STSv1\nmode: testing\nmx: a.b\nmax_age: 9999999999\n');
  assert.equal(year.ok && year.policy.maxAge, 31_557_600, 'max_age capped at one year');
});

test('MX patterns: exact names, and a wildcard covers exactly one more label (RFC 8461 §4.1)', () => {
  assert.ok(mxMatchesPolicy('mail.example.com', ['mail.example.com']));
  assert.ok(mxMatchesPolicy('MAIL.example.com.', ['mail.example.com']));
  assert.ok(mxMatchesPolicy('mx1.example.com', ['*.example.com']));
  assert.ok(!mxMatchesPolicy('a.mx1.example.com', ['*.example.com']));
  assert.ok(!mxMatchesPolicy('example.com', ['*.example.com']));
  assert.ok(!mxMatchesPolicy('mail.example.org', ['mail.example.com']));
});
