// The byte writer behind metadata FETCH output: numbers, latin1 text and bytes land exactly as a string would encode them.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChunkWriter } from './chunk-writer.ts';

test('decimal numbers from 0 to 2^53 - 1', () => {
  const w = new ChunkWriter(16);
  const values = [0, 7, 9, 10, 99, 100, 4096, 21000, 2 ** 31, 2 ** 32 - 1, 2 ** 53 - 1];
  for (const v of values) {
    w.uint(v);
    w.latin1(' ');
  }
  assert.equal(w.take().toString('latin1'), values.map((v) => `${v} `).join(''));
});

test('short and long latin1 text, bytes, and a chunk that grows past its capacity', () => {
  const w = new ChunkWriter(8);
  const long = 'x\u00e9'.repeat(40) + '\u00ff';
  w.latin1('* 1 FETCH (');
  w.latin1(long);
  w.bytes(Buffer.from('\\Seen $Work'));
  w.bytes(Buffer.from('y'.repeat(100)));
  w.latin1(')\r\n');
  const expected = Buffer.concat([Buffer.from('* 1 FETCH (' + long, 'latin1'), Buffer.from('\\Seen $Work' + 'y'.repeat(100) + ')\r\n')]);
  assert.equal(w.length, expected.length);
  assert.deepEqual(w.take(), expected);
  // take() starts a new chunk: what follows does not overwrite the chunk handed out.
  w.latin1('next');
  assert.equal(w.take().toString(), 'next');
  assert.equal(w.length, 0);
});
