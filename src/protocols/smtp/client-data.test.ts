import { test } from 'node:test';
import assert from 'node:assert/strict';
import { DataEncoder, encodeData, hasEightBit } from './client-data.ts';

/** The rules byte by byte, as simply as they can be written: what the line-wise encoder must produce. */
function reference(body: Buffer): Buffer {
  const out: number[] = [];
  let atLineStart = true;
  for (let i = 0; i < body.length; i++) {
    const b = body[i]!;
    if (b === 0x0d || b === 0x0a) {
      // CRLF, a bare CR and a bare LF each end one line (RFC 5321 §2.3.8).
      if (b === 0x0d && body[i + 1] === 0x0a) i++;
      out.push(0x0d, 0x0a);
      atLineStart = true;
      continue;
    }
    if (atLineStart && b === 0x2e) out.push(0x2e); // RFC 5321 §4.5.2
    atLineStart = false;
    out.push(b);
  }
  if (!atLineStart) out.push(0x0d, 0x0a);
  out.push(0x2e, 0x0d, 0x0a);
  return Buffer.from(out);
}

function encodeInChunks(body: Buffer, cuts: number[]): Buffer {
  const enc = new DataEncoder();
  const parts: Buffer[] = [];
  let from = 0;
  for (const cut of [...cuts, body.length]) {
    parts.push(Buffer.from(enc.encode(body.subarray(from, cut))));
    from = cut;
  }
  parts.push(enc.end());
  return Buffer.concat(parts);
}

test('a body already in wire form is handed on as it is, without a copy', () => {
  const body = Buffer.from('Subject: x\r\n\r\nline one\r\nline two\r\n');
  const enc = new DataEncoder();
  const out = enc.encode(body);
  assert.equal(out.buffer, body.buffer, 'the same memory');
  assert.equal(out.byteOffset, body.byteOffset);
  assert.equal(out.length, body.length);
  assert.equal(enc.end().toString(), '.\r\n');
});

test('dot-stuffs lines starting with "." and turns bare CR and LF into CRLF, however the body is cut', () => {
  assert.equal(encodeData(Buffer.from('a\n.b\r\n..c\rd')).toString(), 'a\r\n..b\r\n...c\r\nd\r\n.\r\n');
  assert.equal(encodeData(Buffer.from('.\r\n')).toString(), '..\r\n.\r\n');
  assert.equal(encodeData(Buffer.from('x\r\r\n.')).toString(), 'x\r\n\r\n..\r\n.\r\n');
  assert.equal(encodeData(Buffer.from('')).toString(), '.\r\n');
  assert.equal(encodeInChunks(Buffer.from('a\r\n.b\r'), [3, 4, 6]).toString(), 'a\r\n..b\r\n.\r\n');
  assert.equal(encodeInChunks(Buffer.from('a\r\n.b'), [2]).toString(), 'a\r\n..b\r\n.\r\n');
  let seed = 7;
  const random = (n: number): number => {
    seed = (seed * 1103515245 + 12345) % 2147483648;
    return seed % n;
  };
  const alphabet = [0x61, 0x2e, 0x0d, 0x0a, 0x62, 0x2e];
  for (let round = 0; round < 3000; round++) {
    const body = Buffer.from(Array.from({ length: random(40) }, () => alphabet[random(alphabet.length)]!));
    const cuts = Array.from({ length: random(4) }, () => random(body.length + 1)).sort((a, b) => a - b);
    const expected = reference(body).toString('latin1');
    assert.equal(encodeData(body).toString('latin1'), expected, JSON.stringify(body.toString('latin1')));
    assert.equal(encodeInChunks(body, cuts).toString('latin1'), expected, `${JSON.stringify(body.toString('latin1'))} cut at ${cuts.join(',')}`);
  }
});

test('finds 8-bit octets anywhere in the body', () => {
  assert.equal(hasEightBit(Buffer.from('plain ascii\r\n')), false);
  assert.equal(hasEightBit(Buffer.concat([Buffer.alloc(100_000, 0x61), Buffer.from([0xc3])])), true);
});
