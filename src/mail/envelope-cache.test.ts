import { test } from 'node:test';
import assert from 'node:assert/strict';
import { EnvelopeCache } from './envelope-cache.ts';

test('the envelope cache keeps the most recently used entries within its size', () => {
  const entryBytes = (1 + 100) * 2 + 64;
  const cache = new EnvelopeCache({ maxBytes: entryBytes * 3 });
  for (const k of ['a', 'b', 'c']) cache.set(k, k.repeat(100));
  assert.equal(cache.get('a'), 'a'.repeat(100)); // a is now the most recent
  cache.set('d', 'd'.repeat(100));
  assert.equal(cache.size, 3);
  assert.equal(cache.get('b'), undefined, 'the least recently used went first');
  assert.equal(cache.get('a'), 'a'.repeat(100));
  cache.set('big', 'x'.repeat(1000));
  assert.equal(cache.get('big'), undefined, 'an entry bigger than the whole cache is not kept');
  assert.equal(cache.size, 3);
});
