/**
 * Unit tests of MessageBuffer's header view: the header section is found wherever the chunks split it,
 * and body chunks after it are not kept for header checks.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeliveryTransaction } from '../store/types.ts';
import { MessageBuffer } from './message-buffer.ts';

function sinkTx(): DeliveryTransaction & { written: Buffer[] } {
  const written: Buffer[] = [];
  return {
    written,
    size: 0,
    write(chunk) {
      written.push(chunk);
    },
    commit: () => Promise.reject(new Error('not used')),
    abort() {},
  };
}

function feed(message: string, cuts: number[]): MessageBuffer {
  const buffer = new MessageBuffer({ tx: sinkTx(), inspect: false });
  const bytes = Buffer.from(message, 'latin1');
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    buffer.write(bytes.subarray(start, end));
    start = end;
  }
  return buffer;
}

describe('MessageBuffer.header', () => {
  const message = 'Received: a\r\nSubject: hi\r\n\r\nbody line\r\nReceived: not a header\r\n';
  const header = 'Received: a\r\nSubject: hi\r\n';

  it('returns the header section for every way of splitting the message into chunks', () => {
    for (let a = 0; a <= message.length; a++) {
      for (let b = a; b <= message.length; b += 3) {
        assert.equal(feed(message, [a, b]).header(), header, `cuts ${a}, ${b}`);
      }
    }
  });

  it('finds the end split over three chunks, one of them a single byte', () => {
    const at = message.indexOf('\r\n\r\n');
    assert.equal(feed(message, [at + 1, at + 2]).header(), header);
    assert.equal(feed(message, [at + 2, at + 3]).header(), header);
  });

  it('returns the whole head when the header section does not end, and nothing for an empty one', () => {
    assert.equal(feed('Subject: no end\r\nX: y', [5]).header(), 'Subject: no end\r\nX: y');
    assert.equal(feed('\r\nbody only', [1]).header(), '');
  });

  it('passes every byte on to the transaction whatever it keeps for the header', () => {
    const tx = sinkTx();
    const buffer = new MessageBuffer({ tx, inspect: false });
    for (const part of ['Subject: x\r\n', '\r\nbody\r\n', 'more\r\n']) buffer.write(Buffer.from(part));
    assert.equal(Buffer.concat(tx.written).toString(), 'Subject: x\r\n\r\nbody\r\nmore\r\n');
    assert.equal(buffer.header(), 'Subject: x\r\n');
  });
});
