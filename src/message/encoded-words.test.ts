import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeHeaderValue } from './encoded-words.ts';

test('B-encoded words decode; adjacent words join before charset decoding (RFC 2047 §6.2)', () => {
  assert.equal(decodeHeaderValue('=?utf-8?B?w6lhYg==?='), 'éab');
  // "é" split across two words: the bytes are joined first, then decoded as UTF-8.
  assert.equal(decodeHeaderValue('=?utf-8?B?ww==?= =?utf-8?B?qQ==?= x'), 'é x');
  assert.equal(decodeHeaderValue('a =?iso-8859-1?Q?caf=E9?= b'), 'a café b');
});

test('characters outside the base64 alphabet are skipped, as in a body (RFC 2045 §6.8)', () => {
  assert.equal(decodeHeaderValue('=?utf-8?B?YW\u00e9Jj?='), 'abc');
  assert.equal(decodeHeaderValue('=?utf-8?B?YW*Jj?='), 'abc');
});
