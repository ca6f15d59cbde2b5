// STORE on the engine: FETCH answers unless .SILENT, new keywords announced in FLAGS first,
// UNCHANGEDSINCE and [MODIFIED], CONDSTORE MODSEQ, and no echo of the session's own change.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP STORE', () => {
  it('stores flags and answers with FETCH unless .SILENT', async () => {
    const { alice, selected } = twoMessages();
    const c = await selected();
    assert.equal(await c.send('s STORE 2 +FLAGS (\\Flagged $Work)\r\n'), '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted\r\n* 2 FETCH (FLAGS (\\Flagged $Work))\r\ns OK STORE completed\r\n');
    assert.equal(await c.send('t UID STORE 1:* -FLAGS.SILENT (\\Seen)\r\n'), 't OK UID STORE completed\r\n');
    assert.deepEqual(alice.byName('INBOX')!.messages.map((m) => m.flags), [[], ['\\Flagged', '$Work']]);
  });

  it('refuses a store with UNCHANGEDSINCE older than the message with [MODIFIED]', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    const r = parseTranscript(await c.send('s STORE 1:2 (UNCHANGEDSINCE 2) +FLAGS (\\Answered)\r\n')).tagged('s');
    assert.deepEqual([r.status, r.code], ['OK', 'MODIFIED 2']);
  });

  it('supports CONDSTORE: MODSEQ, CHANGEDSINCE and MODSEQ search', async () => {
    const { alice, selected } = twoMessages();
    const c = await selected();
    const inbox = alice.byName('INBOX')!;
    const before = inbox.modSeq;
    await c.send('s STORE 2 +FLAGS.SILENT (\\Flagged)\r\n');
    const after = inbox.messages[1]!.modSeq;
    assert.equal(await c.send(`f FETCH 1:* (FLAGS) (CHANGEDSINCE ${before})\r\n`), `* OK [HIGHESTMODSEQ ${after}] Highest\r\n* 2 FETCH (FLAGS (\\Flagged) MODSEQ (${after}))\r\nf OK FETCH completed\r\n`);
    assert.equal(await c.send(`g SEARCH MODSEQ ${after}\r\n`), `* SEARCH 2 (MODSEQ ${after})\r\ng OK SEARCH completed\r\n`);
  });

  it('does not repeat its own flag change as an unsolicited FETCH', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    await c.send('a STORE 1 +FLAGS (\\Flagged)\r\n');
    assert.equal(await c.send('b NOOP\r\n'), 'b OK NOOP completed\r\n');
  });
});
