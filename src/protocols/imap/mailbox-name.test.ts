import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { listMatcher } from './list-pattern.ts';
import { decodeMailboxName, decodeModifiedUtf7, encodeModifiedUtf7 } from './mailbox-name.ts';
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

  it('refuses a lone surrogate and every non-canonical spelling (one name, one spelling)', () => {
    assert.equal(decodeModifiedUtf7('&2D0-'), null); // U+D83D alone
    assert.equal(decodeModifiedUtf7('&3gA-'), null); // U+DE00 alone
    assert.equal(decodeModifiedUtf7('&2D3eAA-'), '\u{1F600}'); // the pair is fine
    assert.equal(decodeModifiedUtf7('&AGEAYgBj-'), null); // "abc" encoded: printable ASCII stands for itself
    assert.equal(decodeModifiedUtf7('&AOQ-&AOQ-'), null); // a null shift ("-&") splits one run in two
    assert.equal(decodeModifiedUtf7('&AOQA5A-'), '\u00e4\u00e4');
    assert.equal(decodeModifiedUtf7('&AOR-'), null); // non-zero bits after the last code unit
    assert.equal(decodeMailboxName('\uD83D', { utf8: true }), null);
  });

  it('matches LIST patterns with * and %', () => {
    assert.ok(listMatcher('', '*')('a/b/c'));
    assert.ok(listMatcher('', '%')('a'));
    assert.ok(!listMatcher('', '%')('a/b'));
    assert.ok(listMatcher('', 'inbox')('INBOX'));
    assert.ok(listMatcher('', 'Inbox/%')('INBOX/x'));
    assert.ok(listMatcher('a/', '%')('a/b'));
    assert.ok(!listMatcher('', 'a.c')('abc'));
    assert.ok(listMatcher('', '*%*')('x/y'));
  });

  it('matches LIST patterns as the regular expression does, without its backtracking', () => {
    const reference = (pattern: string, name: string): boolean => {
      let re = '';
      for (const ch of pattern) re += ch === '*' ? '.*' : ch === '%' ? '[^/]*' : ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
      return new RegExp(`^${re}$`, 's').test(name);
    };
    const text = (chars: string[]) => fc.array(fc.constantFrom(...chars), { maxLength: 12 }).map((a) => a.join(''));
    fc.assert(fc.property(text(['a', 'b', '/', '*', '%']), text(['a', 'b', '/']), (pattern, name) => listMatcher('', pattern)(name) === reference(pattern, name)), { numRuns: 3000 });
    // The shape that makes a backtracking matcher take exponential time answers at once.
    const began = Date.now();
    assert.equal(listMatcher('', '*a'.repeat(40) + 'b')('a'.repeat(500)), false);
    assert.ok(Date.now() - began < 200);
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
