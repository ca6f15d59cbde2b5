import { test } from 'node:test';
import assert from 'node:assert/strict';
import { decodeInitialResponse, decodeSaslResponse, isStrictBase64 } from './base64.ts';

test('padded RFC 4648 base64 is decoded; the empty line is an empty response', () => {
  assert.deepEqual(decodeSaslResponse('AGFsaWNlAHNlY3JldA=='), Buffer.from('\0alice\0secret'));
  assert.deepEqual(decodeSaslResponse('YWI='), Buffer.from('ab'));
  assert.deepEqual(decodeSaslResponse(''), Buffer.alloc(0));
});

test('anything else is refused, where Buffer.from(text, "base64") would guess', () => {
  for (const bad of ['YWI', 'YW=I', 'Y===', 'YWJj ZA==', 'YWJj\r\n', 'a-_b', 'YWJjZA=', '=', '*', 'YWJjZA==YQ==']) {
    assert.equal(decodeSaslResponse(bad), null, JSON.stringify(bad));
    assert.equal(isStrictBase64(bad), false, JSON.stringify(bad));
  }
});

test('an initial response of "=" is empty; otherwise the same rule', () => {
  assert.deepEqual(decodeInitialResponse('='), Buffer.alloc(0));
  assert.deepEqual(decodeInitialResponse('YWI='), Buffer.from('ab'));
  assert.equal(decodeInitialResponse('YWI'), null);
});
