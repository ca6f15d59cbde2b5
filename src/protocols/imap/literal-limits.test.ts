/**
 * Literal bounds of the IMAP engine: before login only small literals (LOGIN arguments) are accepted, and an
 * APPEND that does not fit the server-wide in-flight budget gets NO [LIMIT] before any byte is sent; the
 * budget is given back when the APPEND completes or is dropped.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { InflightBudget } from '../../delivery/inflight-budget.ts';
import { MemoryBackend, TestClient } from './testing/memory-backend.ts';

function setup(budget?: InflightBudget): TestClient {
  const backend = new MemoryBackend();
  backend.addUser('alice@example.org', 'secret');
  return new TestClient(backend, { inflight: budget, limits: { preAuthLiteralBytes: 8192 } });
}

describe('IMAP literal limits', () => {
  it('refuses a 1 MB literal before login with BAD [TOOBIG] and no continuation, but takes LOGIN literals', async () => {
    const c = setup();
    await c.greet();
    assert.match(await c.send('a LOGIN {1000000}\r\n'), /^a BAD \[TOOBIG\]/);
    assert.equal(await c.send('b LOGIN {17}\r\n'), '+ Ready for literal data\r\n');
    assert.match(await c.send('alice@example.org secret\r\n'), /^b OK/);
  });

  it('answers NO [LIMIT] to an APPEND over the in-flight budget and takes it again once the budget is free', async () => {
    const budget = new InflightBudget(1000);
    const c = setup(budget);
    await c.greet();
    await c.login();
    assert.equal(budget.take(900), true);
    assert.match(await c.send('a APPEND INBOX {200}\r\n'), /^a NO \[LIMIT\]/);
    budget.give(900);
    const msg = 'Subject: x\r\n\r\nhello\r\n';
    assert.equal(await c.send(`b APPEND INBOX {${msg.length}}\r\n`), '+ Ready for literal data\r\n');
    assert.equal(budget.used, msg.length);
    assert.match(await c.send(`${msg}\r\n`), /^b OK \[APPENDUID/);
    assert.equal(budget.used, 0);
  });

  it('MULTIAPPEND takes each message from the budget and gives all of it back after the commit', async () => {
    const budget = new InflightBudget(10_000);
    const c = setup(budget);
    await c.greet();
    await c.login();
    const msg = 'Subject: y\r\n\r\nhi\r\n';
    assert.equal(await c.send(`m APPEND INBOX {${msg.length}}\r\n`), '+ Ready for literal data\r\n');
    assert.equal(await c.send(`${msg} {${msg.length}}\r\n`), '+ Ready for literal data\r\n');
    assert.equal(budget.used, 2 * msg.length);
    assert.match(await c.send(`${msg}\r\n`), /^m OK \[APPENDUID \d+ \d+:\d+\]/);
    assert.equal(budget.used, 0);
  });
});
