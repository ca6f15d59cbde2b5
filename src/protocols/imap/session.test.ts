// The session as a whole on the engine: responses stay in order when commands are pipelined behind a
// deferred FETCH, and LOGOUT after them closes. Each command family has its own file under commands/.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { twoMessages } from './testing/fixtures.ts';

describe('IMAP session: pipelining', () => {
  it('keeps responses in order when commands are pipelined behind a FETCH', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    const r = await c.send('a FETCH 1:2 (UID)\r\nb STORE 1 +FLAGS (\\Answered)\r\nc NOOP\r\n');
    assert.equal(r, '* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\na OK FETCH completed\r\n* 1 FETCH (FLAGS (\\Seen \\Answered))\r\nb OK STORE completed\r\nc OK NOOP completed\r\n');
    assert.equal(await c.send('d FETCH 1 (UID)\r\ne LOGOUT\r\n'), '* 1 FETCH (UID 1)\r\nd OK FETCH completed\r\n* BYE Logging out\r\ne OK LOGOUT completed\r\n');
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(c.pushed, ['<close>']);
  });
});
