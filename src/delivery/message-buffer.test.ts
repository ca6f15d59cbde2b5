/**
 * Unit tests of MessageBuffer: the header section is found wherever the chunks split it and only the body
 * reaches the transaction; header bombs and a spent in-flight budget stop the buffering at once.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeliveryTransaction } from '../store/types.ts';
import { InflightBudget } from './inflight-budget.ts';
import { MessageBuffer } from './message-buffer.ts';

function sinkTx(): DeliveryTransaction & { written: Buffer[]; aborted: boolean } {
  const written: Buffer[] = [];
  return {
    written,
    aborted: false,
    size: 0,
    write(chunk) {
      written.push(chunk);
    },
    spooled: () => ({ data: Buffer.concat(written) }),
    commit: () => Promise.reject(new Error('not used')),
    abort() {
      this.aborted = true;
    },
  };
}

const LIMITS = { maxBytes: 1024 * 1024, maxLines: 10_000 };

function feed(message: string, cuts: number[], limits = LIMITS, budget?: InflightBudget): MessageBuffer {
  const buffer = new MessageBuffer({ tx: sinkTx(), limits, budget });
  const bytes = Buffer.from(message, 'latin1');
  let start = 0;
  for (const end of [...cuts, bytes.length]) {
    buffer.write(bytes.subarray(start, end));
    start = end;
  }
  return buffer;
}

describe('MessageBuffer', () => {
  const message = 'Received: a\r\nSubject: hi\r\n\r\nbody line\r\nReceived: not a header\r\n';
  const header = 'Received: a\r\nSubject: hi\r\n\r\n';

  it('splits header section and body for every way of cutting the message into chunks', () => {
    for (let a = 0; a <= message.length; a++) {
      for (let b = a; b <= message.length; b += 3) {
        const buffer = feed(message, [a, b]);
        assert.equal(buffer.headerText(), header, `cuts ${a}, ${b}`);
        assert.equal((buffer.tx.spooled() as { data: Buffer }).data.toString(), 'body line\r\nReceived: not a header\r\n', `cuts ${a}, ${b}`);
      }
    }
  });

  it('takes the whole message as header when it has no empty line, and an empty line alone when it starts with one', () => {
    assert.equal(feed('Subject: no end\r\nX: y', [5]).headerText(), 'Subject: no end\r\nX: y');
    const empty = feed('\r\nbody only', [1]);
    assert.equal(empty.headerText(), '\r\n');
    assert.equal((empty.tx.spooled() as { data: Buffer }).data.toString(), 'body only');
  });

  it('refuses a header section over the size limit and stops holding it', () => {
    const buffer = feed(`Subject: ${'x'.repeat(5000)}\r\n\r\nbody\r\n`, [100, 2000], { maxBytes: 4096, maxLines: 100 });
    assert.equal(buffer.problem, 'header-size');
    assert.equal(buffer.headerText(), '');
    assert.equal((buffer.tx as ReturnType<typeof sinkTx>).aborted, true);
  });

  it('refuses a folded header over the line limit (a folded Subject of 200,000 lines)', () => {
    const bomb = 'Subject: a\r\n' + ' b\r\n'.repeat(200_000) + '\r\nbody\r\n';
    const buffer = feed(bomb, [65536, 131072, 196608], { maxBytes: 1024 * 1024, maxLines: 10_000 });
    assert.equal(buffer.problem, 'header-lines');
    assert.equal(feed('Subject: a\r\n' + ' b\r\n'.repeat(98) + '\r\nbody\r\n', [], { maxBytes: 4096, maxLines: 99 }).problem, null);
  });

  it('refuses once the in-flight budget is spent and gives its bytes back when released', () => {
    const budget = new InflightBudget(100);
    const first = feed('Subject: a\r\n\r\n' + 'x'.repeat(60), [20], LIMITS, budget);
    assert.equal(first.problem, null);
    const second = feed('Subject: b\r\n\r\n' + 'y'.repeat(60), [20], LIMITS, budget);
    assert.equal(second.problem, 'budget');
    assert.equal(budget.used, first.size);
    first.release();
    assert.equal(budget.used, 0);
  });
});
