import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeMailboxName, decodeModifiedUtf7, encodeModifiedUtf7, patternToRegExp } from './mailbox-name.ts';
import { formatSequenceSet, parseSequenceSet, resolveSequenceNumbers, resolveUidIndexes } from './sequence-set.ts';

describe('modified UTF-7 mailbox names (RFC 3501 §5.1.3)', () => {
  it('encodes and decodes the RFC examples', () => {
    assert.equal(encodeModifiedUtf7('~peter/mail/日本語/台北'), '~peter/mail/&ZeVnLIqe-/&U,BTFw-');
    assert.equal(decodeModifiedUtf7('~peter/mail/&ZeVnLIqe-/&U,BTFw-'), '~peter/mail/日本語/台北');
    assert.equal(encodeModifiedUtf7('A&B'), 'A&-B');
    assert.equal(decodeModifiedUtf7('A&-B'), 'A&B');
    assert.equal(encodeModifiedUtf7('Entwürfe'), 'Entw&APw-rfe');
  });

  it('round-trips any string, including astral characters', () => {
    fc.assert(fc.property(fc.fullUnicodeString(), (s) => decodeModifiedUtf7(encodeModifiedUtf7(s)) === s));
  });

  it('rejects malformed input and normalizes INBOX', () => {
    assert.equal(decodeModifiedUtf7('&Jjo'), null);
    assert.equal(decodeModifiedUtf7('&*-'), null);
    assert.equal(decodeMailboxName('inbox', { utf8: false }), 'INBOX');
    assert.equal(decodeMailboxName('Inbox/Sub', { utf8: false }), 'INBOX/Sub');
    assert.equal(decodeMailboxName('Grüße', { utf8: true }), 'Grüße');
    assert.equal(decodeMailboxName('Grüße', { utf8: false }), null);
  });

  it('matches LIST patterns with * and %', () => {
    assert.ok(patternToRegExp('', '*').test('a/b/c'));
    assert.ok(patternToRegExp('', '%').test('a'));
    assert.ok(!patternToRegExp('', '%').test('a/b'));
    assert.ok(patternToRegExp('', 'inbox').test('INBOX'));
    assert.ok(patternToRegExp('a/', '%').test('a/b'));
    assert.ok(!patternToRegExp('', 'a.c').test('abc'));
  });
});

describe('sequence sets', () => {
  it('parses, resolves and formats', () => {
    const set = parseSequenceSet('1:3,7,9:*');
    assert.notEqual(set, '$');
    assert.deepEqual(resolveSequenceNumbers(set as never, 10), [1, 2, 3, 7, 9, 10]);
    assert.deepEqual(resolveUidIndexes(parseSequenceSet('5:*') as never, [2, 4, 6, 8]), [2, 3]);
    // RFC 9051 §6.4.8: n:* includes the highest UID even when n is above it.
    assert.deepEqual(resolveUidIndexes(parseSequenceSet('100:*') as never, [2, 4]), [1]);
    assert.equal(formatSequenceSet([1, 2, 3, 5, 7, 8]), '1:3,5,7:8');
    assert.throws(() => parseSequenceSet('0'));
    assert.throws(() => parseSequenceSet('1,,2'));
    assert.throws(() => parseSequenceSet('a'));
  });
});
