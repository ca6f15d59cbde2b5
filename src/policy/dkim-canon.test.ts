/**
 * The streamed relaxed body hash (used for spooled bodies) equals the one of the whole body, however the
 * body is cut into chunks: lines, CRLFs and trailing empty lines split between chunks.
 */
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { describe, it } from 'node:test';
import { RelaxedBodyHash, relaxedBody } from './dkim-canon.ts';

const whole = (body: string) => createHash('sha256').update(relaxedBody(Buffer.from(body, 'latin1'))).digest('base64');

function streamed(body: string, cuts: number[]): string {
  const h = new RelaxedBodyHash();
  let start = 0;
  for (const end of [...cuts, body.length]) {
    h.update(Buffer.from(body.slice(start, end), 'latin1'));
    start = end;
  }
  return h.digest();
}

describe('RelaxedBodyHash', () => {
  const bodies = ['', '\r\n', '\r\n\r\n', 'a', 'a \t b  \r\n', 'line\r\n\r\n\r\n', 'x\r\n\r\n y \r\n\r\n', ' \t\r\n\r\nend', 'a\r\n \r\n\t\r\n'];
  it('matches relaxedBody for every cut of small bodies', () => {
    for (const body of bodies) {
      for (let a = 0; a <= body.length; a++) {
        for (let b = a; b <= body.length; b++) assert.equal(streamed(body, [a, b]), whole(body), `${JSON.stringify(body)} cut ${a},${b}`);
      }
    }
  });

  it('matches relaxedBody for a long body in 64 KiB chunks', () => {
    const body = Array.from({ length: 20000 }, (_, i) => (i % 7 === 0 ? '' : `line ${i}  with\t spaces `)).join('\r\n') + '\r\n\r\n';
    const cuts = [];
    for (let off = 65536; off < body.length; off += 65536) cuts.push(off);
    assert.equal(streamed(body, cuts), whole(body));
  });
});
