import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DotStuffer, TopFilter, stuffedMessage } from './multiline.ts';
import { LineReader } from './line-reader.ts';

function stuffAll(chunks: string[]): string {
  const stuffer = new DotStuffer();
  const out = chunks.map((chunk) => stuffer.push(Buffer.from(chunk, 'latin1')).toString('latin1')).join('');
  return out + stuffer.end().toString('latin1');
}

const SAMPLE = '.starts\r\nmiddle.dot\r\n..two\r\n.\r\n\r\nlast';
const SAMPLE_STUFFED = '..starts\r\nmiddle.dot\r\n...two\r\n..\r\n\r\nlast\r\n.\r\n';

test('dot-stuffs every line that starts with "." and ends an unterminated message with CRLF.CRLF', () => {
  assert.equal(stuffAll([SAMPLE]), SAMPLE_STUFFED);
});

test('dot-stuffing gives the same bytes wherever the chunks are split (two and three pieces)', () => {
  for (let i = 0; i <= SAMPLE.length; i++) {
    assert.equal(stuffAll([SAMPLE.slice(0, i), SAMPLE.slice(i)]), SAMPLE_STUFFED, `split at ${i}`);
    for (let j = i; j <= SAMPLE.length; j++) {
      assert.equal(stuffAll([SAMPLE.slice(0, i), SAMPLE.slice(i, j), SAMPLE.slice(j)]), SAMPLE_STUFFED, `split at ${i},${j}`);
    }
  }
});

test('a message ending in CRLF gets just ".CRLF"; an empty message is only the terminator', () => {
  assert.equal(stuffAll(['a\r\n']), 'a\r\n.\r\n');
  assert.equal(stuffAll([]), '.\r\n');
  assert.equal(stuffAll(['a\r\n', '.']), 'a\r\n..\r\n.\r\n');
});

function topOf(message: string, lines: number, splitAt?: number): string {
  const filter = new TopFilter(lines);
  const chunks = splitAt === undefined ? [message] : [message.slice(0, splitAt), message.slice(splitAt)];
  let out = '';
  for (const chunk of chunks) {
    out += filter.push(Buffer.from(chunk)).toString();
    if (filter.done) break;
  }
  return out;
}

test('TOP keeps the header, the blank line and n body lines, wherever the chunks are split', () => {
  const message = 'A: 1\r\nB: 2\r\n\r\nline1\r\nline2\r\nline3\r\n';
  for (let i = 0; i <= message.length; i++) {
    assert.equal(topOf(message, 0, i), 'A: 1\r\nB: 2\r\n\r\n');
    assert.equal(topOf(message, 2, i), 'A: 1\r\nB: 2\r\n\r\nline1\r\nline2\r\n');
    assert.equal(topOf(message, 9, i), message);
  }
  assert.equal(topOf('A: 1\r\n', 0), 'A: 1\r\n', 'a message without a body is sent whole');
});

test('stuffedMessage answers the error line when the message cannot be read', async () => {
  const failing: AsyncIterable<Buffer> = {
    [Symbol.asyncIterator]: () => ({ next: () => Promise.reject(new Error('gone')) }),
  };
  const parts: string[] = [];
  for await (const part of stuffedMessage({ chunks: failing, okLine: '+OK\r\n', errLine: '-ERR gone\r\n' })) parts.push(part.toString());
  assert.deepEqual(parts, ['-ERR gone\r\n']);
});

test('line reader: CRLF and bare LF lines, split input, over-long lines cut and reported once', () => {
  const reader = new LineReader(10);
  assert.deepEqual(reader.push(Buffer.from('NOOP\r\nST')), [{ kind: 'line', line: 'NOOP' }]);
  assert.deepEqual(reader.push(Buffer.from('AT\nxxxxxxxx')), [{ kind: 'line', line: 'STAT' }]);
  assert.deepEqual(reader.push(Buffer.from('xxxxxxxx')), []);
  assert.deepEqual(reader.push(Buffer.from('yyy\r\nQUIT\r\n')), [{ kind: 'too-long' }, { kind: 'line', line: 'QUIT' }]);
  assert.deepEqual(reader.push(Buffer.from('12345678\r\n')), [{ kind: 'line', line: '12345678' }], '10 octets with CRLF is allowed');
  assert.deepEqual(reader.push(Buffer.from('123456789\r\n')), [{ kind: 'too-long' }]);
});

test('property: unstuffing what DotStuffer wrote gives back the message, for any chunking', async () => {
  const fc = await import('fast-check');
  const piece = fc.constantFrom('.', '..', '\r\n', '\n', 'a', ' ', '\r');
  fc.assert(
    fc.property(fc.array(piece, { maxLength: 40 }), fc.array(fc.nat(), { maxLength: 5 }), (pieces, cuts) => {
      const message = pieces.join('');
      const points = [...new Set(cuts.map((cut) => cut % (message.length + 1)))].sort((a, b) => a - b);
      const chunks: string[] = [];
      let from = 0;
      for (const point of points) {
        chunks.push(message.slice(from, point));
        from = point;
      }
      chunks.push(message.slice(from));
      const wire = stuffAll(chunks);
      const expectedBody = message === '' || message.endsWith('\n') ? message : `${message}\r\n`;
      assert.ok(wire.endsWith('.\r\n'));
      const body = wire.slice(0, -3);
      // RFC 1939 §3 unstuffing: drop the first "." of every line that starts with one.
      const unstuffed = body.split('\n').map((line) => (line.startsWith('.') ? line.slice(1) : line)).join('\n');
      assert.equal(unstuffed, expectedBody);
    }),
    { numRuns: 500 },
  );
});
