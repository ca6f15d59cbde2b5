// SELECT, EXAMINE and EXPUNGE on the engine: what SELECT reports, read-only mailboxes, QRESYNC
// resynchronisation, and how expunges reach this and other sessions (EXPUNGE, VANISHED, UID EXPUNGE).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../testing/memory-backend.ts';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP SELECT and EXAMINE', () => {
  it('SELECT reports EXISTS, flags, UIDVALIDITY and UIDNEXT', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    const t = parseTranscript(await c.send('s SELECT inbox\r\n'));
    assert.deepEqual(t.data('EXISTS'), ['2']);
    assert.deepEqual(t.data('FLAGS'), ['(\\Answered \\Flagged \\Deleted \\Seen \\Draft)']);
    const codes = t.codes();
    assert.ok(codes.some((code) => /^UIDVALIDITY \d+$/.test(code)));
    assert.ok(codes.includes('UIDNEXT 3'));
    assert.ok(codes.includes('UNSEEN 2'));
    assert.equal(t.tagged('s').code, 'READ-WRITE');
    const missing = parseTranscript(await c.send('x SELECT Nope\r\n')).tagged('x');
    assert.deepEqual([missing.status, missing.code], ['NO', 'NONEXISTENT']);
  });

  it('rejects EXPUNGE, STORE and MOVE in a mailbox opened with EXAMINE', async () => {
    const { alice, loggedIn } = twoMessages();
    const c = await loggedIn();
    assert.equal(parseTranscript(await c.send('x EXAMINE INBOX\r\n')).tagged('x').code, 'READ-ONLY');
    assert.deepEqual(pick(await c.send('a STORE 1 +FLAGS (\\Deleted)\r\n'), 'a'), ['NO', 'READ-ONLY']);
    assert.deepEqual(pick(await c.send('b EXPUNGE\r\n'), 'b'), ['NO', 'READ-ONLY']);
    assert.deepEqual(pick(await c.send('m MOVE 1 Trash\r\n'), 'm'), ['NO', 'READ-ONLY']);
    // BODY[] in a read-only mailbox does not set \Seen.
    await c.send('c FETCH 2 BODY[]\r\n');
    assert.deepEqual(alice.byName('INBOX')!.messages[1]!.flags, []);
  });

  it('resynchronizes with SELECT (QRESYNC ...): VANISHED (EARLIER) and changed flags', async () => {
    const { alice, loggedIn } = twoMessages();
    const inbox = alice.byName('INBOX')!;
    const modseq = inbox.modSeq;
    await alice.storeFlags(inbox.id, [2], 'add', ['\\Answered']);
    await alice.expunge(inbox.id, [1]);
    const c = await loggedIn();
    await c.send('e ENABLE QRESYNC\r\n');
    const t = parseTranscript(await c.send(`s SELECT INBOX (QRESYNC (${inbox.uidValidity} ${modseq} 1:2))\r\n`));
    assert.deepEqual(t.data('VANISHED'), ['(EARLIER) 1']);
    const fetches = t.data('FETCH');
    assert.equal(fetches.length, 1);
    assert.match(fetches[0]!, /^1 \(UID 2 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)$/);
  });
});

describe('IMAP EXPUNGE', () => {
  it('expunges \\Deleted messages and tells the other session at its next command', async () => {
    const { selected } = twoMessages();
    const a = await selected();
    const b = await selected();
    await a.send('s STORE 1 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await a.send('e EXPUNGE\r\n'), '* 1 EXPUNGE\r\ne OK EXPUNGE completed\r\n');
    // Not during FETCH (RFC 9051 §7.5.1), but at NOOP.
    assert.equal(await b.send('f FETCH 2 (FLAGS)\r\n'), '* 2 FETCH (FLAGS ())\r\nf OK FETCH completed\r\n');
    assert.equal(await b.send('n NOOP\r\n'), '* 1 EXPUNGE\r\nn OK NOOP completed\r\n');
  });

  it('reports VANISHED instead of EXPUNGE under QRESYNC', async () => {
    const { backend } = twoMessages();
    const c = new TestClient(backend);
    await c.login();
    await c.send('e ENABLE QRESYNC\r\n');
    await c.send('s SELECT INBOX\r\n');
    await c.send('t STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await c.send('x EXPUNGE\r\n'), '* VANISHED 1:2\r\nx OK EXPUNGE completed\r\n');
  });

  it('expunges only the given UIDs with UID EXPUNGE', async () => {
    const { alice, selected } = twoMessages();
    const c = await selected();
    await c.send('s STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await c.send('e UID EXPUNGE 2\r\n'), '* 2 EXPUNGE\r\ne OK UID EXPUNGE completed\r\n');
    assert.deepEqual(alice.byName('INBOX')!.messages.map((m) => m.uid), [1]);
  });
});

function pick(text: string, tag: string): [string | undefined, string | undefined] {
  const r = parseTranscript(text).tagged(tag);
  return [r.status, r.code];
}
