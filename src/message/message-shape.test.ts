import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { messageShapeProblem } from './message-shape.ts';

const shape = (text: string, complete = true) => messageShapeProblem(Buffer.from(text, 'latin1'), complete);

describe('messageShapeProblem (RFC 5322 §2.1)', () => {
  it('accepts header fields with folding, with or without a body, CRLF or LF', () => {
    assert.equal(shape('From: a@b.test\r\nSubject: hi\r\n  there\r\n\r\nbody'), null);
    assert.equal(shape('Subject: only a header'), null);
    assert.equal(shape('X-A:\nX-B: b\n\n'), null);
  });
  it('refuses text that is not a header section', () => {
    assert.match(shape('this is not an email')!, /not a header field/);
    assert.match(shape('')!, /empty/);
    assert.match(shape('\r\nbody only')!, /no header fields/);
    assert.match(shape(' folded first\r\n')!, /folded line/);
    assert.match(shape('From: a@b.test\r\nno colon here\r\n\r\n')!, /line 2/);
    assert.match(shape('Bad Name: x\r\n')!, /not a header field/);
  });
  it('numbers the bad line by lines, counting folded continuation lines', () => {
    assert.match(shape('Subject: a\r\n b\r\n c\r\nno colon here\r\n\r\n')!, /line 4 /);
  });
  it('leaves a line cut off by the end of a partial head to the rest of the message', () => {
    assert.equal(shape('From: a@b.test\r\nSubj', false), null);
    assert.match(shape('From: a@b.test\r\nSubj', true)!, /line 2/);
  });
});
