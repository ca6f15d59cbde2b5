/**
 * Transcript tests of the SMTP server engine's message paths: DATA (dot-stuffing, limits, SMTP smuggling),
 * BDAT (RFC 3030), PIPELINING (RFC 2920) and the acknowledge-after-commit rule.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { smtpHarness } from './testing.ts';

async function inTransaction(options: Parameters<typeof smtpHarness>[0] = {}) {
  const h = smtpHarness(options);
  await h.start();
  await h.say('EHLO c.example\r\n');
  await h.say('MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n');
  return h;
}

describe('SMTP DATA', () => {
  it('delivers exactly the message bytes, dot-unstuffed, and acknowledges after commit', async () => {
    const h = await inTransaction();
    assert.equal(await h.say('DATA\r\n'), '354 End data with <CR><LF>.<CR><LF>\r\n');
    const out = await h.say('Subject: t\r\n\r\n..leading dot\r\n...\r\nlast\r\n.\r\n');
    assert.equal(out, '250 2.0.0 Ok: queued as S1.1\r\n');
    assert.equal(h.messages.length, 1);
    assert.equal(h.messages[0]!.state, 'committed');
    assert.equal(h.messages[0]!.body, 'Subject: t\r\n\r\n.leading dot\r\n..\r\nlast\r\n');
    assert.equal(h.transactions[0]!.code, 250);
    assert.equal(h.transactions[0]!.size, h.messages[0]!.body.length);
    assert.deepEqual(h.internalErrors, []);
  });

  it('gives the same result when fed one byte at a time', async () => {
    const h = smtpHarness();
    await h.start();
    let out = '';
    for (const byte of Buffer.from('EHLO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nA\r\n..B\r\n.\r\nQUIT\r\n')) {
      out += await h.say(Buffer.from([byte]));
    }
    assert.match(out, /354 [^\r]*\r\n250 2\.0\.0 Ok: queued as S1\.1\r\n221 /);
    assert.equal(h.messages[0]!.body, 'A\r\n.B\r\n');
  });

  it('answers DATA and BDAT with the app\'s refusal instead of 354 (452 4.3.1: no room for mail in transit) and ends the transaction', async () => {
    const refusal = { ok: false as const, code: 452, enhancedCode: '4.3.1', text: 'Insufficient system storage' };
    const h = await inTransaction({ hooks: { beginMessage: async () => refusal } });
    assert.equal(await h.say('DATA\r\n'), '452 4.3.1 Insufficient system storage\r\n');
    assert.match(await h.say('RCPT TO:<b@example.org>\r\n'), /^503 /);
    await h.say('MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\n');
    const out = await h.say('BDAT 3 LAST\r\nabcNOOP\r\n');
    assert.match(out, /^452 4\.3\.1 Insufficient system storage\r\n250 /);
    assert.equal(h.messages.length, 0);
    assert.deepEqual(h.internalErrors, []);
  });

  it('accepts an empty message', async () => {
    const h = await inTransaction();
    assert.equal(await h.say('DATA\r\n.\r\n'), '354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as S1.1\r\n');
    assert.equal(h.messages[0]!.body, '');
  });

  it('sends 250 only once commit resolved, and the commit verdict otherwise', async () => {
    let release!: () => void;
    const gate = new Promise<void>((resolve) => (release = resolve));
    let verdicts = 0;
    const h = await inTransaction({
      commit: async () => {
        verdicts++;
        if (verdicts === 1) {
          await gate;
          return { ok: true };
        }
        if (verdicts === 2) return { ok: false, code: 550, enhancedCode: '5.7.1', text: 'Spam' };
        throw new Error('disk full');
      },
    });
    await h.say('DATA\r\n');
    let settled = false;
    const pending = h.say('x\r\n.\r\n').then((out) => {
      settled = true;
      return out;
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.equal(settled, false, '250 sent before the commit resolved');
    release();
    assert.equal(await pending, '250 2.0.0 Ok: queued as S1.1\r\n');
    await h.say('MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    assert.equal(await h.say('x\r\n.\r\n'), '550 5.7.1 Spam\r\n');
    await h.say('MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    assert.equal(await h.say('x\r\n.\r\n'), '451 4.3.0 Temporary storage failure, try again later\r\n');
    assert.deepEqual(h.internalErrors, ['sink.commit: disk full']);
  });

  it('refuses an over-size message with 552 5.3.4 at the end, aborts the sink, and goes on', async () => {
    const h = await inTransaction({ limits: { maxMessageBytes: 100 } });
    await h.say('DATA\r\n');
    assert.equal(await h.say(`${'a'.repeat(60)}\r\n`), '');
    assert.equal(await h.say(`${'b'.repeat(60)}\r\n${'c'.repeat(60)}\r\n`), '');
    assert.equal(h.messages[0]!.state, 'aborted');
    assert.equal(await h.say('.\r\nNOOP\r\n'), '552 5.3.4 Message size exceeds fixed limit of 100 octets\r\n250 2.0.0 Ok\r\n');
    assert.equal(h.transactions[0]!.code, 552);
    assert.deepEqual(h.internalErrors, []);
  });

  it('refuses a message with a line over the text line limit at the end, session survives', async () => {
    const h = await inTransaction();
    await h.say('DATA\r\n');
    const out = await h.say(`ok\r\n${'x'.repeat(1200)}\r\nmore\r\n.\r\nNOOP\r\n`);
    assert.equal(out, '552 5.3.4 Message refused: a line is longer than 1000 octets\r\n250 2.0.0 Ok\r\n');
    assert.equal(h.messages[0]!.state, 'aborted');
  });

  it('pipelines MAIL, RCPT, DATA and the message in one chunk (RFC 2920)', async () => {
    const h = smtpHarness();
    await h.start();
    await h.say('EHLO c.example\r\n');
    const out = await h.sayFull('MAIL FROM:<a@example.net>\r\nRCPT TO:<nobody@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nHello\r\n.\r\nQUIT\r\n');
    assert.equal(out.data.length, 1, 'replies are written together');
    assert.equal(
      out.data[0],
      '250 2.1.0 Sender ok\r\n550 5.1.1 No such user here\r\n250 2.1.5 Recipient ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as S1.1\r\n221 2.0.0 mx.example.org closing connection\r\n',
    );
    assert.equal(out.then, 'close');
    assert.deepEqual(h.messages[0]!.envelope.recipients.map((r) => r.forwardPath.address), ['b@example.org']);
  });

  it('turns DATA after the commands into message data, even text that looks like commands', async () => {
    const h = await inTransaction();
    const out = await h.say('DATA\r\nMAIL FROM:<x@y.z>\r\nQUIT\r\n.\r\n');
    assert.match(out, /^354 .*\r\n250 2\.0\.0 /);
    assert.equal(h.messages[0]!.body, 'MAIL FROM:<x@y.z>\r\nQUIT\r\n');
  });
});

describe('SMTP smuggling: only <CRLF>.<CRLF> ends DATA', () => {
  const variants: Record<string, string> = {
    '\\n.\\n': '\n.\n',
    '\\r.\\r': '\r.\r',
    '\\n.\\r\\n': '\n.\r\n',
    '\\r\\n.\\n': '\r\n.\n',
    '\\r.\\r\\n': '\r.\r\n',
    '\\r\\n.\\r': '\r\n.\r',
  };
  for (const [name, ending] of Object.entries(variants)) {
    it(`does not end the message at ${name}, and refuses the whole message with 554 5.6.0`, async () => {
      const h = await inTransaction();
      await h.say('DATA\r\n');
      const smuggled = `Subject: one\r\n\r\nbody${ending}MAIL FROM:<ceo@example.org>\r\nRCPT TO:<victim@example.org>\r\nDATA\r\nSubject: forged\r\n`;
      assert.equal(await h.say(smuggled), '', 'something ended the message early');
      assert.equal(await h.say('\r\n.\r\nNOOP\r\n'), '554 5.6.0 Message refused: bare CR or LF (RFC 5321 §2.3.8)\r\n250 2.0.0 Ok\r\n');
      assert.equal(h.messages.length, 1, 'a second message was started');
      assert.equal(h.messages[0]!.state, 'aborted');
      assert.equal(h.transactions.length, 1);
      assert.equal(h.transactions[0]!.code, 554);
      assert.deepEqual(h.internalErrors, []);
    });
  }

  it('refuses a bare LF even when it is split across chunks from its CR', async () => {
    const h = await inTransaction();
    await h.say('DATA\r\n');
    await h.say('line one\r');
    await h.say('line two\r\n');
    assert.match(await h.say('.\r\n'), /^554 5\.6\.0 /);
  });
});

describe('SMTP BDAT (RFC 3030)', () => {
  it('takes exact byte counts, pipelined chunks, and answers each chunk once', async () => {
    const h = await inTransaction();
    const chunk1 = 'Subject: x\r\n\r\n';
    const chunk2 = 'body with\r\n.a dot\r\n';
    const out = await h.say(`BDAT ${chunk1.length}\r\n${chunk1}BDAT ${chunk2.length} LAST\r\n${chunk2}NOOP\r\n`);
    assert.equal(out, `250 2.0.0 ${chunk1.length} octets received\r\n250 2.0.0 Ok: queued as S1.1\r\n250 2.0.0 Ok\r\n`);
    // No dot-unstuffing in BDAT.
    assert.equal(h.messages[0]!.body, chunk1 + chunk2);
  });

  it('reads a chunk split across receives, and BDAT 0 LAST ends the message', async () => {
    const h = await inTransaction();
    assert.equal(await h.say('BDAT 10\r\n01234'), '');
    assert.equal(await h.say('56789'), '250 2.0.0 10 octets received\r\n');
    assert.equal(await h.say('BDAT 0 LAST\r\n'), '250 2.0.0 Ok: queued as S1.1\r\n');
    assert.equal(h.messages[0]!.body, '0123456789');
  });

  it('refuses DATA after BDAT with 503, and RCPT during BDAT with 503', async () => {
    const h = await inTransaction();
    await h.say('BDAT 3\r\nab\n');
    assert.equal(await h.say('DATA\r\n'), '503 5.5.1 DATA not allowed after BDAT in the same transaction\r\n');
    assert.equal(await h.say('RCPT TO:<c@example.org>\r\n'), '503 5.5.1 Command not allowed during a BDAT transfer\r\n');
  });

  it('refuses a bare LF in BDAT content at LAST with 554 5.6.0', async () => {
    const h = await inTransaction();
    assert.equal(await h.say('BDAT 6\r\na\nbc\r\n'), '250 2.0.0 6 octets received\r\n');
    assert.equal(await h.say('BDAT 3 LAST\r\nc\r\n'), '554 5.6.0 Message refused: bare CR or LF (RFC 5321 §2.3.8)\r\n');
    assert.equal(h.messages[0]!.state, 'aborted');
  });

  it('reads and drops the bytes of a BDAT without MAIL, so its content is never run as commands', async () => {
    const h = smtpHarness();
    await h.start();
    await h.say('EHLO c.example\r\n');
    const evil = 'MAIL FROM:<x@y.z>\r\n';
    assert.equal(await h.say(`BDAT ${evil.length} LAST\r\n${evil}NOOP\r\n`), '503 5.5.1 Need MAIL command first\r\n250 2.0.0 Ok\r\n');
    assert.equal(await h.say('RCPT TO:<b@example.org>\r\n'), '503 5.5.1 Need MAIL command first\r\n');
  });

  it('refuses an over-size BDAT transfer with 552 5.3.4 and fails the transaction', async () => {
    const h = await inTransaction({ limits: { maxMessageBytes: 10 } });
    assert.equal(await h.say('BDAT 8\r\n12345678'), '250 2.0.0 8 octets received\r\n');
    assert.equal(await h.say('BDAT 8 LAST\r\n12345678NOOP\r\n'), '552 5.3.4 Message size exceeds fixed limit of 10 octets\r\n250 2.0.0 Ok\r\n');
    assert.equal(h.messages[0]!.state, 'aborted');
    assert.deepEqual(h.internalErrors, []);
  });

  it('refuses BDAT with a bad size with 501', async () => {
    const h = await inTransaction();
    assert.match(await h.say('BDAT x\r\n'), /^501 5\.5\.4 /);
    assert.match(await h.say('BDAT 5 FIRST\r\n'), /^501 5\.5\.4 /);
  });
});

describe('SMTP server session: every transaction ends with one endTransaction call', () => {
  it('reports accepted data, refused data, RSET, EHLO, QUIT and a disconnect, each once', async () => {
    const ends: string[] = [];
    const h = smtpHarness({
      hooks: { endTransaction: (_info, end) => ends.push(`${end.transactionId}:${end.accepted ? 'accepted' : 'ended'}`) },
      commit: async (m) => (m.body.includes('refuse') ? { ok: false, code: 554, enhancedCode: '5.7.1', text: 'no' } : { ok: true }),
    });
    await h.start();
    await h.say('EHLO c.example\r\n');
    await h.say('MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    await h.say('Subject: ok\r\n\r\nfine\r\n.\r\n');
    await h.say('MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    await h.say('Subject: no\r\n\r\nrefuse\r\n.\r\n');
    await h.say('MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nRSET\r\n');
    await h.say('MAIL FROM:<a@example.net>\r\nEHLO c.example\r\n');
    await h.say('MAIL FROM:<a@example.net>\r\nQUIT\r\n');
    assert.deepEqual(ends, ['S1.1:accepted', 'S1.2:ended', 'S1.3:ended', 'S1.4:ended', 'S1.5:ended']);
    const h2 = smtpHarness({ hooks: { endTransaction: (_info, end) => ends.push(`${end.transactionId}:${end.accepted ? 'accepted' : 'ended'}`) } });
    await h2.start();
    await h2.say('EHLO c.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\nSubject: cut\r\n');
    h2.session.closed();
    h2.session.closed();
    assert.deepEqual(ends.slice(5), ['S1.1:ended']);
  });
});

describe('SMTP server session: a client gone during the commit', () => {
  it('ends the transaction with the commit\'s outcome, once, not as abandoned', async () => {
    const ends: string[] = [];
    let release: () => void = () => undefined;
    const h = smtpHarness({
      hooks: { endTransaction: (_info, end) => ends.push(`${end.transactionId}:${end.accepted ? 'accepted' : 'ended'}`) },
      commit: () => new Promise((resolve) => { release = () => resolve({ ok: true }); }),
    });
    await h.start();
    await h.say('EHLO c.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    const pending = h.say('Subject: x\r\n\r\nbody\r\n.\r\n');
    await new Promise((r) => setImmediate(r));
    h.session.closed();
    assert.deepEqual(ends, []);
    release();
    await pending;
    assert.deepEqual(ends, ['S1.1:accepted']);
  });
});
