import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { replayCorpus } from './replay.ts';
import { checkPop3Output, pop3Target, runPop3 } from './targets/pop3.ts';

describe('fuzz: POP3 engine', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(pop3Target)) > 0);
  });

  it('keeps its reply grammar and releases the lock for command soup after login, in any chunking', async () => {
    const words = fc.constantFrom(...pop3Target.dictionary);
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(words, words, fc.string({ maxLength: 12 })), { maxLength: 30 }), fc.integer({ min: 1, max: 64 }), async (pieces, size) => {
        const all = Buffer.from('USER alice@example.org\r\nPASS secret pass\r\n' + pieces.join(''), 'latin1');
        const chunks: Buffer[] = [];
        for (let i = 0; i < all.length; i += size) chunks.push(all.subarray(i, i + size));
        await runPop3(chunks);
      }),
      { numRuns: 150 },
    );
  });

  it('the output checker rejects what a client could not parse', () => {
    assert.throws(() => checkPop3Output(Buffer.from('+OK 1 octets\r\n.x\r\n.\r\n')), /unstuffed/);
    assert.throws(() => checkPop3Output(Buffer.from('+OK\r\nhello\r\n')), /terminating/);
    assert.throws(() => checkPop3Output(Buffer.from('OK\r\n')), /status line/);
    assert.throws(() => checkPop3Output(Buffer.from('+OK a\nb\r\n')), /bare CR or LF/);
    checkPop3Output(Buffer.from('+OK 2 messages\r\n1 10\r\n..x\r\n.\r\n-ERR no\r\n+ \r\n'));
  });
});
