import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { replayCorpus } from './replay.ts';
import { DATA_FRAGMENTS, referenceSplit, runDataDifferential, runSmtpCommands, smtpSessionTarget } from './targets/smtp-session.ts';

/** Cuts `all` at the given fractions: any chunking a network could produce. */
function cutAt(fractions: number[]): (all: Buffer) => Buffer[] {
  return (all) => {
    const points = [...new Set(fractions.map((f) => Math.floor(f * all.length)))].sort((a, b) => a - b);
    const chunks: Buffer[] = [];
    let prev = 0;
    for (const p of [...points, all.length]) {
      if (p > prev) chunks.push(all.subarray(prev, p));
      prev = Math.max(prev, p);
    }
    return chunks;
  };
}

describe('fuzz: SMTP server engine', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(smtpSessionTarget)) > 0);
  });

  it('answers random command lines with reply lines only and never throws', async () => {
    const words = fc.constantFrom(...smtpSessionTarget.dictionary);
    const noise = fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b).toString('latin1'));
    await fc.assert(
      fc.asyncProperty(fc.array(fc.oneof(words, words, noise), { maxLength: 30 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 6 }), async (pieces, cuts) => {
        await runSmtpCommands(cutAt(cuts)(Buffer.from(pieces.join(''), 'latin1')));
      }),
      { numRuns: 100 },
    );
  });

  it('ends DATA exactly at the first CRLF.CRLF, refuses bare CR/LF, and delivers the unstuffed body (differential)', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...DATA_FRAGMENTS), { maxLength: 40 }), fc.array(fc.double({ min: 0, max: 1, noNaN: true }), { maxLength: 10 }), async (fragments, cuts) => {
        await runDataDifferential(Buffer.from(fragments.join(''), 'latin1'), cutAt(cuts));
      }),
      { numRuns: 200 },
    );
  });

  it('handles every smuggling end-of-data variant, whole and split byte by byte', async () => {
    const bytewise = (all: Buffer) => [...all].map((b) => Buffer.from([b]));
    for (const fake of ['\n.\n', '\r.\r', '\n.\r\n', '\r\n.\n', '\r\n.\r', '\r.\r\n', '\n..\r\n']) {
      const body = Buffer.from(`Subject: a\r\n\r\nx${fake}MAIL FROM:<evil@example.net>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nsmuggled\r\n`, 'latin1');
      await runDataDifferential(body, (all) => [all]);
      await runDataDifferential(body, bytewise);
    }
  });

  it('the reference splitter itself reads RFC 5321 as intended', () => {
    assert.deepEqual(referenceSplit(Buffer.from('.\r\n')), { end: 3, bareLineEnding: false, body: Buffer.alloc(0) });
    const r = referenceSplit(Buffer.from('a\r\n..b\r\n.\r\nNOOP\r\n'));
    assert.equal(r.body.toString(), 'a\r\n.b\r\n');
    assert.equal(r.end, 11);
    assert.equal(referenceSplit(Buffer.from('a\n.\nb\r\n.\r\n')).bareLineEnding, true);
    assert.equal(referenceSplit(Buffer.from('a\r\n.\r\nb\n')).bareLineEnding, false, 'what follows the end is not part of the message');
  });
});
