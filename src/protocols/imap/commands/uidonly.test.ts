// UIDONLY (RFC 9586) on the engine: once enabled, commands that take message numbers (and message numbers
// in a search program or in QRESYNC's sequence match data) are BAD [UIDREQUIRED]; FETCH responses become
// UIDFETCH with the UID in place of the number, for this session's fetches and stores and for other
// sessions' flag changes; expunges are reported as VANISHED, without QRESYNC.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

function status(text: string, tag: string): [string | undefined, string | undefined] {
  const r = parseTranscript(text).tagged(tag);
  return [r.status, r.code];
}

describe('IMAP UIDONLY', () => {
  it('is advertised and enabled', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    assert.match(await c.send('a CAPABILITY\r\n'), / UIDONLY[ \r]/);
    assert.equal(await c.send('b ENABLE UIDONLY\r\n'), '* ENABLED UIDONLY\r\nb OK ENABLE completed\r\n');
  });

  it('refuses message numbers with UIDREQUIRED', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    await c.send('e ENABLE QRESYNC UIDONLY\r\n');
    await c.send('s SELECT INBOX\r\n');
    for (const cmd of ['FETCH 1 FLAGS', 'STORE 1 +FLAGS (\\Seen)', 'SEARCH ALL', 'COPY 1 Trash', 'MOVE 1 Trash', 'SORT (ARRIVAL) UTF-8 ALL', 'THREAD REFERENCES UTF-8 ALL', 'UID SEARCH 1:2', 'UID SEARCH OR UID 1 NOT 2', 'UID SORT (SIZE) UTF-8 1']) {
      assert.deepEqual(status(await c.send(`x ${cmd}\r\n`), 'x'), ['BAD', 'UIDREQUIRED'], cmd);
    }
    assert.deepEqual(status(await c.send('q SELECT INBOX (QRESYNC (1 1 1:2 (1 1)))\r\n'), 'q'), ['BAD', 'UIDREQUIRED']);
    // UID forms and UID search keys work.
    assert.deepEqual(status(await c.send('s SELECT INBOX\r\n'), 's'), ['OK', 'READ-WRITE']);
    assert.equal(await c.send('u UID SEARCH UID 2\r\n'), '* SEARCH 2\r\nu OK UID SEARCH completed\r\n');
  });

  it('answers with UIDFETCH and VANISHED', async () => {
    const { alice, loggedIn } = twoMessages();
    const c = await loggedIn();
    await c.send('e ENABLE UIDONLY\r\n');
    await c.send('s SELECT INBOX\r\n');
    assert.equal(await c.send('a UID FETCH 1:* (FLAGS)\r\n'), '* 1 UIDFETCH (FLAGS (\\Seen))\r\n* 2 UIDFETCH (FLAGS ())\r\na OK UID FETCH completed\r\n');
    assert.equal(await c.send('b UID FETCH 2 (RFC822.SIZE ENVELOPE)\r\n').then((r) => r.slice(0, 30)), '* 2 UIDFETCH (RFC822.SIZE 310 ');
    assert.equal(await c.send('c UID STORE 2 +FLAGS (\\Flagged)\r\n'), '* 2 UIDFETCH (FLAGS (\\Flagged))\r\nc OK UID STORE completed\r\n');
    // Another session's change.
    await alice.storeFlags(alice.byName('INBOX')!.id, [1], 'add', ['\\Answered']);
    assert.equal(await c.send('d NOOP\r\n'), '* 1 UIDFETCH (FLAGS (\\Seen \\Answered))\r\nd OK NOOP completed\r\n');
    await c.send('f UID STORE 1 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await c.send('g EXPUNGE\r\n'), '* VANISHED 1\r\ng OK EXPUNGE completed\r\n');
    // Another session's expunge.
    await alice.expunge(alice.byName('INBOX')!.id, [2]);
    assert.equal(await c.send('h NOOP\r\n'), '* VANISHED 2\r\nh OK NOOP completed\r\n');
  });
});
