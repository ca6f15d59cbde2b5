import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { decodeVerp } from '../../src/queue/verp.ts';
import { replayCorpus } from './replay.ts';
import { checkVerpRoundTrip, verpTarget } from './targets/verp.ts';

const local = fc.stringMatching(/^[A-Za-z0-9!#$%&'*+/=?^_`{|}~.-]{1,20}$/);
const domain = fc.stringMatching(/^[A-Za-z0-9-]{1,10}(\.[A-Za-z0-9-]{1,10}){0,3}$/);

describe('fuzz: VERP', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(verpTarget)) > 0);
  });

  it('decode(encode(x)) == x for any return path and recipient (domain lower-cased)', () => {
    fc.assert(
      fc.property(local, domain, local, fc.oneof(domain, domain.map((d) => `[${d}]`)), fc.constantFrom('+', '-', '='), (bl, bd, rl, rd, delimiter) => {
        fc.pre(!(delimiter === '=' && false));
        checkVerpRoundTrip(`${bl}@${bd}`, `${rl}@${rd}`, delimiter);
      }),
      { numRuns: 250 },
    );
  });

  it('never throws on arbitrary text', () => {
    fc.assert(
      fc.property(fc.string({ maxLength: 60 }), fc.string({ maxLength: 20 }), (address, base) => {
        decodeVerp(address);
        decodeVerp(address, { base });
      }),
      { numRuns: 150 },
    );
  });
});
