// IDLE on the engine (RFC 2177): changes are pushed while idling, DONE ends it, anything else is BAD.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SIMPLE, twoMessages } from '../testing/fixtures.ts';

describe('IMAP IDLE', () => {
  it('pushes EXISTS and FETCH while idling, and ends with DONE', async () => {
    const { alice, selected } = twoMessages();
    const c = await selected();
    assert.equal(await c.send('i IDLE\r\n'), '+ idling\r\n');
    alice.deliver('INBOX', SIMPLE);
    await new Promise((r) => setTimeout(r, 10));
    assert.deepEqual(c.pushed, ['* 3 EXISTS\r\n* 0 RECENT\r\n']);
    await alice.storeFlags(alice.byName('INBOX')!.id, [3], 'add', ['\\Flagged']);
    await new Promise((r) => setTimeout(r, 10));
    assert.equal(c.pushed[1], '* 3 FETCH (UID 3 FLAGS (\\Flagged))\r\n');
    assert.equal(await c.send('DONE\r\n'), 'i OK IDLE terminated\r\n');
  });

  it('answers BAD to a line other than DONE and leaves IDLE', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    assert.equal(await c.send('i IDLE\r\n'), '+ idling\r\n');
    assert.equal(await c.send('x NOOP\r\n'), 'i BAD Expected DONE\r\n');
    assert.equal(await c.send('y NOOP\r\n'), 'y OK NOOP completed\r\n');
  });
});
