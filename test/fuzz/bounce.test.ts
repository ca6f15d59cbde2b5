import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { replayCorpus } from './replay.ts';
import { bounceTarget, checkBounce } from './targets/bounce.ts';

describe('fuzz: bounce parser', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(bounceTarget)) > 0);
  });

  it('never throws on mixtures of report fragments', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...bounceTarget.dictionary), fc.string({ maxLength: 8 })), { maxLength: 40 }), (tokens) => {
        checkBounce(tokens.join(''));
      }),
      { numRuns: 150 },
    );
  });

  // Found by this harness: quadratic regular expressions in src/queue/bounce-parse.ts (since made linear).
  // Anyone can send a message to a bounce address, so each of these inputs is a CPU-exhaustion vector.
  const n = 16 * 1024; // a linear parser reads 16 KiB in about a millisecond; 50 ms leaves room for a busy CI core
  const quadratic: [string, string][] = [
    ['Postfix recipient pattern, "<" + "a@" repeated', 'S: x\n\nThis is the mail system at host x\n\n<' + 'a@'.repeat(n / 2)],
    ['generic pattern, "550 <a@a " repeated', 'S: x\n\n' + '550 <a@a '.repeat(n / 9)],
    ['delivery-status pattern, the content-type line repeated', 'Content-Type: message/delivery-status\n'.repeat(n / 39)],
  ];
  for (const [name, input] of quadratic) {
    it(`stays within 50 ms on a 16 KiB hostile report: ${name}`, () => {
      checkBounce(input, 50);
    });
  }
});
