// COPY and MOVE on the engine: COPYUID (RFC 4315), the untagged COPYUID and EXPUNGE of MOVE
// (RFC 6851 §4.3), VANISHED under QRESYNC, and TRYCREATE for a missing destination.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP COPY and MOVE', () => {
  it('copies and moves with COPYUID', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    const copy = parseTranscript(await c.send('c COPY 1:2 Trash\r\n')).tagged('c');
    assert.equal(copy.status, 'OK');
    assert.match(copy.code!, /^COPYUID \d+ 1:2 1,2$/);
    assert.equal(copy.text, 'COPY completed');
    assert.match(await c.send('m UID MOVE 2 Sent\r\n'), /^\* OK \[COPYUID \d+ 2 1\] Moved\r\n\* 2 EXPUNGE\r\nm OK/);
    const missing = parseTranscript(await c.send('n COPY 1 Nowhere\r\n')).tagged('n');
    assert.deepEqual([missing.status, missing.code], ['NO', 'TRYCREATE']);
  });

  it('reports a MOVE as VANISHED under QRESYNC, and an empty set moves nothing', async () => {
    const { alice, loggedIn } = twoMessages();
    const c = await loggedIn();
    await c.send('e ENABLE QRESYNC\r\n');
    await c.send('s SELECT INBOX\r\n');
    const t = parseTranscript(await c.send('m MOVE 1:2 Trash\r\n'));
    assert.deepEqual(t.data('VANISHED'), ['1:2']);
    assert.deepEqual(t.data('EXPUNGE'), []);
    assert.equal(alice.byName('Trash')!.messages.length, 2);
    assert.equal(await c.send('u UID MOVE 7 Trash\r\n'), 'u OK UID MOVE completed\r\n');
  });
});
