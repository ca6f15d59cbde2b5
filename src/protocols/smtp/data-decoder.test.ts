/**
 * Unit tests of the DATA reader (data-decoder.ts) and the BDAT bare-line-ending scanner: end of data,
 * dot-unstuffing, limits, every SMTP smuggling end-of-data variant, and a property test against a
 * plain reference model with the input split at arbitrary byte boundaries.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { BareLineEndingScanner, DataDecoder, type DataResult } from './data-decoder.ts';

interface Run extends DataResult {
  /** Bytes of the input that belong to the message (including the final "."+CRLF), or -1 when not ended. */
  consumed: number;
  body: Buffer;
}

/** Feeds `input` cut at `cuts` (sorted offsets) and stops at the end of data, like the session does. */
function decode(input: Buffer, cuts: number[] = [], limits = { maxLineBytes: 1000, maxMessageBytes: 1_000_000 }): Run {
  const written: Buffer[] = [];
  const decoder = new DataDecoder({ ...limits, write: (chunk) => written.push(Buffer.from(chunk)) });
  let start = 0;
  let consumed = -1;
  for (const end of [...cuts.filter((c) => c > 0 && c < input.length), input.length]) {
    if (end <= start) continue;
    const n = decoder.feed(input.subarray(start, end));
    if (n >= 0) {
      consumed = start + n;
      break;
    }
    start = end;
  }
  return { consumed, body: Buffer.concat(written), ...decoder.outcome };
}

const bytes = (s: string): Buffer => Buffer.from(s, 'latin1');

/** What RFC 5321 §4.1.1.4 / §4.5.2 and §2.3.8 say, written the slow and obvious way. */
function reference(input: Buffer, limits: { maxLineBytes: number; maxMessageBytes: number }): Run | null {
  // The CRLF of the DATA command itself precedes the message: "." on the first line ends it.
  const s = Buffer.concat([bytes('\r\n'), input]);
  const m = s.indexOf(bytes('\r\n.\r\n'));
  if (m < 0) return null;
  const raw = input.subarray(0, m); // ends with CRLF unless empty
  let bare = false;
  for (let i = 0; i < raw.length; i++) {
    if (raw[i] === 0x0d && raw[i + 1] !== 0x0a) bare = true;
    if (raw[i] === 0x0a && raw[i - 1] !== 0x0d) bare = true;
  }
  const lines: Buffer[] = [];
  for (let pos = 0; pos < raw.length; ) {
    const lf = raw.indexOf(0x0a, pos);
    lines.push(raw.subarray(pos, lf + 1));
    pos = lf + 1;
  }
  let lineTooLong = false;
  for (const line of lines) {
    const content = line.length - (line.length >= 2 && line[line.length - 2] === 0x0d ? 2 : 1);
    if (content + 2 > limits.maxLineBytes) lineTooLong = true;
  }
  const body = Buffer.concat(lines.map((l) => (l[0] === 0x2e ? l.subarray(1) : l)));
  return { consumed: m + 3, body, size: body.length, bareLineEnding: bare, lineTooLong, tooBig: body.length > limits.maxMessageBytes };
}

const SMUGGLING_ENDINGS = ['\n.\n', '\r.\r', '\n.\r\n', '\r\n.\n', '\r.\r\n', '\r\n.\r', '\n.\r'];

describe('DataDecoder', () => {
  it('ends at <CRLF>.<CRLF> and returns the bytes consumed, leaving the rest for the next command', () => {
    const input = bytes('Subject: t\r\n\r\nhello\r\n.\r\nQUIT\r\n');
    const run = decode(input);
    assert.equal(run.consumed, input.indexOf('QUIT'));
    assert.equal(run.body.toString('latin1'), 'Subject: t\r\n\r\nhello\r\n');
    assert.deepEqual([run.bareLineEnding, run.lineTooLong, run.tooBig, run.size], [false, false, false, 21]);
  });

  it('removes one leading dot of each line (RFC 5321 §4.5.2), exact bytes', () => {
    const run = decode(bytes('..first\r\n..\r\n...x\r\n a.\r\n.\r\n'));
    assert.equal(run.body.toString('latin1'), '.first\r\n.\r\n..x\r\n a.\r\n');
  });

  it('treats "." as the first line as the end of an empty message', () => {
    assert.deepEqual({ ...decode(bytes('.\r\nNOOP\r\n')), body: '' }, { consumed: 3, body: '', bareLineEnding: false, lineTooLong: false, tooBig: false, size: 0 });
  });

  it('passes 8-bit bytes through untouched', () => {
    const body = Buffer.from([0x48, 0xe9, 0xff, 0x80, 0x00, 0x0d, 0x0a]);
    const run = decode(Buffer.concat([body, bytes('.\r\n')]));
    assert.deepEqual(run.body, body);
    assert.equal(run.bareLineEnding, false);
  });

  it('needs more data (-1) until the terminator is complete, however the bytes are cut', () => {
    const input = bytes('a\r\n.\r\n');
    for (let cut = 1; cut < input.length; cut++) {
      const decoder = new DataDecoder({ maxLineBytes: 1000, maxMessageBytes: 100, write: () => undefined });
      assert.equal(decoder.feed(input.subarray(0, cut)), -1);
      assert.equal(decoder.feed(input.subarray(cut)), input.length - cut);
    }
  });

  it('flags a text line over the limit (RFC 5321 §4.5.3.1.6: 1000 octets with CRLF), not one at it', () => {
    assert.equal(decode(bytes(`${'x'.repeat(998)}\r\n.\r\n`)).lineTooLong, false);
    assert.equal(decode(bytes(`${'x'.repeat(999)}\r\n.\r\n`)).lineTooLong, true);
    // Also when the long line arrives in pieces, and memory stays bounded (the line is not kept).
    const long = decode(bytes(`${'x'.repeat(5000)}\r\nok\r\n.\r\n`), [10, 2000, 4000, 5001]);
    assert.equal(long.lineTooLong, true);
    assert.equal(long.consumed, 5009);
  });

  it('flags the message as too big once the unstuffed size passes the limit, and stops writing', () => {
    const run = decode(bytes('12345\r\n67890\r\n.\r\n'), [], { maxLineBytes: 1000, maxMessageBytes: 10 });
    assert.equal(run.tooBig, true);
    assert.equal(run.consumed, 17);
    assert.ok(run.body.length <= 10);
  });

  for (const ending of SMUGGLING_ENDINGS) {
    it(`does not end the message at ${JSON.stringify(ending)} and flags the bare line ending (SMTP smuggling)`, () => {
      const first = `Subject: one\r\n\r\nbody${ending}`;
      const smuggled = 'MAIL FROM:<evil@x.example>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSubject: forged\r\n\r\nevil\r\n.\r\n';
      const input = bytes(first + smuggled + 'QUIT\r\n');
      for (let cut = 0; cut <= input.length; cut++) {
        const run = decode(input, [cut]);
        assert.equal(run.consumed, input.length - 'QUIT\r\n'.length, `cut at ${cut}: ended early`);
        assert.equal(run.bareLineEnding, true, `cut at ${cut}: bare line ending missed`);
      }
    });
  }

  it('agrees with the reference model for any input cut anywhere (property)', () => {
    const alphabet = fc.constantFrom(...bytes('\r\n.ab\xe9'));
    fc.assert(
      fc.property(
        fc.array(alphabet, { maxLength: 60 }),
        fc.array(fc.nat(70), { maxLength: 6 }),
        fc.integer({ min: 4, max: 12 }),
        fc.integer({ min: 0, max: 40 }),
        (content, cuts, maxLineBytes, maxMessageBytes) => {
          // Always terminated at the end, so the message must end somewhere in it.
          const input = Buffer.concat([Buffer.from(content), bytes('\r\n.\r\n')]);
          const limits = { maxLineBytes, maxMessageBytes };
          const expected = reference(input, limits)!;
          const run = decode(input, [...cuts].sort((a, b) => a - b), limits);
          assert.equal(run.consumed, expected.consumed);
          assert.equal(run.bareLineEnding, expected.bareLineEnding);
          assert.equal(run.lineTooLong, expected.lineTooLong);
          if (!expected.lineTooLong) {
            // A line over the limit is not kept, so size and body are exact only without one.
            assert.equal(run.tooBig, expected.tooBig);
            if (!expected.tooBig) assert.deepEqual(run.body, expected.body);
          }
        },
      ),
      { numRuns: 3000 },
    );
  });
});

describe('BareLineEndingScanner (BDAT content)', () => {
  const scan = (...pieces: string[]): boolean => {
    const scanner = new BareLineEndingScanner();
    for (const p of pieces) scanner.scan(bytes(p));
    return scanner.finish();
  };

  it('accepts CRLF-only content, in any pieces', () => {
    assert.equal(scan('a\r\nb\r\n'), false);
    assert.equal(scan('a\r', '\nb\r', '\n'), false);
    assert.equal(scan(''), false);
  });

  it('finds a bare LF, a bare CR, a CR at a chunk edge not followed by LF, and a trailing CR', () => {
    assert.equal(scan('a\nb\r\n'), true);
    assert.equal(scan('a\rb\r\n'), true);
    assert.equal(scan('a\r', 'b\r\n'), true);
    assert.equal(scan('a\r\n', '\n'), true);
    assert.equal(scan('abc\r'), true);
  });
});
