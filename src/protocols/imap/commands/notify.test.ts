// NOTIFY (RFC 5465) on the engine: NOTIFY SET with STATUS answers the current STATUS of the mailboxes a
// group covers; changes made by another session are pushed without a command (STATUS for other
// mailboxes, EXISTS and the asked FETCH attributes for the selected one); NOTIFY NONE stops them; and
// the error cases (BADEVENT, fetch attributes outside SELECTED, MessageNew without MessageExpunge).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

const tick = (): Promise<void> => new Promise((r) => setTimeout(r, 20));

describe('IMAP NOTIFY', () => {
  it('sends the STATUS the events ask for at NOTIFY SET STATUS', async () => {
    const { alice, loggedIn } = twoMessages();
    alice.deliver('Sent', 'Subject: s\r\n\r\nx\r\n');
    const c = await loggedIn();
    const r = await c.send('a NOTIFY SET STATUS (MAILBOXES Sent (MessageNew MessageExpunge))\r\n');
    assert.match(r, /^\* STATUS "Sent" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)\r\na OK NOTIFY completed\r\n$/);
    assert.match(await c.send('b NOTIFY SET STATUS (SUBTREE Sent (FlagChange))\r\n'), /^\* STATUS "Sent" \(UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)\r\nb OK/);
    assert.equal(await c.send('c NOTIFY SET (MAILBOXES Sent (MessageNew MessageExpunge FlagChange))\r\n'), 'c OK NOTIFY completed\r\n');
    assert.match(await c.send('d CAPABILITY\r\n'), / NOTIFY /);
  });

  it('pushes other mailboxes\' changes as STATUS and the selected mailbox\'s as EXISTS and FETCH, between commands', async () => {
    const { alice, selected } = twoMessages();
    const c = await selected();
    await c.send('a NOTIFY SET (SELECTED (MessageNew (UID FLAGS) MessageExpunge)) (PERSONAL (MessageNew MessageExpunge FlagChange))\r\n');
    alice.deliver('Trash', 'Subject: t\r\n\r\nx\r\n');
    await tick();
    assert.match(c.pushed.join(''), /^\* STATUS "Trash" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)\r\n$/);
    c.pushed.length = 0;
    alice.deliver('INBOX', 'Subject: n\r\n\r\nx\r\n', { flags: ['\\Flagged'] });
    await tick();
    assert.equal(c.pushed.join(''), '* 3 EXISTS\r\n* 0 RECENT\r\n* 3 FETCH (UID 3 FLAGS (\\Flagged))\r\n');
    c.pushed.length = 0;
    await alice.storeFlags(alice.byName('Trash')!.id, [1], 'add', ['\\Seen']);
    await tick();
    assert.match(c.pushed.join(''), /^\* STATUS "Trash" \(UIDVALIDITY \d+ HIGHESTMODSEQ \d+\)\r\n$/);
    c.pushed.length = 0;
    assert.equal(await c.send('b NOTIFY NONE\r\n'), 'b OK NOTIFY completed\r\n');
    alice.deliver('Trash', 'Subject: t2\r\n\r\nx\r\n');
    await tick();
    assert.deepEqual(c.pushed, []);
  });

  it('refuses what RFC 5465 refuses', async () => {
    const { loggedIn } = twoMessages();
    const c = await loggedIn();
    const r = parseTranscript(await c.send('a NOTIFY SET (PERSONAL (MessageNew MessageExpunge AnnotationChange))\r\n')).tagged('a');
    assert.deepEqual([r.status, r.code], ['NO', 'BADEVENT (MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange)']);
    for (const cmd of [
      'NOTIFY SET (PERSONAL (MessageNew (UID) MessageExpunge))',
      'NOTIFY SET (SELECTED (MessageNew))',
      'NOTIFY SET (SELECTED (FlagChange))',
      'NOTIFY SET (SELECTED NONE) (SELECTED-DELAYED NONE)',
      'NOTIFY SET (NOWHERE (MessageNew))',
      'NOTIFY SET',
      'NOTIFY MAYBE',
      'NOTIFY SET (SUBTREE (MessageNew))',
    ]) {
      assert.equal(parseTranscript(await c.send(`x ${cmd}\r\n`)).tagged('x').status, 'BAD', cmd);
    }
  });
});
