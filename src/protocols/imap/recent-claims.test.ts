import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RecentClaims } from './recent-claims.ts';

describe('RecentClaims', () => {
  it('gives each arrival to one read-write session; EXAMINE only looks', () => {
    const c = new RecentClaims();
    c.noteArrivals(1, [5, 6]);
    assert.equal(c.peek(1, 7), 5, 'EXAMINE sees 5 and 6 as recent');
    assert.equal(c.claimBelow(1, 7), 5, 'the first SELECT takes them');
    assert.equal(c.claimBelow(1, 7), 7, 'the second SELECT gets none');
    assert.deepEqual(c.claimArrivals(1, [7, 8], { readOnly: true }), [7, 8]);
    assert.deepEqual(c.claimArrivals(1, [7, 8], { readOnly: false }), [7, 8]);
    assert.deepEqual(c.claimArrivals(1, [7, 8], { readOnly: false }), []);
  });

  it('a mailbox first seen at SELECT has nothing recent (claims are not kept across restarts)', () => {
    const c = new RecentClaims();
    assert.equal(c.claimBelow(2, 10), 10);
    c.noteArrivals(2, [10]);
    assert.equal(c.claimBelow(2, 11), 10);
  });

  it('forgets the oldest mailbox beyond its bound', () => {
    const c = new RecentClaims(2);
    c.noteArrivals(1, [1]);
    c.noteArrivals(2, [1]);
    c.noteArrivals(3, [1]);
    assert.equal(c.peek(1, 4), 4, 'mailbox 1 was forgotten: nothing recent');
  });
});
