import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { replayCorpus } from './replay.ts';
import { assertBalancedImap } from './targets/checks.ts';
import { checkMessage, mimeTarget } from './targets/mime.ts';

/** A random MIME tree rendered as a message: nested multiparts, encapsulated messages, odd headers. */
const part: fc.Memo<string> = fc.memo((n) =>
  n <= 1
    ? fc.tuple(fc.constantFrom('text/plain; charset=utf-8', 'text/html', 'application/pdf; name="a b.pdf"', 'image/png', 'text/plain; charset*=utf-8\'\'%E2%82%AC'), fc.constantFrom('7bit', 'base64', 'quoted-printable', 'x-unknown'), fc.string({ maxLength: 40 }))
        .map(([type, enc, body]) => `Content-Type: ${type}\r\nContent-Transfer-Encoding: ${enc}\r\n\r\n${body}`)
    : fc.oneof(
        fc.tuple(fc.constantFrom('mixed', 'alternative', 'digest', 'related'), fc.array(part(n - 1), { minLength: 0, maxLength: 3 }), fc.nat(99)).map(
          ([sub, children, b]) => `Content-Type: multipart/${sub}; boundary="b${n}${b}"\r\n\r\npreamble\r\n${children.map((c) => `--b${n}${b}\r\n${c}\r\n`).join('')}--b${n}${b}--\r\nepilogue`,
        ),
        part(n - 1).map((inner) => `Content-Type: message/rfc822\r\n\r\nSubject: inner\r\nFrom: a@b.c\r\n${inner}`),
      ),
);

describe('fuzz: MIME tree, BODYSTRUCTURE, ENVELOPE, SEARCH text', () => {
  it('replays the committed corpus', async () => {
    assert.ok((await replayCorpus(mimeTarget)) > 0);
  });

  it('gives ordered in-buffer offsets and balanced BODYSTRUCTURE for generated trees, also cut or corrupted', () => {
    fc.assert(
      fc.property(part(4), fc.nat(), fc.uint8Array({ maxLength: 4 }), (message, cut, junk) => {
        const full = Buffer.from(`From: "A" <a@example.org>\r\nSubject: t\r\nMIME-Version: 1.0\r\n${message}`);
        checkMessage(full);
        checkMessage(full.subarray(0, cut % (full.length + 1)));
        const at = cut % (full.length + 1);
        checkMessage(Buffer.concat([full.subarray(0, at), Buffer.from(junk), full.subarray(at)]));
        checkMessage(Buffer.from(full.toString().replace(/\r\n/g, '\n')));
      }),
      { numRuns: 80 },
    );
  });

  it('stays linear for deep nesting and many parts (hostile shapes)', () => {
    checkMessage(Buffer.from(Array.from({ length: 100 }, (_, i) => `Content-Type: multipart/mixed; boundary=b${i}\r\n\r\n--b${i}\r\n`).join('')));
    checkMessage(Buffer.from('Content-Type: multipart/mixed; boundary=b\r\n\r\n' + '--b\r\n\r\n'.repeat(600)), { maxParts: 500 });
    checkMessage(Buffer.from('Content-Type: text/plain;' + Array.from({ length: 500 }, (_, i) => ` name*${i}*=x;`).join('') + '\r\n\r\nx'));
    checkMessage(Buffer.from('Content-Type: message/rfc822\r\n\r\n'.repeat(100)));
  });

  it('the IMAP balance checker catches what a client could not parse', () => {
    assert.throws(() => assertBalancedImap('("a" (NIL)', 'x'), /unbalanced/);
    assert.throws(() => assertBalancedImap('("a)")) ', 'x'), /without/);
    assert.throws(() => assertBalancedImap('{5}\r\nab', 'x'), /past the end/);
    assert.throws(() => assertBalancedImap('("a\r\n")', 'x'), /quoted/);
    assertBalancedImap('("a\\"(" {3}\r\n))) NIL)', 'x');
  });
});
