// The byte-bounded LRU behind the IMAP caches (header sections, envelopes, mailbox snapshots).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ByteLru } from './byte-lru.ts';

test('keeps the most recently used entries within its bytes, the least recently used going first', () => {
  const lru = new ByteLru<string, string>(300);
  for (const k of ['a', 'b', 'c']) assert.equal(lru.set(k, k, 100), true);
  assert.equal(lru.bytes, 300);
  assert.equal(lru.get('a'), 'a'); // a is now the most recent
  lru.set('d', 'd', 100);
  assert.deepEqual([...lru.values()], ['c', 'a', 'd']);
  assert.equal(lru.get('b'), undefined, 'b was the least recently used');
  // One big entry pushes out as many old ones as it needs.
  lru.set('e', 'e', 250);
  assert.deepEqual([...lru.values()], ['e']);
  assert.equal(lru.bytes, 250);
});

test('peek does not change the order; replacing an entry recounts its cost', () => {
  const lru = new ByteLru<number, string>(300);
  lru.set(1, 'one', 100);
  lru.set(2, 'two', 100);
  assert.equal(lru.peek(1), 'one');
  lru.set(2, 'TWO', 150);
  assert.equal(lru.bytes, 250);
  lru.set(3, 'three', 100);
  assert.equal(lru.peek(1), undefined, 'peek left 1 the least recently used');
  assert.deepEqual([...lru.values()], ['TWO', 'three']);
});

test('a value bigger than the whole budget is not kept, and supersedes the key\'s old value', () => {
  const lru = new ByteLru<string, string>(100);
  lru.set('k', 'small', 50);
  lru.set('other', 'o', 10);
  assert.equal(lru.set('k', 'huge', 101), false);
  assert.equal(lru.get('k'), undefined);
  assert.equal(lru.get('other'), 'o');
  assert.equal(lru.bytes, 10);
  assert.equal(lru.delete('other'), true);
  assert.equal(lru.delete('other'), false);
  assert.equal(lru.size, 0);
  assert.equal(lru.bytes, 0);
});
