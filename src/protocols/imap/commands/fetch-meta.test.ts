import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend, TestClient, type MemoryAccount } from '../testing/memory-backend.ts';

let backend: MemoryBackend;
let alice: MemoryAccount;

/** 12 messages; UIDs 4, 5 and 9 expunged before the SELECT, so the session's UIDs are 1-3, 6-8, 10-12. */
beforeEach(async () => {
  backend = new MemoryBackend();
  alice = backend.addUser('alice@example.org', 'secret');
  for (let i = 1; i <= 12; i++) {
    alice.deliver('INBOX', `Subject: ${i}\r\n\r\n${'x'.repeat(i)}\r\n`, { flags: i % 3 === 0 ? ['\\Seen', '$Work'] : [], internalDate: new Date(Date.UTC(2024, 0, i, 10, 20, 30)) });
  }
  const inbox = alice.byName('INBOX')!;
  await alice.expunge(inbox.id, [4, 5, 9]);
});

async function selected(): Promise<TestClient> {
  const c = new TestClient(backend);
  await c.greet();
  await c.login();
  assert.match(await c.send('s SELECT INBOX\r\n'), /\* 9 EXISTS/);
  return c;
}

/** The untagged FETCH lines of a response, with `drop` (a regex) removed first. */
function fetchLines(text: string, drop?: RegExp): string[] {
  return (drop ? text.replace(drop, ')') : text).split('\r\n').filter((l) => l.startsWith('* '));
}

describe('IMAP metadata-only FETCH', () => {
  it('answers exactly like a FETCH that reads the message, across UID gaps', async () => {
    const c = await selected();
    const items = 'FLAGS INTERNALDATE RFC822.SIZE UID MODSEQ';
    // CONDSTORE on before comparing: the FETCH that first enables it also sends HIGHESTMODSEQ (RFC 7162 §3.1).
    await c.send('m FETCH 1 (MODSEQ)\r\n');
    for (const set of ['1:*', '2,4:6,9', '*', '3:2']) {
      const meta = await c.send(`a FETCH ${set} (${items})\r\n`);
      assert.match(meta, /a OK FETCH completed\r\n$/);
      // BODY.PEEK[HEADER.FIELDS ...] sends the message through the general path; its data is cut out.
      const full = await c.send(`b FETCH ${set} (${items} BODY.PEEK[HEADER.FIELDS (X-None)])\r\n`);
      assert.deepEqual(fetchLines(meta), fetchLines(full, / BODY\[HEADER\.FIELDS \(X-None\)\] \{2\}\r\n\r\n\)/g), set);
    }
    const lines = fetchLines(await c.send('u UID FETCH 3:10 (FLAGS)\r\n'));
    assert.deepEqual(lines, [
      '* 3 FETCH (UID 3 FLAGS (\\Seen $Work))',
      '* 4 FETCH (UID 6 FLAGS (\\Seen $Work))',
      '* 5 FETCH (UID 7 FLAGS ())',
      '* 6 FETCH (UID 8 FLAGS ())',
      '* 7 FETCH (UID 10 FLAGS ())',
    ]);
    assert.equal(
      fetchLines(await c.send('d FETCH 4 (INTERNALDATE RFC822.SIZE)\r\n'))[0],
      '* 4 FETCH (INTERNALDATE "06-Jan-2024 10:20:30 +0000" RFC822.SIZE 22)',
    );
  });

  it('answers a FETCH longer than one output chunk byte for byte like the general path', async () => {
    // Some 4,000 responses: the metadata path writes them in several chunks of bytes.
    for (let i = 0; i < 4000; i++) alice.deliver('INBOX', `Subject: n${i}\r\n\r\nx\r\n`, { flags: i % 4 === 0 ? ['\\Answered', '$Label1'] : i % 4 === 1 ? ['\\Seen'] : [] });
    const c = new TestClient(backend);
    await c.greet();
    await c.login();
    await c.send('s SELECT INBOX\r\n');
    const meta = await c.send('a FETCH 1:* (UID FLAGS RFC822.SIZE)\r\n');
    assert.ok(meta.length > 2 * 64 * 1024);
    const full = await c.send('b FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (X-None)])\r\n');
    assert.deepEqual(fetchLines(meta), fetchLines(full, / BODY\[HEADER\.FIELDS \(X-None\)\] \{2\}\r\n\r\n\)/g));
    assert.equal(fetchLines(meta).length, 4009);
  });

  it('skips messages another session expunged and says so with [EXPUNGEISSUED]', async () => {
    const c = await selected();
    const inbox = alice.byName('INBOX')!;
    await alice.expunge(inbox.id, [2, 7]);
    const r = await c.send('f FETCH 1:4 (UID)\r\n');
    assert.equal(r, '* 1 FETCH (UID 1)\r\n* 3 FETCH (UID 3)\r\n* 4 FETCH (UID 6)\r\nf OK [EXPUNGEISSUED] Some messages were expunged\r\n');
    // The expunges are reported at the next command that allows them (RFC 9051 §7.5.1).
    assert.match(await c.send('n NOOP\r\n'), /\* 5 EXPUNGE\r\n\* 2 EXPUNGE\r\n/);
  });

  it('answers BAD for a message number beyond EXISTS before sending anything', async () => {
    const c = await selected();
    assert.equal(await c.send('f FETCH 5:10 (FLAGS)\r\n'), 'f BAD Invalid message sequence number\r\n');
  });

  it('with CHANGEDSINCE returns only messages changed later, with MODSEQ', async () => {
    const c = await selected();
    const inbox = alice.byName('INBOX')!;
    const before = inbox.modSeq;
    await c.send('s STORE 8 +FLAGS.SILENT (\\Flagged)\r\n');
    const after = inbox.modSeq;
    assert.equal(await c.send(`f UID FETCH 1:* (FLAGS) (CHANGEDSINCE ${before})\r\n`), `* OK [HIGHESTMODSEQ ${after}] Highest\r\n* 8 FETCH (UID 11 FLAGS (\\Flagged) MODSEQ (${after}))\r\nf OK UID FETCH completed\r\n`);
  });
});

describe('IMAP EXPUNGE and CLOSE read flags as columns over UID gaps', () => {
  it('expunge exactly the messages with \\Deleted, among the given UIDs', async () => {
    const c = await selected();
    // Sequence 2 = UID 2, 4 = UID 6, 7 = UID 10, 9 = UID 12; a keyword named Deleted is not the flag.
    await c.send('s STORE 2,4,7,9 +FLAGS.SILENT (\\Deleted)\r\n');
    await c.send('k STORE 5 +FLAGS.SILENT (Deleted)\r\n');
    assert.equal(await c.send('u UID EXPUNGE 3:10\r\n'), '* 7 EXPUNGE\r\n* 4 EXPUNGE\r\nu OK UID EXPUNGE completed\r\n');
    assert.equal(await c.send('e EXPUNGE\r\n'), '* 7 EXPUNGE\r\n* 2 EXPUNGE\r\ne OK EXPUNGE completed\r\n');
    assert.deepEqual(alice.byName('INBOX')!.messages.map((m) => m.uid), [1, 3, 7, 8, 11]);
    await c.send('s STORE 1 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await c.send('c CLOSE\r\n'), 'c OK CLOSE completed\r\n');
    assert.deepEqual(alice.byName('INBOX')!.messages.map((m) => m.uid), [3, 7, 8, 11]);
  });
});

describe('IMAP metadata-only SEARCH reads columns over UID gaps', () => {
  it('finds what a search that reads the messages finds', async () => {
    const c = await selected();
    await c.send('s STORE 2,5 +FLAGS.SILENT (\\Flagged)\r\n');
    // CONDSTORE on before comparing: the search that first enables it also sends HIGHESTMODSEQ (RFC 7162 §3.1).
    await c.send('m FETCH 1 (MODSEQ)\r\n');
    const keys = ['UNSEEN', 'SEEN', 'KEYWORD $Work', 'UNKEYWORD $Work', 'LARGER 24', 'SMALLER 20', 'SINCE 7-Jan-2024', 'BEFORE 3-Jan-2024',
      'UID 3:10', '2:5', 'OR FLAGGED LARGER 27', 'NOT OR SEEN FLAGGED', 'MODSEQ 9', 'ALL'];
    for (const key of keys) {
      for (const verb of ['SEARCH', 'UID SEARCH']) {
        const meta = await c.send(`a ${verb} ${key}\r\n`);
        // BODY "" matches every message but makes the search read them.
        const full = await c.send(`a ${verb} ${key} BODY ""\r\n`);
        assert.equal(meta, full, `${verb} ${key}`);
      }
    }
    assert.equal(await c.send('u UID SEARCH UNSEEN\r\n'), '* SEARCH 1 2 7 8 10 11\r\nu OK UID SEARCH completed\r\n');
    assert.match(await c.send('s SORT (SIZE) UTF-8 UNSEEN\r\n'), /^\* SORT 1 2 5 6 7 8\r\n/);
    assert.match(await c.send('r SORT (REVERSE ARRIVAL) UTF-8 SEEN\r\n'), /^\* SORT 9 4 3\r\n/);
  });
});
