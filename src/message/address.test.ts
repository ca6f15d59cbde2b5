// RFC 5322 address-list parsing: real-world shapes, obsolete forms, and hostile inputs that
// must stay linear.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseAddressList, type NamedAddress } from './address.ts';

const mb = (name: string | null, localPart: string, domain: string | null, route: string | null = null): NamedAddress => ({
  kind: 'mailbox', name, route, localPart, domain, address: domain === null ? localPart : `${localPart}@${domain}`,
});

test('display names, quoted names with specials, bare addresses', () => {
  assert.deepEqual(parseAddressList('John Q. Public <jqp@example.com>, "Doe, Jane" <jane@example.org>, plain@example.net'), [
    mb('John Q. Public', 'jqp', 'example.com'),
    mb('Doe, Jane', 'jane', 'example.org'),
    mb(null, 'plain', 'example.net'),
  ]);
});

test('comments: ignored in addresses, used as the name when there is no phrase', () => {
  assert.deepEqual(parseAddressList('user@domain (Real (nested) Name)'), [mb('Real (nested) Name', 'user', 'domain')]);
  assert.deepEqual(parseAddressList('Pete(A nice \\) chap) <pete(his account)@silly.test(his host)>'), [mb('Pete', 'pete', 'silly.test')]);
});

test('groups (RFC 5322 §3.4, Appendix A.1.3)', () => {
  assert.deepEqual(parseAddressList('A Group:Ed Jones <c@a.test>,joe@where.test,John <jdoe@one.test>;, Undisclosed recipients:;'), [
    { kind: 'group', name: 'A Group', members: [mb('Ed Jones', 'c', 'a.test'), mb(null, 'joe', 'where.test'), mb('John', 'jdoe', 'one.test')] },
    { kind: 'group', name: 'Undisclosed recipients', members: [] },
  ]);
});

test('obsolete forms: routes, quoted local parts, missing domain, empty list elements', () => {
  assert.deepEqual(parseAddressList('<@a.test,@b.test:user@c.test>'), [mb(null, 'user', 'c.test', '@a.test,@b.test')]);
  assert.deepEqual(parseAddressList('"john smith"@example.com'), [mb(null, 'john smith', 'example.com')]);
  assert.deepEqual(parseAddressList(',, a@b ,,'), [mb(null, 'a', 'b')]);
  assert.deepEqual(parseAddressList('localonly'), [mb(null, 'localonly', null)]);
  assert.deepEqual(parseAddressList(''), []);
  assert.deepEqual(parseAddressList('=?utf-8?q?J=C3=B6rg?= <j@x.de>'), [mb('=?utf-8?q?J=C3=B6rg?=', 'j', 'x.de')]);
  assert.deepEqual(parseAddressList('Jörg <jörg@bücher.de>'), [mb('Jörg', 'jörg', 'bücher.de')]);
});

test('malformed input never throws', () => {
  for (const s of ['<', '>', '"unterminated', '(unterminated', 'a@', '@b', ':;', ';;;', '<<<>>>', 'a:b:c;d;', '[1.2.3.4', 'x <y@z']) {
    assert.doesNotThrow(() => parseAddressList(s), s);
  }
  assert.deepEqual(parseAddressList('x <y@z'), [mb('x', 'y', 'z')]);
  assert.deepEqual(parseAddressList('user@[192.0.2.1]'), [mb(null, 'user', '[192.0.2.1]')]);
});

test('hostile shapes stay linear (ReDoS-style inputs of 200 kB finish fast)', () => {
  const shapes = [
    '<'.repeat(200_000),
    '('.repeat(200_000),
    '"'.repeat(200_001),
    'a'.repeat(200_000),
    'a,'.repeat(100_000),
    'a:'.repeat(100_000),
    '<a@b,'.repeat(40_000),
    '\\'.repeat(200_000),
    '@.'.repeat(100_000),
  ];
  for (const s of shapes) {
    const t0 = performance.now();
    parseAddressList(s);
    const ms = performance.now() - t0;
    // Linear inputs take ~0.1 s here; a quadratic parser would take minutes.
    assert.ok(ms < 3000, `${JSON.stringify(s.slice(0, 6))}… took ${ms} ms`);
  }
  assert.equal(parseAddressList('a@b,'.repeat(20_000), { maxAddresses: 100 }).length, 100);
});
