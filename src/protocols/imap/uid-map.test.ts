import { test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { UidMap } from './uid-map.ts';
import { parseSequenceSet, resolveUidIndexes, type SequenceRange } from './sequence-set.ts';

test('UidMap answers like a plain sorted array after pushes and removals', () => {
  fc.assert(
    fc.property(fc.uniqueArray(fc.integer({ min: 1, max: 300 }), { maxLength: 120 }), fc.array(fc.integer({ min: 1, max: 300 }), { maxLength: 40 }), (raw, gone) => {
      const uids = [...raw].sort((a, b) => a - b);
      const map = UidMap.from(uids.slice(0, Math.floor(uids.length / 2)));
      for (const u of uids.slice(Math.floor(uids.length / 2))) map.push(u);
      map.remove(gone);
      const want = uids.filter((u) => !gone.includes(u));
      assert.equal(map.length, want.length);
      assert.deepEqual(map.slice(), want);
      assert.equal(map.last, want[want.length - 1] ?? 0);
      for (let v = 0; v <= 301; v++) {
        assert.equal(map.indexOf(v), want.indexOf(v));
        assert.equal(map.lowerBound(v), want.findIndex((u) => u >= v) === -1 ? want.length : want.findIndex((u) => u >= v));
      }
      want.forEach((u, i) => assert.equal(map.at(i), u));
      assert.equal(map.at(want.length), undefined);
      const copy = map.clone();
      copy.push(1000);
      assert.equal(map.length, want.length, 'a clone is independent');
      for (const [from, to] of [[0, want.length], [1, want.length - 1], [3, 4]] as const) {
        const spanned: number[] = [];
        let next = Math.max(0, from);
        map.forEachSpan(from, to, (index, uid, count) => {
          assert.equal(index, next, 'spans are adjacent and ascending');
          assert.ok(count > 0);
          for (let k = 0; k < count; k++) spanned.push(uid + k);
          next = index + count;
        });
        assert.deepEqual(spanned, want.slice(from, to));
      }
      const set = parseSequenceSet('2:7,50:*,9,120:110') as SequenceRange[];
      assert.deepEqual(resolveUidIndexes(set, map), resolveUidIndexes(set, want));
    }),
  );
});

test('a contiguous mailbox of 100,000 UIDs is a few bytes', () => {
  const map = UidMap.from(Uint32Array.from({ length: 100_000 }, (_, i) => i + 1));
  assert.equal(map.length, 100_000);
  assert.equal(map.at(99_999), 100_000);
  map.remove([500]);
  assert.equal(map.indexOf(501), 499);
  assert.equal(map.at(499), 501);
});
