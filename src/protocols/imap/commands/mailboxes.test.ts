// Mailbox commands on the engine: CREATE, LIST (with RETURN STATUS), RENAME, DELETE and STATUS, with
// modified UTF-7 names and UTF-8 names once IMAP4rev2 is enabled.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MULTI, SIMPLE, twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP mailbox commands', () => {
  it('creates, lists, renames and deletes mailboxes with modified UTF-7 names', async () => {
    const { alice, loggedIn } = twoMessages();
    const c = await loggedIn();
    assert.equal(await c.send('c CREATE "Entw&APw-rfe/Neu"\r\n'), 'c OK [MAILBOXID (M5)] CREATE completed\r\n');
    assert.ok(alice.byName('Entwürfe/Neu'));
    assert.ok(alice.byName('Entwürfe'));
    const list = parseTranscript(await c.send('l LIST "" "*"\r\n')).data('LIST');
    assert.ok(list.includes('(\\HasNoChildren) "/" "INBOX"'));
    assert.ok(list.includes('(\\HasChildren) "/" "Entw&APw-rfe"'));
    assert.ok(list.includes('(\\HasNoChildren \\Sent) "/" "Sent"'));
    assert.equal(parseTranscript(await c.send('c2 CREATE Sent\r\n')).tagged('c2').code, 'ALREADYEXISTS');
    assert.equal(await c.send('r RENAME "Entw&APw-rfe" Drafts2\r\n'), 'r OK RENAME completed\r\n');
    assert.ok(alice.byName('Drafts2/Neu'));
    assert.match(await c.send('l2 LIST "" "Drafts2/%" RETURN (STATUS (MESSAGES UIDNEXT))\r\n'), /\* LIST \(\\HasNoChildren\) "\/" "Drafts2\/Neu"\r\n\* STATUS "Drafts2\/Neu" \(MESSAGES 0 UIDNEXT 1\)/);
    assert.equal(await c.send('d DELETE Drafts2/Neu\r\n'), 'd OK DELETE completed\r\n');
    assert.equal(parseTranscript(await c.send('d2 DELETE INBOX\r\n')).tagged('d2').status, 'NO');
  });

  it('uses UTF-8 names once IMAP4rev2 is enabled', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    assert.equal(await c.send('e ENABLE IMAP4rev2\r\n'), '* ENABLED IMAP4rev2\r\ne OK ENABLE completed\r\n');
    await c.send('c CREATE Grüße\r\n');
    assert.match(await c.send('l LIST "" Gr*\r\n'), /"Grüße"/);
  });

  it('STATUS reports counts and size', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    const size = Buffer.byteLength(SIMPLE) + Buffer.byteLength(MULTI);
    const t = parseTranscript(await c.send('s STATUS INBOX (MESSAGES UNSEEN SIZE UIDNEXT)\r\n'));
    assert.deepEqual(t.data('STATUS'), [`"INBOX" (MESSAGES 2 UNSEEN 1 SIZE ${size} UIDNEXT 3)`]);
  });
});
