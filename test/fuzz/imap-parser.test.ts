import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { replayCorpus } from './replay.ts';
import { imapParserTarget, PARSER_LIMITS, runImapParser } from './targets/imap-parser.ts';

describe('fuzz: IMAP command parser', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(imapParserTarget)) > 0);
  });

  it('lets only ImapSyntaxError escape and keeps buffers bounded for token soup in any chunking', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(fc.constantFrom(...imapParserTarget.dictionary), fc.string({ maxLength: 8 })), { maxLength: 40 }), fc.integer({ min: 1, max: 50 }), (pieces, size) => {
        const data = Buffer.from(pieces.join(''), 'utf8');
        const chunks: Buffer[] = [];
        for (let i = 0; i < data.length; i += size) chunks.push(data.subarray(i, i + size));
        runImapParser(chunks);
      }),
      { numRuns: 200 },
    );
  });

  it('refuses a synchronizing literal above the limit before reading any of it', () => {
    fc.assert(
      fc.property(fc.integer({ min: PARSER_LIMITS.maxLiteralBytes + 1, max: 999_999_999_999 }), fc.stringMatching(/^[A-Za-z0-9]{1,8}$/), (size, tag) => {
        // The client must not send the literal after a refusal: what follows is the next command.
        const run = runImapParser([Buffer.from(`${tag} LOGIN {${size}}\r\n${tag}2 NOOP\r\n`)]);
        assert.equal(run.announcements.length, 1);
        assert.deepEqual(run.events.map((e) => e.kind), ['response', 'command']);
        assert.deepEqual(run.commands, [{ tag: `${tag}2`, verb: 'NOOP' }]);
      }),
      { numRuns: 100 },
    );
  });

  it('bounds nesting: deep lists and sections are syntax errors, not stack overflows', () => {
    for (const depth of [PARSER_LIMITS.maxDepth + 1, 500, 100_000]) {
      const deep = `a STORE 1 FLAGS ${'('.repeat(depth)}x${')'.repeat(depth)}`;
      const run = runImapParser([Buffer.from(deep.slice(0, PARSER_LIMITS.maxLineBytes - 2) + '\r\n')]);
      assert.equal(run.commands.length + run.syntaxErrors + run.events.filter((e) => e.kind === 'response').length, 1);
      assert.equal(run.commands.length, 0, `depth ${depth} was accepted`);
    }
    const ok = runImapParser([Buffer.from(`a STORE 1 FLAGS ${'('.repeat(PARSER_LIMITS.maxDepth)}x${')'.repeat(PARSER_LIMITS.maxDepth)}\r\n`)]);
    assert.equal(ok.commands.length, 1, 'nesting up to the limit is accepted');
  });
});
