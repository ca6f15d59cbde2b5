// String formatting for responses: quoted vs literal, and NUL, which no IMAP string may carry.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatAString, formatNString, formatString } from './response.ts';

test('formatString: CR/LF force a literal, NUL is replaced', () => {
  assert.equal(formatString('a\rb'), '{3}\r\na\rb');
  assert.equal(formatString('a\0b', { utf8: true }), '"a\uFFFDb"');
  assert.equal(formatString('back\\slash'), '"back\\\\slash"');
  assert.equal(formatString('x'.repeat(1000)), '{1000}\r\n' + 'x'.repeat(1000));
});

test('a NUL never reaches the wire, not even inside a literal (RFC 9051 §9: CHAR8 excludes NUL)', () => {
  // Without UTF-8 the replacement character is 8-bit, so the value goes as a literal of its UTF-8 octets.
  assert.equal(formatString('a\0b'), '{5}\r\na\uFFFDb');
  assert.equal(formatNString('a\0b'), '{5}\r\na\uFFFDb');
  assert.equal(formatAString('a\0b', { utf8: true }), '"a\uFFFDb"');
  assert.ok(!formatString('x\0'.repeat(600)).includes('\0'));
});

test('formatNString: NIL for an absent value', () => {
  assert.equal(formatNString(null), 'NIL');
  assert.equal(formatNString(undefined), 'NIL');
  assert.equal(formatNString(''), '""');
});

test('8-bit text is a literal without UTF-8 and quoted with it', () => {
  assert.equal(formatString('Grüße'), '{7}\r\nGrüße');
  assert.equal(formatString('Grüße', { utf8: true }), '"Grüße"');
});
