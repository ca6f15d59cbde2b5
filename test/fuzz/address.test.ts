import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { replayCorpus } from './replay.ts';
import { addressTarget, checkAddressList } from './targets/address.ts';

describe('fuzz: RFC 5322 address lists', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(addressTarget)) > 0);
  });

  it('never throws and keeps fields consistent for token soup', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...addressTarget.dictionary), fc.string({ maxLength: 6 })), { maxLength: 40 }), (tokens) => {
        checkAddressList(tokens.join(''));
      }),
      { numRuns: 150 },
    );
  });

  it('stays fast on ReDoS-shaped headers (32 KiB each)', () => {
    const n = 32 * 1024;
    for (const value of ['('.repeat(n), '<'.repeat(n), '"\\'.repeat(n / 2), 'a:'.repeat(n / 2), 'a@b,'.repeat(n / 4), '@a,'.repeat(n / 3), '=?utf-8?q?'.repeat(n / 10), 'a.'.repeat(n / 2) + '@']) {
      checkAddressList(value, 10_000);
    }
  });
});
