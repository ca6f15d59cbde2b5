// APPEND on the engine: synchronizing and LITERAL+ literals, APPENDUID after commit, TRYCREATE,
// APPENDLIMIT refused before the bytes, and a mailbox name sent as a literal.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { TestClient } from '../testing/memory-backend.ts';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP APPEND', () => {
  it('appends with a synchronizing literal and answers APPENDUID after commit', async () => {
    const { alice, loggedIn } = twoMessages();
    const c = await loggedIn();
    const msg = 'Subject: new\r\n\r\nbody\r\n';
    assert.equal(await c.send(`a APPEND INBOX (\\Seen) "05-Feb-2024 10:00:00 +0100" {${msg.length}}\r\n`), '+ Ready for literal data\r\n');
    const done = parseTranscript(await c.send(`${msg}\r\n`)).tagged('a');
    assert.equal(done.status, 'OK');
    assert.match(done.code!, /^APPENDUID \d+ 3$/);
    assert.equal(done.text, 'APPEND completed');
    const stored = alice.byName('INBOX')!.messages[2]!;
    assert.equal(stored.bytes.toString(), msg);
    assert.deepEqual(stored.flags, ['\\Seen']);
    assert.equal(stored.internalDate.toISOString(), '2024-02-05T09:00:00.000Z');
  });

  it('appends with LITERAL+ in one go', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    assert.match(await c.send('a APPEND Sent {7+}\r\nX: y\r\n\r\n\r\n'), /^a OK \[APPENDUID/);
    const missing = parseTranscript(await c.send('b APPEND Nowhere {7+}\r\nX: y\r\n\r\n\r\n')).tagged('b');
    assert.deepEqual([missing.status, missing.code], ['NO', 'TRYCREATE']);
  });

  it('refuses a literal above APPENDLIMIT before reading it', async () => {
    const { alice, backend } = twoMessages();
    const c = new TestClient(backend, { limits: { appendLimit: 100 } });
    await c.login();
    assert.equal(await c.send('a APPEND INBOX {101}\r\n'), 'a NO [TOOBIG] Message exceeds APPENDLIMIT 100\r\n');
    assert.equal(await c.send('b NOOP\r\n'), 'b OK NOOP completed\r\n');
    assert.equal(alice.byName('INBOX')!.messages.length, 2);
  });

  it('takes the mailbox name of APPEND as a literal and the message as the next one', async () => {
    const { alice, loggedIn } = twoMessages();
    const c = await loggedIn();
    assert.equal(await c.send('a APPEND {4}\r\n'), '+ Ready for literal data\r\n');
    assert.equal(await c.send('Sent {9}\r\n'), '+ Ready for literal data\r\n');
    assert.match(await c.send('X: 1\r\n\r\nb\r\n'), /^a OK \[APPENDUID \d+ 1\]/);
    assert.equal(alice.byName('Sent')!.messages[0]!.bytes.toString(), 'X: 1\r\n\r\nb');
  });
});
