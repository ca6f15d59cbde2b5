import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isRelaxedAligned, organizationalDomain } from './org-domain.ts';

test('organizational domain from the Public Suffix List (RFC 7489 §3.2), not the last two labels', () => {
  assert.equal(organizationalDomain('a.b.example.co.uk'), 'example.co.uk');
  assert.equal(organizationalDomain('example.co.uk'), 'example.co.uk');
  assert.equal(organizationalDomain('mail.example.com.au'), 'example.com.au');
  assert.equal(organizationalDomain('x.y.example.org'), 'example.org');
  assert.equal(organizationalDomain('MX.Example.ORG.'), 'example.org');
  // A private-section suffix: every github.io site is its own organization.
  assert.equal(organizationalDomain('alice.github.io'), 'alice.github.io');
  assert.equal(organizationalDomain('co.uk'), 'co.uk');
});

test('relaxed alignment compares organizational domains (RFC 7489 §3.1)', () => {
  assert.ok(isRelaxedAligned('bounces.example.co.uk', 'example.co.uk'));
  assert.ok(!isRelaxedAligned('other.co.uk', 'example.co.uk'), 'two registrants under co.uk are not aligned');
  assert.ok(!isRelaxedAligned('alice.github.io', 'bob.github.io'));
  assert.ok(!isRelaxedAligned('', 'example.org'));
});
