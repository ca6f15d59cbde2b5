import { describe, it, beforeEach } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend, TestClient, type MemoryAccount } from './testing/memory-backend.ts';

const SIMPLE = 'From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: Hello there\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\nMessage-ID: <1@example.net>\r\n\r\nFirst line\r\nSecond line\r\n';
const MULTI =
  'From: carol@example.com\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
  'preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain part\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gYmluYXJ5\r\n--b1--\r\n';

let backend: MemoryBackend;
let alice: MemoryAccount;

beforeEach(() => {
  backend = new MemoryBackend();
  alice = backend.addUser('alice@example.org', 'secret');
  alice.deliver('INBOX', SIMPLE, { flags: ['\\Seen'] });
  alice.deliver('INBOX', MULTI);
});

async function selected(): Promise<TestClient> {
  const c = new TestClient(backend);
  await c.greet();
  await c.login();
  const r = await c.send('s SELECT INBOX\r\n');
  assert.match(r, /s OK \[READ-WRITE\]/);
  return c;
}

describe('IMAP session: connection and authentication', () => {
  it('greets with capabilities and logs in with LOGIN', async () => {
    const c = new TestClient(backend);
    assert.match(await c.greet(), /^\* OK \[CAPABILITY IMAP4rev2 IMAP4rev1 .*AUTH=PLAIN.*\] /);
    assert.match(await c.send('a LOGIN alice@example.org wrong\r\n'), /^a NO \[AUTHENTICATIONFAILED\]/);
    const ok = await c.login();
    assert.match(ok, /^L1 OK \[CAPABILITY .*UIDPLUS.*QRESYNC.*\] Logged in/);
  });

  it('advertises LOGINDISABLED and refuses LOGIN without TLS unless plaintext is allowed', async () => {
    const c = new TestClient(backend, { allowPlaintext: false, starttlsAvailable: true });
    const g = await c.greet();
    assert.match(g, /STARTTLS/);
    assert.match(g, /LOGINDISABLED/);
    assert.match(await c.login(), /^L1 NO \[PRIVACYREQUIRED\]/);
    assert.equal(await c.send('t STARTTLS\r\nx NOOP\r\n'), 't OK Begin TLS negotiation now\r\n<starttls>');
  });

  it('authenticates with AUTHENTICATE PLAIN, with and without an initial response', async () => {
    const ir = Buffer.from('\0alice@example.org\0secret').toString('base64');
    const c = new TestClient(backend);
    assert.match(await c.send(`a AUTHENTICATE PLAIN ${ir}\r\n`), /^a OK \[CAPABILITY/);
    const d = new TestClient(backend);
    assert.equal(await d.send('b AUTHENTICATE PLAIN\r\n'), '+ \r\n');
    assert.match(await d.send(`${ir}\r\n`), /^b OK/);
    const e = new TestClient(backend);
    await e.send('c AUTHENTICATE PLAIN\r\n');
    assert.equal(await e.send('*\r\n'), 'c BAD Authentication cancelled\r\n');
  });

  it('answers BAD to garbage and keeps the session alive', async () => {
    const c = new TestClient(backend);
    assert.match(await c.send('\x01\x02 garbage\r\n'), /^\* BAD/);
    assert.match(await c.send('a1 FROBNICATE\r\n'), /^a1 BAD Unknown command/);
    assert.match(await c.send('a2 LOGIN "unterminated\r\n'), /^a2 BAD/);
    assert.match(await c.send('a3 SELECT INBOX\r\n'), /^a3 BAD SELECT not allowed now/);
    assert.equal(await c.send('a4 NOOP\r\n'), 'a4 OK NOOP completed\r\n');
  });

  it('logs out with BYE and closes', async () => {
    const c = new TestClient(backend);
    assert.equal(await c.send('z LOGOUT\r\n'), '* BYE Logging out\r\nz OK LOGOUT completed\r\n<close>');
  });
});

describe('IMAP session: mailboxes', () => {
  it('SELECT reports EXISTS, flags, UIDVALIDITY and UIDNEXT', async () => {
    const c = new TestClient(backend);
    await c.login();
    const r = await c.send('s SELECT inbox\r\n');
    assert.match(r, /\* 2 EXISTS\r\n/);
    assert.match(r, /\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft\)/);
    assert.match(r, /\* OK \[UIDVALIDITY \d+\]/);
    assert.match(r, /\* OK \[UIDNEXT 3\]/);
    assert.match(r, /\* OK \[UNSEEN 2\]/);
    assert.match(await c.send('x SELECT Nope\r\n'), /x NO \[NONEXISTENT\]/);
  });

  it('creates, lists, renames and deletes mailboxes with modified UTF-7 names', async () => {
    const c = new TestClient(backend);
    await c.login();
    assert.equal(await c.send('c CREATE "Entw&APw-rfe/Neu"\r\n'), 'c OK CREATE completed\r\n');
    assert.ok(alice.byName('Entwürfe/Neu'));
    assert.ok(alice.byName('Entwürfe'));
    const list = await c.send('l LIST "" "*"\r\n');
    assert.match(list, /\* LIST \(\\HasNoChildren\) "\/" "INBOX"\r\n/);
    assert.match(list, /\* LIST \(\\HasChildren\) "\/" "Entw&APw-rfe"\r\n/);
    assert.match(list, /\* LIST \(\\HasNoChildren \\Sent\) "\/" "Sent"/);
    assert.match(await c.send('c2 CREATE Sent\r\n'), /c2 NO \[ALREADYEXISTS\]/);
    assert.equal(await c.send('r RENAME "Entw&APw-rfe" Drafts2\r\n'), 'r OK RENAME completed\r\n');
    assert.ok(alice.byName('Drafts2/Neu'));
    assert.match(await c.send('l2 LIST "" "Drafts2/%" RETURN (STATUS (MESSAGES UIDNEXT))\r\n'), /\* LIST \(\\HasNoChildren\) "\/" "Drafts2\/Neu"\r\n\* STATUS "Drafts2\/Neu" \(MESSAGES 0 UIDNEXT 1\)/);
    assert.equal(await c.send('d DELETE Drafts2/Neu\r\n'), 'd OK DELETE completed\r\n');
    assert.match(await c.send('d2 DELETE INBOX\r\n'), /d2 NO/);
  });

  it('uses UTF-8 names once IMAP4rev2 is enabled', async () => {
    const c = new TestClient(backend);
    await c.login();
    assert.equal(await c.send('e ENABLE IMAP4rev2\r\n'), '* ENABLED IMAP4rev2\r\ne OK ENABLE completed\r\n');
    await c.send('c CREATE Grüße\r\n');
    assert.match(await c.send('l LIST "" Gr*\r\n'), /"Grüße"/);
  });

  it('STATUS reports counts and size', async () => {
    const c = new TestClient(backend);
    await c.login();
    const size = Buffer.byteLength(SIMPLE) + Buffer.byteLength(MULTI);
    assert.match(await c.send('s STATUS INBOX (MESSAGES UNSEEN SIZE UIDNEXT)\r\n'), new RegExp(`\\* STATUS "INBOX" \\(MESSAGES 2 UNSEEN 1 SIZE ${size} UIDNEXT 3\\)`));
  });

  it('reports quota', async () => {
    const c = new TestClient(backend);
    await c.login();
    assert.match(await c.send('q GETQUOTAROOT INBOX\r\n'), /\* QUOTAROOT INBOX ""\r\n\* QUOTA "" \(STORAGE 1 1024\)\r\nq OK/);
  });
});

describe('IMAP session: FETCH', () => {
  it('fetches flags, UID, size and internal date', async () => {
    const c = await selected();
    assert.equal(
      await c.send('f FETCH 1 (FLAGS UID RFC822.SIZE INTERNALDATE)\r\n'),
      `* 1 FETCH (FLAGS (\\Seen) UID 1 RFC822.SIZE ${Buffer.byteLength(SIMPLE)} INTERNALDATE "02-Jan-2024 03:04:05 +0000")\r\nf OK FETCH completed\r\n`,
    );
  });

  it('returns byte-exact sections, header field subsets and partials', async () => {
    const c = await selected();
    const header = SIMPLE.slice(0, SIMPLE.indexOf('\r\n\r\n') + 4);
    const r = await c.send('f UID FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.5> BODY.PEEK[HEADER.FIELDS (subject)])\r\n');
    assert.equal(
      r,
      `* 1 FETCH (UID 1 BODY[HEADER] {${header.length}}\r\n${header} BODY[TEXT]<0> {5}\r\nFirst BODY[HEADER.FIELDS (subject)] {24}\r\nSubject: Hello there\r\n\r\n)\r\nf OK UID FETCH completed\r\n`,
    );
    const parts = await c.send('g FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.MIME] BINARY.PEEK[2] BINARY.SIZE[2])\r\n');
    assert.match(parts, /BODY\[1\] \{10\}\r\nplain part /);
    assert.match(parts, /BODY\[2\.MIME\] \{\d+\}\r\nContent-Type: application\/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n/);
    assert.match(parts, /BINARY\[2\] \{12\}\r\nHello binary/);
    assert.match(parts, /BINARY.SIZE\[2\] 12/);
  });

  it('sets \\Seen on a non-PEEK body fetch and reports the flags', async () => {
    const c = await selected();
    const r = await c.send('f FETCH 2 (BODY[1])\r\n');
    assert.match(r, /^\* 2 FETCH \(BODY\[1\] \{10\}\r\nplain part FLAGS \(\\Seen\)\)\r\n/);
    assert.ok(alice.byName('INBOX')!.messages[1]!.flags.includes('\\Seen'));
  });

  it('returns ENVELOPE and BODYSTRUCTURE', async () => {
    const c = await selected();
    const r = await c.send('f FETCH 1 (ENVELOPE BODYSTRUCTURE)\r\n');
    assert.match(r, /ENVELOPE \("Tue, 02 Jan 2024 03:04:05 \+0000" "Hello there" \(\("Bob" NIL "bob" "example.net"\)\)/);
    assert.match(r, /BODYSTRUCTURE \("TEXT" "PLAIN"/i);
  });

  it('answers BAD for an invalid message number and a bad attribute', async () => {
    const c = await selected();
    assert.match(await c.send('f FETCH 9 FLAGS\r\n'), /^f BAD/);
    assert.match(await c.send('g FETCH 1 (FLAGS BOGUS)\r\n'), /^g BAD/);
  });
});

describe('IMAP session: STORE, SEARCH, EXPUNGE', () => {
  it('stores flags and answers with FETCH unless .SILENT', async () => {
    const c = await selected();
    assert.equal(await c.send('s STORE 2 +FLAGS (\\Flagged $Work)\r\n'), '* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work)\r\n* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Work \\*)] Flags permitted\r\n* 2 FETCH (FLAGS (\\Flagged $Work))\r\ns OK STORE completed\r\n');
    assert.equal(await c.send('t UID STORE 1:* -FLAGS.SILENT (\\Seen)\r\n'), 't OK UID STORE completed\r\n');
    assert.deepEqual(alice.byName('INBOX')!.messages.map((m) => m.flags), [[], ['\\Flagged', '$Work']]);
  });

  it('refuses a store with UNCHANGEDSINCE older than the message with [MODIFIED]', async () => {
    const c = await selected();
    assert.match(await c.send('s STORE 1:2 (UNCHANGEDSINCE 2) +FLAGS (\\Answered)\r\n'), /s OK \[MODIFIED 2\]/);
  });

  it('searches by flags, headers, text, size and dates', async () => {
    const c = await selected();
    assert.equal(await c.send('a SEARCH UNSEEN\r\n'), '* SEARCH 2\r\na OK SEARCH completed\r\n');
    assert.equal(await c.send('b SEARCH SUBJECT grüße\r\n'), '* SEARCH 2\r\nb OK SEARCH completed\r\n');
    assert.equal(await c.send('c UID SEARCH FROM bob BODY "second LINE"\r\n'), '* SEARCH 1\r\nc OK UID SEARCH completed\r\n');
    assert.equal(await c.send('d SEARCH OR SEEN LARGER 100000 SINCE 1-Jan-2024\r\n'), '* SEARCH 1\r\nd OK SEARCH completed\r\n');
    assert.equal(await c.send('e SEARCH NOT 1 TEXT "plain part"\r\n'), '* SEARCH 2\r\ne OK SEARCH completed\r\n');
    assert.equal(await c.send('f SEARCH RETURN (MIN MAX COUNT ALL) ALL\r\n'), '* ESEARCH (TAG "f") MIN 1 MAX 2 COUNT 2 ALL 1:2\r\nf OK SEARCH completed\r\n');
    assert.match(await c.send('g SEARCH CHARSET KOI8-R ALL\r\n'), /g NO \[BADCHARSET/);
    assert.match(await c.send('h SEARCH FOO\r\n'), /h BAD/);
  });

  it('sorts by subject and reverse size', async () => {
    const c = await selected();
    assert.equal(await c.send('a SORT (SUBJECT) UTF-8 ALL\r\n'), '* SORT 2 1\r\na OK SORT completed\r\n');
    assert.equal(await c.send('b SORT (REVERSE SIZE) UTF-8 ALL\r\n'), '* SORT 2 1\r\nb OK SORT completed\r\n');
  });

  it('expunges \\Deleted messages and tells the other session at its next command', async () => {
    const a = await selected();
    const b = await selected();
    await a.send('s STORE 1 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await a.send('e EXPUNGE\r\n'), '* 1 EXPUNGE\r\ne OK EXPUNGE completed\r\n');
    // Not during FETCH (RFC 9051 §7.5.1), but at NOOP.
    assert.equal(await b.send('f FETCH 2 (FLAGS)\r\n'), '* 2 FETCH (FLAGS ())\r\nf OK FETCH completed\r\n');
    assert.equal(await b.send('n NOOP\r\n'), '* 1 EXPUNGE\r\nn OK NOOP completed\r\n');
  });

  it('reports VANISHED instead of EXPUNGE under QRESYNC', async () => {
    const c = new TestClient(backend);
    await c.login();
    await c.send('e ENABLE QRESYNC\r\n');
    await c.send('s SELECT INBOX\r\n');
    await c.send('t STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await c.send('x EXPUNGE\r\n'), '* VANISHED 1:2\r\nx OK EXPUNGE completed\r\n');
  });

  it('copies and moves with COPYUID', async () => {
    const c = await selected();
    assert.match(await c.send('c COPY 1:2 Trash\r\n'), /^c OK \[COPYUID \d+ 1:2 1,2\] COPY completed/);
    assert.match(await c.send('m UID MOVE 2 Sent\r\n'), /^\* OK \[COPYUID \d+ 2 1\] Moved\r\n\* 2 EXPUNGE\r\nm OK/);
    assert.match(await c.send('n COPY 1 Nowhere\r\n'), /n NO \[TRYCREATE\]/);
  });
});

describe('IMAP session: APPEND and IDLE', () => {
  it('appends with a synchronizing literal and answers APPENDUID after commit', async () => {
    const c = new TestClient(backend);
    await c.login();
    const msg = 'Subject: new\r\n\r\nbody\r\n';
    assert.equal(await c.send(`a APPEND INBOX (\\Seen) "05-Feb-2024 10:00:00 +0100" {${msg.length}}\r\n`), '+ Ready for literal data\r\n');
    assert.match(await c.send(`${msg}\r\n`), /^a OK \[APPENDUID \d+ 3\] APPEND completed/);
    const stored = alice.byName('INBOX')!.messages[2]!;
    assert.equal(stored.bytes.toString(), msg);
    assert.deepEqual(stored.flags, ['\\Seen']);
    assert.equal(stored.internalDate.toISOString(), '2024-02-05T09:00:00.000Z');
  });

  it('appends with LITERAL+ in one go', async () => {
    const c = new TestClient(backend);
    await c.login();
    assert.match(await c.send('a APPEND Sent {7+}\r\nX: y\r\n\r\n\r\n'), /^a OK \[APPENDUID/);
    assert.match(await c.send('b APPEND Nowhere {7+}\r\nX: y\r\n\r\n\r\n'), /^b NO \[TRYCREATE\]/);
  });

  it('refuses a literal above APPENDLIMIT before reading it', async () => {
    const c = new TestClient(backend, { limits: { appendLimit: 100 } });
    await c.login();
    assert.equal(await c.send('a APPEND INBOX {101}\r\n'), 'a NO [TOOBIG] Message exceeds APPENDLIMIT 100\r\n');
    assert.equal(await c.send('b NOOP\r\n'), 'b OK NOOP completed\r\n');
    assert.equal(alice.byName('INBOX')!.messages.length, 2);
  });

  it('pushes EXISTS and FETCH while idling, and ends with DONE', async () => {
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
});

describe('IMAP session: extensions and pipelining', () => {
  it('keeps responses in order when commands are pipelined behind a FETCH', async () => {
    const c = await selected();
    const r = await c.send('a FETCH 1:2 (UID)\r\nb STORE 1 +FLAGS (\\Answered)\r\nc NOOP\r\n');
    assert.equal(r, '* 1 FETCH (UID 1)\r\n* 2 FETCH (UID 2)\r\na OK FETCH completed\r\n* 1 FETCH (FLAGS (\\Seen \\Answered))\r\nb OK STORE completed\r\nc OK NOOP completed\r\n');
    assert.equal(await c.send('d FETCH 1 (UID)\r\ne LOGOUT\r\n'), '* 1 FETCH (UID 1)\r\nd OK FETCH completed\r\n* BYE Logging out\r\ne OK LOGOUT completed\r\n');
    await new Promise((r) => setTimeout(r, 5));
    assert.deepEqual(c.pushed, ['<close>']);
  });

  it('answers ID, NAMESPACE and COMPRESS', async () => {
    const c = new TestClient(backend);
    assert.equal(await c.send('i ID ("name" "test")\r\n'), '* ID ("name" "Postamt" "vendor" "Postamt")\r\ni OK ID completed\r\n');
    await c.login();
    assert.equal(await c.send('n NAMESPACE\r\n'), '* NAMESPACE (("" "/")) NIL NIL\r\nn OK NAMESPACE completed\r\n');
    assert.equal(await c.send('z COMPRESS DEFLATE\r\n'), 'z OK DEFLATE active\r\n<deflate>');
    assert.match(await c.send('z2 COMPRESS DEFLATE\r\n'), /z2 NO \[COMPRESSIONACTIVE\]/);
  });

  it('supports CONDSTORE: MODSEQ, CHANGEDSINCE and MODSEQ search', async () => {
    const c = await selected();
    const inbox = alice.byName('INBOX')!;
    const before = inbox.modSeq;
    await c.send('s STORE 2 +FLAGS.SILENT (\\Flagged)\r\n');
    const after = inbox.messages[1]!.modSeq;
    assert.equal(await c.send(`f FETCH 1:* (FLAGS) (CHANGEDSINCE ${before})\r\n`), `* OK [HIGHESTMODSEQ ${after}] Highest\r\n* 2 FETCH (FLAGS (\\Flagged) MODSEQ (${after}))\r\nf OK FETCH completed\r\n`);
    assert.equal(await c.send(`g SEARCH MODSEQ ${after}\r\n`), `* SEARCH 2 (MODSEQ ${after})\r\ng OK SEARCH completed\r\n`);
  });

  it('resynchronizes with SELECT (QRESYNC ...): VANISHED (EARLIER) and changed flags', async () => {
    const inbox = alice.byName('INBOX')!;
    const modseq = inbox.modSeq;
    await alice.storeFlags(inbox.id, [2], 'add', ['\\Answered']);
    await alice.expunge(inbox.id, [1]);
    const c = new TestClient(backend);
    await c.login();
    await c.send('e ENABLE QRESYNC\r\n');
    const r = await c.send(`s SELECT INBOX (QRESYNC (${inbox.uidValidity} ${modseq} 1:2))\r\n`);
    assert.match(r, /\* VANISHED \(EARLIER\) 1\r\n/);
    assert.match(r, /\* 1 FETCH \(UID 2 FLAGS \(\\Answered\) MODSEQ \(\d+\)\)\r\n/);
  });

  it('saves a search result and uses $ (SEARCHRES)', async () => {
    const c = await selected();
    assert.equal(await c.send('a SEARCH RETURN (SAVE) UNSEEN\r\n'), 'a OK SEARCH completed\r\n');
    assert.equal(await c.send('b FETCH $ (UID)\r\n'), '* 2 FETCH (UID 2)\r\nb OK FETCH completed\r\n');
  });

  it('accepts a literal in LOGIN and refuses an oversized non-APPEND literal', async () => {
    const c = new TestClient(backend, { limits: { maxLiteralBytes: 64 } });
    assert.equal(await c.send('a LOGIN {17}\r\n'), '+ Ready for literal data\r\n');
    assert.match(await c.send('alice@example.org secret\r\n'), /^a OK/);
    assert.equal(await c.send('b SEARCH {100}\r\n'), 'b BAD [TOOBIG] Literal too big\r\n');
  });

  it('rejects EXPUNGE, STORE and MOVE in a mailbox opened with EXAMINE', async () => {
    const c = new TestClient(backend);
    await c.login();
    assert.match(await c.send('x EXAMINE INBOX\r\n'), /x OK \[READ-ONLY\]/);
    assert.match(await c.send('a STORE 1 +FLAGS (\\Deleted)\r\n'), /a NO \[READ-ONLY\]/);
    assert.match(await c.send('b EXPUNGE\r\n'), /b NO \[READ-ONLY\]/);
    // BODY[] in a read-only mailbox does not set \Seen.
    await c.send('c FETCH 2 BODY[]\r\n');
    assert.deepEqual(alice.byName('INBOX')!.messages[1]!.flags, []);
  });

  it('does not repeat its own flag change as an unsolicited FETCH', async () => {
    const c = await selected();
    await c.send('a STORE 1 +FLAGS (\\Flagged)\r\n');
    assert.equal(await c.send('b NOOP\r\n'), 'b OK NOOP completed\r\n');
  });
});

describe('IMAP session: robustness', () => {
  it('answers NO [UNAVAILABLE] when the store fails, and keeps serving', async () => {
    const c = await selected();
    const original = alice.readMessage.bind(alice);
    alice.readMessage = async () => {
      throw new Error('disk on fire');
    };
    const r = await c.send('f FETCH 1 BODY.PEEK[]\r\n');
    assert.equal(r, 'f NO [UNAVAILABLE] Internal error, try again later\r\n');
    assert.doesNotMatch(r, /disk/);
    alice.readMessage = original;
    assert.match(await c.send('g FETCH 1 BODY.PEEK[]\r\n'), /^\* 1 FETCH \(BODY\[\] \{\d+\}\r\nFrom: Bob/);
  });

  it('expunges only the given UIDs with UID EXPUNGE', async () => {
    const c = await selected();
    await c.send('s STORE 1:2 +FLAGS.SILENT (\\Deleted)\r\n');
    assert.equal(await c.send('e UID EXPUNGE 2\r\n'), '* 2 EXPUNGE\r\ne OK UID EXPUNGE completed\r\n');
    assert.deepEqual(alice.byName('INBOX')!.messages.map((m) => m.uid), [1]);
  });

  it('takes the mailbox name of APPEND as a literal and the message as the next one', async () => {
    const c = new TestClient(backend);
    await c.login();
    assert.equal(await c.send('a APPEND {4}\r\n'), '+ Ready for literal data\r\n');
    assert.equal(await c.send('Sent {9}\r\n'), '+ Ready for literal data\r\n');
    assert.match(await c.send('X: 1\r\n\r\nb\r\n'), /^a OK \[APPENDUID \d+ 1\]/);
    assert.equal(alice.byName('Sent')!.messages[0]!.bytes.toString(), 'X: 1\r\n\r\nb');
  });

  it('closes after too many failed logins', async () => {
    const c = new TestClient(backend, { limits: { maxAuthFailures: 2 } });
    await c.send('a LOGIN alice@example.org x\r\n');
    assert.match(await c.send('b LOGIN alice@example.org y\r\n'), /^b NO \[AUTHENTICATIONFAILED\] Too many failures\r\n<close>$/);
  });
});

describe('IMAP session: SASL additional data', () => {
  it('sends a server-final message as a last challenge and completes on the empty response', async () => {
    const sasl = backend.authenticator();
    const custom = {
      ...sasl,
      mechanisms: () => ['X-FINAL'],
      start: () => ({
        step: async (r: Buffer | null) =>
          r === null
            ? ({ kind: 'challenge', data: Buffer.from('c1') } as const)
            : ({ kind: 'success', identity: { accountId: 1, address: 'alice@example.org' }, serverFinal: Buffer.from('v=sig') } as const),
      }),
    };
    const c = new TestClient(backend, { sasl: custom });
    assert.equal(await c.send('a AUTHENTICATE X-FINAL\r\n'), `+ ${Buffer.from('c1').toString('base64')}\r\n`);
    assert.equal(await c.send(`${Buffer.from('client-final').toString('base64')}\r\n`), `+ ${Buffer.from('v=sig').toString('base64')}\r\n`);
    assert.match(await c.send('\r\n'), /^a OK \[CAPABILITY/);
  });
});
