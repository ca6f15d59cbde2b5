// SEARCH and SORT on the engine: search keys, ESEARCH return options, charsets, SORT criteria and
// the saved result `$` (SEARCHRES).
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP SEARCH and SORT', () => {
  it('searches by flags, headers, text, size and dates', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    assert.equal(await c.send('a SEARCH UNSEEN\r\n'), '* SEARCH 2\r\na OK SEARCH completed\r\n');
    assert.equal(await c.send('b SEARCH SUBJECT grüße\r\n'), '* SEARCH 2\r\nb OK SEARCH completed\r\n');
    assert.equal(await c.send('c UID SEARCH FROM bob BODY "second LINE"\r\n'), '* SEARCH 1\r\nc OK UID SEARCH completed\r\n');
    assert.equal(await c.send('d SEARCH OR SEEN LARGER 100000 SINCE 1-Jan-2024\r\n'), '* SEARCH 1\r\nd OK SEARCH completed\r\n');
    assert.equal(await c.send('e SEARCH NOT 1 TEXT "plain part"\r\n'), '* SEARCH 2\r\ne OK SEARCH completed\r\n');
    assert.equal(await c.send('f SEARCH RETURN (MIN MAX COUNT ALL) ALL\r\n'), '* ESEARCH (TAG "f") MIN 1 MAX 2 COUNT 2 ALL 1:2\r\nf OK SEARCH completed\r\n');
    const charset = parseTranscript(await c.send('g SEARCH CHARSET KOI8-R ALL\r\n')).tagged('g');
    assert.equal(charset.status, 'NO');
    assert.match(charset.code!, /^BADCHARSET/);
    assert.equal(parseTranscript(await c.send('h SEARCH FOO\r\n')).tagged('h').status, 'BAD');
  });

  it('sorts by subject and reverse size', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    assert.equal(await c.send('a SORT (SUBJECT) UTF-8 ALL\r\n'), '* SORT 2 1\r\na OK SORT completed\r\n');
    assert.equal(await c.send('b SORT (REVERSE SIZE) UTF-8 ALL\r\n'), '* SORT 2 1\r\nb OK SORT completed\r\n');
  });

  it('saves a search result and uses $ (SEARCHRES)', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    assert.equal(await c.send('a SEARCH RETURN (SAVE) UNSEEN\r\n'), 'a OK SEARCH completed\r\n');
    assert.equal(await c.send('b FETCH $ (UID)\r\n'), '* 2 FETCH (UID 2)\r\nb OK FETCH completed\r\n');
  });

  it('fetches and searches save dates, which a copy renews (SAVEDATE)', async () => {
    const { alice, selected } = twoMessages();
    alice.deliver('INBOX', 'Subject: old\r\n\r\nx\r\n', { internalDate: new Date('2020-05-06T07:08:09Z'), savedAt: new Date('2023-03-04T05:06:07Z') });
    const c = await selected();
    assert.equal(await c.send('a FETCH 3 (SAVEDATE INTERNALDATE)\r\n'), '* 3 FETCH (SAVEDATE "04-Mar-2023 05:06:07 +0000" INTERNALDATE "06-May-2020 07:08:09 +0000")\r\na OK FETCH completed\r\n');
    // The same item beside one that needs the message's bytes.
    assert.match(await c.send('b FETCH 3 (ENVELOPE SAVEDATE)\r\n'), /SAVEDATE "04-Mar-2023 05:06:07 \+0000"\)\r\nb OK/);
    assert.equal(await c.send('c SEARCH SAVEDON 4-Mar-2023\r\n'), '* SEARCH 3\r\nc OK SEARCH completed\r\n');
    assert.equal(await c.send('d SEARCH SAVEDBEFORE 5-Mar-2023\r\n'), '* SEARCH 3\r\nd OK SEARCH completed\r\n');
    assert.equal(await c.send('e SEARCH SAVEDSINCE 5-Mar-2023\r\n'), '* SEARCH 1 2\r\ne OK SEARCH completed\r\n');
    assert.equal(await c.send('f SEARCH SAVEDATESUPPORTED\r\n'), '* SEARCH 1 2 3\r\nf OK SEARCH completed\r\n');
    assert.equal(await c.send('g SEARCH SAVEDSINCE 5-Mar-2023 SUBJECT hello\r\n'), '* SEARCH 1\r\ng OK SEARCH completed\r\n');
    assert.equal(parseTranscript(await c.send('h SEARCH SAVEDON yesterday\r\n')).tagged('h').status, 'BAD');
    // RFC 8514 §3: a copy is saved in its new mailbox when it is copied, its internal date kept.
    await c.send('i COPY 3 Trash\r\n');
    await c.send('j SELECT Trash\r\n');
    const today = new Date().toUTCString().slice(5, 16).replace(/^0/, '').replace(/ /g, '-');
    assert.equal(await c.send(`k SEARCH SAVEDON ${today}\r\n`), '* SEARCH 1\r\nk OK SEARCH completed\r\n');
    assert.match(await c.send('l FETCH 1 (INTERNALDATE)\r\n'), /06-May-2020/);
    assert.match(await c.send('m CAPABILITY\r\n'), / SAVEDATE/);
  });

  it('keeps a sorted result up to date with positions (CONTEXT=SORT)', async () => {
    const { alice, selected } = twoMessages();
    const c = await selected();
    // Subjects: 1 "Hello there", 2 "Grüße"; sorted by subject: 2, 1.
    assert.equal(await c.send('a UID SORT RETURN (UPDATE ALL) (SUBJECT) UTF-8 ALL\r\n'), '* ESEARCH (TAG "a") UID ALL 2,1\r\na OK UID SORT completed\r\n');
    alice.deliver('INBOX', 'Subject: Apples\r\n\r\nx\r\n');
    alice.deliver('INBOX', 'Subject: Zebra\r\n\r\nx\r\n');
    // The new messages join at their places: Apples first, Zebra last (after Grüße and Hello).
    assert.equal(await c.send('b NOOP\r\n'), '* 4 EXISTS\r\n* 0 RECENT\r\n* ESEARCH (TAG "a") UID ADDTO (1 3 4 4)\r\nb OK NOOP completed\r\n');
    // An expunged message leaves from its position, before the EXPUNGE.
    await c.send('c STORE 1 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await c.send('d EXPUNGE\r\n'), '* ESEARCH (TAG "a") UID REMOVEFROM (3 1)\r\n* 1 EXPUNGE\r\nd OK EXPUNGE completed\r\n');
    // In sequence numbers, and for flag changes that move a message in or out of the result.
    assert.equal(await c.send('e SORT RETURN (UPDATE COUNT) (REVERSE SUBJECT) UTF-8 UNFLAGGED\r\n'), '* ESEARCH (TAG "e") COUNT 3\r\ne OK SORT completed\r\n');
    assert.equal(await c.send('f STORE 1 +FLAGS.SILENT (\\Flagged)\r\n'), '* ESEARCH (TAG "e") REMOVEFROM (2 1)\r\nf OK STORE completed\r\n');
    assert.equal(await c.send('g STORE 1 -FLAGS.SILENT (\\Flagged)\r\n'), '* ESEARCH (TAG "e") ADDTO (2 1)\r\ng OK STORE completed\r\n');
    assert.equal(await c.send('h CANCELUPDATE "a" "e"\r\n'), 'h OK CANCELUPDATE completed\r\n');
    assert.match(await c.send('i CAPABILITY\r\n'), / CONTEXT=SORT /);
  });
});
