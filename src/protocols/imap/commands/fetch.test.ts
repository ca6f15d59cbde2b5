// FETCH on the engine: metadata items, byte-exact sections and partials, BINARY, \Seen on non-PEEK
// fetches, ENVELOPE and BODYSTRUCTURE, bad input, and a store failure answered without leaking it.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { SIMPLE, twoMessages } from '../testing/fixtures.ts';
import { parseTranscript } from '../testing/transcript.ts';

describe('IMAP FETCH', () => {
  it('fetches flags, UID, size and internal date', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    assert.equal(
      await c.send('f FETCH 1 (FLAGS UID RFC822.SIZE INTERNALDATE)\r\n'),
      `* 1 FETCH (FLAGS (\\Seen) UID 1 RFC822.SIZE ${Buffer.byteLength(SIMPLE)} INTERNALDATE "02-Jan-2024 03:04:05 +0000")\r\nf OK FETCH completed\r\n`,
    );
  });

  it('returns byte-exact sections, header field subsets and partials', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    const header = SIMPLE.slice(0, SIMPLE.indexOf('\r\n\r\n') + 4);
    const r = await c.send('f UID FETCH 1 (BODY.PEEK[HEADER] BODY.PEEK[TEXT]<0.5> BODY.PEEK[HEADER.FIELDS (subject)])\r\n');
    assert.equal(
      r,
      `* 1 FETCH (UID 1 BODY[HEADER] {${header.length}}\r\n${header} BODY[TEXT]<0> {5}\r\nFirst BODY[HEADER.FIELDS (subject)] {24}\r\nSubject: Hello there\r\n\r\n)\r\nf OK UID FETCH completed\r\n`,
    );
    const t = parseTranscript(await c.send('g FETCH 2 (BODY.PEEK[1] BODY.PEEK[2.MIME] BINARY.PEEK[2] BINARY.SIZE[2])\r\n'));
    const [parts] = t.data('FETCH');
    assert.match(parts!, /BODY\[1\] \{10\}\r\nplain part /);
    assert.match(parts!, /BODY\[2\.MIME\] \{\d+\}\r\nContent-Type: application\/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n/);
    assert.match(parts!, /BINARY\[2\] \{12\}\r\nHello binary/);
    assert.match(parts!, /BINARY.SIZE\[2\] 12/);
    assert.equal(t.tagged('g').status, 'OK');
  });

  it('sets \\Seen on a non-PEEK body fetch and reports the flags', async () => {
    const { alice, selected } = twoMessages();
    const c = await selected();
    const r = await c.send('f FETCH 2 (BODY[1])\r\n');
    assert.match(r, /^\* 2 FETCH \(BODY\[1\] \{10\}\r\nplain part FLAGS \(\\Seen\)\)\r\n/);
    assert.ok(alice.byName('INBOX')!.messages[1]!.flags.includes('\\Seen'));
  });

  it('returns ENVELOPE and BODYSTRUCTURE', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    const [item] = parseTranscript(await c.send('f FETCH 1 (ENVELOPE BODYSTRUCTURE)\r\n')).data('FETCH');
    assert.match(item!, /ENVELOPE \("Tue, 02 Jan 2024 03:04:05 \+0000" "Hello there" \(\("Bob" NIL "bob" "example.net"\)\)/);
    assert.match(item!, /BODYSTRUCTURE \("TEXT" "PLAIN"/i);
  });

  it('answers BAD for an invalid message number and a bad attribute', async () => {
    const { selected } = twoMessages();
    const c = await selected();
    assert.equal(parseTranscript(await c.send('f FETCH 9 FLAGS\r\n')).tagged('f').status, 'BAD');
    assert.equal(parseTranscript(await c.send('g FETCH 1 (FLAGS BOGUS)\r\n')).tagged('g').status, 'BAD');
  });

  it('answers NO [UNAVAILABLE] when the store fails, and keeps serving', async () => {
    const { alice, selected } = twoMessages();
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
});
