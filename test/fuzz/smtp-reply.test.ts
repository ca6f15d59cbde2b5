import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { ReplyParser } from '../../src/protocols/smtp/client-reply.ts';
import { replayCorpus } from './replay.ts';
import { checkReplyStream, smtpReplyTarget } from './targets/smtp-reply.ts';

describe('fuzz: SMTP client reply parser', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(smtpReplyTarget)) > 0);
  });

  it('does not depend on chunking and keeps replies bounded, for random bytes', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...smtpReplyTarget.dictionary), fc.string({ maxLength: 10 })), { maxLength: 40 }), fc.integer({ min: 1, max: 17 }), (pieces, size) => {
        const data = Buffer.from(pieces.join(''), 'latin1');
        const chunks: Buffer[] = [];
        for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
        checkReplyStream(data, chunks);
      }),
      { numRuns: 150 },
    );
  });

  it('reads back every well-formed multi-line reply it is given', () => {
    const line = fc.stringMatching(/^[ -~]{0,40}$/);
    fc.assert(
      fc.property(fc.integer({ min: 200, max: 559 }), fc.array(line, { minLength: 1, maxLength: 8 }), (code, lines) => {
        fc.pre(String(code)[1]! <= '5');
        const wire = lines.map((l, i) => `${code}${i === lines.length - 1 ? ' ' : '-'}${l}\r\n`).join('');
        const replies = new ReplyParser().feed(Buffer.from(wire));
        assert.equal(replies.length, 1);
        assert.equal(replies[0]!.code, code);
        if (replies[0]!.enhancedCode === null) assert.deepEqual(replies[0]!.lines, lines);
      }),
      { numRuns: 200 },
    );
  });
});
