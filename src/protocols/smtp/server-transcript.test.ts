/**
 * Whole-session transcripts of the SMTP server engine, line for line: what a client of a Postfix-grade
 * server sees, plus the reply-format invariants (RFC 5321 §4.2, RFC 3463 class agreement).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { SaslAuthenticator } from '../sasl/types.ts';
import type { Reply } from './reply.ts';
import { smtpHarness } from './testing.ts';

const TLS = { protocol: 'TLSv1.3', cipher: 'TLS_AES_128_GCM_SHA256' };
const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

/** Every line is `ddd-`/`ddd `, multi-line replies keep one code, enhanced codes agree with the class. */
function assertWellFormed(out: string): void {
  if (out === '') return;
  assert.ok(out.endsWith('\r\n'), `no CRLF at the end: ${JSON.stringify(out)}`);
  let open: string | null = null;
  for (const l of out.slice(0, -2).split('\r\n')) {
    assert.match(l, /^\d{3}[ -]/, `malformed reply line ${JSON.stringify(l)}`);
    if (open) assert.equal(l.slice(0, 3), open, `code changed inside a multi-line reply: ${l}`);
    open = l[3] === '-' ? l.slice(0, 3) : null;
    const m = /^(\d)\d\d[ -](\d)\.(\d{1,3})\.(\d{1,3})(?: |$)/.exec(l);
    if (m) assert.equal(m[2], m[1], `enhanced code class differs from the reply class: ${l}`);
    if (/^[45]/.test(l)) assert.ok(m, `error reply without an enhanced status code: ${l}`);
  }
  assert.equal(open, null, 'multi-line reply not finished');
}

/** A harness whose say() also checks the format of everything the engine sends. */
async function session(options: Parameters<typeof smtpHarness>[0] = {}) {
  const h = smtpHarness(options);
  const greeting = await h.start();
  assertWellFormed(greeting);
  const say = async (input: string | Buffer): Promise<string> => {
    const out = await h.say(input);
    assertWellFormed(out);
    return out;
  };
  return { h, greeting, say };
}

describe('SMTP transcripts', () => {
  it('a whole MX session, reply for reply', async () => {
    const { h, greeting, say } = await session();
    assert.equal(greeting, '220 mx.example.org ESMTP Postamt\r\n');
    assert.equal(
      await say('EHLO client.example\r\n'),
      [
        '250-mx.example.org Hello client.example [192.0.2.7]',
        '250-PIPELINING',
        '250-SIZE 26214400',
        '250-8BITMIME',
        '250-ENHANCEDSTATUSCODES',
        '250-SMTPUTF8',
        '250-CHUNKING',
        '250-DSN',
        '250-STARTTLS',
        '250 HELP',
        '',
      ].join('\r\n'),
    );
    assert.equal(await say('MAIL FROM:<a@example.net> SIZE=100 BODY=8BITMIME RET=HDRS ENVID=id+2B1\r\n'), '250 2.1.0 Sender ok\r\n');
    assert.equal(await say('RCPT TO:<b@example.org> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;b+40example.org\r\n'), '250 2.1.5 Recipient ok\r\n');
    assert.equal(await say('DATA\r\n'), '354 End data with <CR><LF>.<CR><LF>\r\n');
    assert.equal(await say('Subject: hi\r\n\r\nbody\r\n.\r\n'), '250 2.0.0 Ok: queued as S1.1\r\n');
    assert.equal(await say('QUIT\r\n'), '221 2.0.0 mx.example.org closing connection\r\n');
    const { envelope } = h.messages[0]!;
    assert.deepEqual(envelope.mailParams, { size: 100, body: '8BITMIME', smtpUtf8: false, ret: 'HDRS', envid: 'id+1' });
    assert.deepEqual(envelope.recipients[0]!.params, { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;b@example.org' });
    assert.equal(envelope.protocol, 'ESMTP');
    assert.equal(envelope.helo, 'client.example');
  });

  it('keeps an 8-bit body byte for byte', async () => {
    const { h, say } = await session();
    await say('EHLO c.example\r\nMAIL FROM:<a@example.net> BODY=8BITMIME\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    const body = Buffer.concat([Buffer.from('Subject: =?x?=\r\n\r\n'), Buffer.from([0xe9, 0xff, 0x80, 0xc3, 0xa9, 0x00, 0x7f]), Buffer.from('\r\n')]);
    assert.equal(await say(Buffer.concat([body, Buffer.from('.\r\n')])), '250 2.0.0 Ok: queued as S1.1\r\n');
    assert.deepEqual(Buffer.concat(h.messages[0]!.chunks), body);
  });

  it('answers the out-of-sequence commands with 503 5.5.1 and the session goes on', async () => {
    const { say } = await session();
    assert.equal(await say('MAIL FROM:<a@example.net>\r\n'), '503 5.5.1 Send HELO/EHLO first\r\n');
    await say('EHLO c.example\r\n');
    assert.equal(await say('RCPT TO:<b@example.org>\r\n'), '503 5.5.1 Need MAIL command first\r\n');
    assert.equal(await say('DATA\r\n'), '503 5.5.1 Need MAIL command first\r\n');
    assert.equal(await say('MAIL FROM:<a@example.net>\r\n'), '250 2.1.0 Sender ok\r\n');
    assert.equal(await say('MAIL FROM:<a@example.net>\r\n'), '503 5.5.1 Sender already specified\r\n');
    // No RCPT sent yet: out of sequence. RCPTs sent but all refused (pipelining): 554 (RFC 5321 §3.3).
    assert.equal(await say('DATA\r\n'), '503 5.5.1 Need RCPT command first\r\n');
    assert.equal(await say('RCPT TO:<nobody@example.org>\r\nDATA\r\n'), '550 5.1.1 No such user here\r\n554 5.5.1 No valid recipients\r\n');
    assert.equal(await say('RCPT TO:<b@example.org>\r\nNOOP\r\n'), '250 2.1.5 Recipient ok\r\n250 2.0.0 Ok\r\n');
  });

  it('answers NOOP, RSET, VRFY, HELP and unknown verbs in any case', async () => {
    const { h, say } = await session();
    await say('ehlo c.example\r\n');
    assert.equal(await say('MaIl FrOm:<a@example.net>\r\nrset\r\nrcpt to:<b@example.org>\r\n'), '250 2.1.0 Sender ok\r\n250 2.0.0 Reset state\r\n503 5.5.1 Need MAIL command first\r\n');
    assert.equal(await say('noop whatever\r\n'), '250 2.0.0 Ok\r\n');
    assert.equal(await say('vrfy postmaster\r\n'), '252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n');
    assert.match(await say('help\r\n'), /^214-2\.0\.0 [^\r]*\r\n214 2\.0\.0 /);
    assert.equal(await say('XYZZY\r\n'), '500 5.5.1 Command unrecognized\r\n');
    assert.equal(h.messages.length, 0);
  });

  it('refuses a command line of 513 octets with 500 5.5.2, accepts 512, and goes on', async () => {
    const { say } = await session();
    await say('EHLO c.example\r\n');
    assert.equal(await say(`NOOP ${'x'.repeat(505)}\r\n`), '250 2.0.0 Ok\r\n');
    assert.equal(await say(`NOOP ${'x'.repeat(506)}\r\nNOOP\r\n`), '500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n');
    // A line far over any limit, in pieces: one 500, nothing of it runs as a command.
    assert.equal(await say(`MAIL FROM:<a@example.net> ${'x'.repeat(20_000)}`), '');
    assert.equal(await say(`${'y'.repeat(20_000)}`), '');
    assert.equal(await say('\r\nRCPT TO:<b@example.org>\r\n'), '500 5.5.2 Line too long\r\n503 5.5.1 Need MAIL command first\r\n');
  });

  it('refuses an address that is not valid UTF-8 with 501 5.1.3', async () => {
    const { say } = await session();
    await say('EHLO c.example\r\n');
    const latin1 = Buffer.concat([Buffer.from('MAIL FROM:<j'), Buffer.from([0xf6]), Buffer.from('rg@example.net> SMTPUTF8\r\n')]);
    assert.equal(await say(latin1), '501 5.1.3 Bad address syntax\r\n');
    assert.equal(await say('MAIL FROM:<jörg@example.net> SMTPUTF8\r\n'), '250 2.1.0 Sender ok\r\n');
    assert.equal(await say('RCPT TO:<ü@example.org>\r\n'), '250 2.1.5 Recipient ok\r\n');
  });

  it('needs SMTPUTF8 on MAIL for a UTF-8 recipient (553 5.6.7)', async () => {
    const { say } = await session();
    await say('EHLO c.example\r\nMAIL FROM:<a@example.net>\r\n');
    assert.equal(await say('RCPT TO:<ü@example.org>\r\n'), '553 5.6.7 Non-ASCII address requires SMTPUTF8\r\n');
  });

  it('refuses duplicate and unknown parameters with 501 and 555', async () => {
    const { say } = await session();
    await say('EHLO c.example\r\n');
    assert.equal(await say('MAIL FROM:<a@example.net> SIZE=1 SIZE=2\r\n'), '501 5.5.4 Duplicate parameter SIZE\r\n');
    assert.equal(await say('MAIL FROM:<a@example.net> FOO=1\r\n'), '555 5.5.4 Parameter FOO not supported\r\n');
    assert.equal(await say('MAIL FROM: <a@example.net>\r\n'), '250 2.1.0 Sender ok\r\n');
    assert.equal(await say('RCPT TO:<b@example.org> FOO\r\n'), '555 5.5.4 Parameter FOO not supported\r\n');
    assert.equal(await say('RCPT TO:<b@example.org> NOTIFY=NEVER,DELAY\r\n'), '501 5.5.4 Bad NOTIFY parameter\r\n');
  });

  it('commit throwing answers 451 4.3.0, nothing is acknowledged, the session goes on', async () => {
    const { h, say } = await session({
      commit: async () => {
        throw new Error('disk full');
      },
    });
    await say('EHLO c.example\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    assert.equal(await say('x\r\n.\r\nNOOP\r\n'), '451 4.3.0 Temporary storage failure, try again later\r\n250 2.0.0 Ok\r\n');
    assert.equal(h.transactions[0]!.code, 451);
  });

  it('BDAT without MAIL and BDAT with no recipient keep the stream in sync', async () => {
    const { h, say } = await session();
    await say('EHLO c.example\r\n');
    assert.equal(await say('BDAT 6 LAST\r\nQUIT\r\nNOOP\r\n'), '503 5.5.1 Need MAIL command first\r\n250 2.0.0 Ok\r\n');
    assert.equal(await say('MAIL FROM:<a@example.net>\r\nBDAT 6\r\nQUIT\r\nNOOP\r\n'), '250 2.1.0 Sender ok\r\n503 5.5.1 Need RCPT command first\r\n250 2.0.0 Ok\r\n');
    assert.equal(h.messages.length, 0);
  });

  it('BDAT chunks split across receives at every byte boundary give the same message', async () => {
    const input = 'EHLO c\r\nMAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nBDAT 5\r\n.\r\nabBDAT 5 LAST\r\n\r\n.\r\nNOOP\r\n';
    for (let cut = 1; cut < input.length; cut++) {
      const { h, say } = await session();
      const out = (await say(input.slice(0, cut))) + (await say(input.slice(cut)));
      assert.equal(out.split('\r\n').filter((l) => /^\d{3} /.test(l)).join('|'), '250 HELP|250 2.1.0 Sender ok|250 2.1.5 Recipient ok|250 2.0.0 5 octets received|250 2.0.0 Ok: queued as S1.1|250 2.0.0 Ok', `cut ${cut}`);
      assert.equal(h.messages[0]!.body, '.\r\nab\r\n.\r\n');
    }
  });

  it('closes with 421 4.7.0 after too many errors, dropping the rest of the input', async () => {
    const { h } = await session({ limits: { maxErrors: 2 } });
    const out = await h.sayFull('FOO\r\nBAR\r\nBAZ\r\nNOOP\r\n');
    assert.deepEqual(out, { data: ['500 5.5.1 Command unrecognized\r\n500 5.5.1 Command unrecognized\r\n500 5.5.1 Command unrecognized\r\n421 4.7.0 Too many errors, closing connection\r\n'], then: 'close' });
    assert.equal(await h.say('NOOP\r\n'), '');
  });
});

describe('SMTP AUTH transcripts', () => {
  /** Records what the mechanism received, to check the engine's framing (RFC 4954 §4). */
  function recordingSasl(responses: (Buffer | null)[]): SaslAuthenticator {
    return {
      mechanisms: (ctx) => (ctx.isTls ? ['PLAIN'] : []),
      start: () => ({
        async step(response) {
          responses.push(response);
          if (response === null) return { kind: 'challenge', data: Buffer.alloc(0) };
          return response.toString() === '\0alice\0secret' ? { kind: 'success', identity: { accountId: 1, address: 'alice@example.org' } } : { kind: 'failure', reason: 'malformed' };
        },
      }),
      checkPassword: async () => ({ kind: 'failure', reason: 'invalid-credentials' }),
    };
  }

  it('AUTH PLAIN without a response gets an empty 334, then the response authenticates', async () => {
    const responses: (Buffer | null)[] = [];
    const { h, say } = await session({ tls: TLS, sasl: recordingSasl(responses) });
    await say('EHLO c.example\r\n');
    assert.equal(await say('AUTH PLAIN\r\n'), '334 \r\n');
    assert.equal(await say(`${b64('\0alice\0secret')}\r\n`), '235 2.7.0 Authentication successful\r\n');
    assert.deepEqual(responses, [null, Buffer.from('\0alice\0secret')]);
    assert.equal(h.session.info().identity?.address, 'alice@example.org');
    assert.equal(await say('AUTH PLAIN\r\n'), '503 5.5.1 Already authenticated\r\n');
  });

  it('"=" is an empty initial response, not a missing one (RFC 4954 §4)', async () => {
    const responses: (Buffer | null)[] = [];
    const { say } = await session({ tls: TLS, sasl: recordingSasl(responses) });
    await say('EHLO c.example\r\n');
    assert.equal(await say('AUTH PLAIN =\r\n'), '501 5.5.2 Cannot decode response\r\n');
    assert.deepEqual(responses, [Buffer.alloc(0)]);
  });

  it('bad base64 in the initial response or a continuation is 501 5.5.2, "*" cancels with 501', async () => {
    const { say } = await session({ tls: TLS });
    await say('EHLO c.example\r\n');
    assert.equal(await say('AUTH PLAIN %%%%\r\n'), '501 5.5.2 Cannot decode response\r\n');
    assert.equal(await say('AUTH PLAIN\r\n'), '334 \r\n');
    assert.equal(await say('not base64!\r\n'), '501 5.5.2 Cannot decode response\r\n');
    assert.equal(await say('AUTH PLAIN\r\n*\r\n'), '334 \r\n501 5.7.0 Authentication cancelled\r\n');
    assert.equal(await say(`AUTH PLAIN ${b64('\0alice\0wrong')}\r\n`), '535 5.7.8 Authentication credentials invalid\r\n');
    assert.equal(await say(`AUTH PLAIN ${b64('\0alice\0secret')}\r\n`), '235 2.7.0 Authentication successful\r\n');
  });

  it('a SASL response over the AUTH line limit ends the exchange with 500 5.5.2; the next line is a command', async () => {
    const { say } = await session({ tls: TLS });
    await say('EHLO c.example\r\n');
    assert.equal(await say('AUTH PLAIN\r\n'), '334 \r\n');
    assert.equal(await say('A'.repeat(13_000)), '');
    // "NOOP" is valid base64: it must not reach the mechanism.
    assert.equal(await say('\r\nNOOP\r\n'), '500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n');
  });

  it('server-final data is a 334 and the empty client line completes it with 235 (SCRAM round trip)', async () => {
    const { say } = await session({ tls: TLS });
    await say('EHLO c.example\r\n');
    assert.equal(await say('AUTH TWOSTEP\r\n'), `334 ${b64('who?')}\r\n`);
    assert.equal(await say(`${b64('alice')}\r\n`), `334 ${b64('v=final')}\r\n`);
    assert.equal(await say('\r\n'), '235 2.7.0 Authentication successful\r\n');
  });

  it('AUTH is refused in the clear with 538 5.7.11 and not advertised; after TLS it is', async () => {
    const { h, say } = await session();
    assert.doesNotMatch(await say('EHLO c.example\r\n'), /AUTH/);
    assert.equal(await say(`AUTH PLAIN ${b64('\0alice\0secret')}\r\n`), '538 5.7.11 Encryption required for requested authentication mechanism\r\n');
    assert.equal((await h.sayFull('STARTTLS\r\n')).then, 'starttls');
    h.startTls();
    assert.match(await say('EHLO c.example\r\n'), /\r\n250-AUTH PLAIN TWOSTEP\r\n/);
  });

  it('submission: MAIL before AUTH is 530 5.7.0, after AUTH the envelope says ESMTPSA', async () => {
    const { h, say } = await session({ role: 'submission', tls: TLS });
    await say('EHLO c.example\r\n');
    assert.equal(await say('MAIL FROM:<alice@example.org>\r\n'), '530 5.7.0 Authentication required\r\n');
    await say(`AUTH PLAIN ${b64('\0alice\0secret')}\r\n`);
    assert.equal(await say('MAIL FROM:<alice@example.org>\r\nRCPT TO:<b@example.net>\r\nDATA\r\nx\r\n.\r\n'), '250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n250 2.0.0 Ok: queued as S1.1\r\n');
    assert.equal(h.messages[0]!.envelope.protocol, 'ESMTPSA');
  });
});

describe('SMTP limits that are not errors', () => {
  it('452 4.5.3 for recipients over the limit does not count towards the error limit', async () => {
    const { h, say } = await session({ limits: { maxRecipients: 2, maxErrors: 3 } });
    await say('EHLO c.example\r\nMAIL FROM:<a@example.net>\r\n');
    const rcpts = Array.from({ length: 10 }, (_, i) => `RCPT TO:<r${i}@example.org>\r\n`).join('');
    const out = await say(`${rcpts}DATA\r\n`);
    assert.equal(out, `${'250 2.1.5 Recipient ok\r\n'.repeat(2)}${'452 4.5.3 Too many recipients\r\n'.repeat(8)}354 End data with <CR><LF>.<CR><LF>\r\n`);
    assert.equal(await say('x\r\n.\r\n'), '250 2.0.0 Ok: queued as S1.1\r\n');
    assert.equal(h.messages[0]!.envelope.recipients.length, 2);
  });

  it('a checkConnection hook that throws gives a 421 greeting and close, never a 451 greeting', async () => {
    const h = smtpHarness({
      hooks: {
        checkConnection: async () => {
          throw new Error('dns down');
        },
      },
    });
    const out = await h.session.start();
    assert.deepEqual(out, { data: ['421 4.3.0 Local error in processing, closing connection\r\n'], then: 'close' });
    assert.deepEqual(h.internalErrors, ['checkConnection: dns down']);
  });
});

describe('reply catalogue', () => {
  it('every fixed reply is well-formed, has an enhanced code when it is an error, and its class agrees', async () => {
    const { formatReply, replies } = await import('./reply.ts');
    for (const [name, entry] of Object.entries(replies)) {
      const r = typeof entry === 'function' ? (entry as (arg: never) => Reply)('x.example' as never) : entry;
      assertWellFormed(formatReply(r));
      if (r.code >= 400) assert.ok(r.enhancedCode, `${name} has no enhanced code`);
    }
  });
});

describe('split invariance (property)', () => {
  const PIECES = [
    'EHLO c.example\r\n',
    'HELO c.example\r\n',
    'MAIL FROM:<a@example.net>\r\n',
    'MAIL FROM:<a@example.net> SIZE=5\r\n',
    'RCPT TO:<b@example.org>\r\n',
    'RCPT TO:<nobody@example.org>\r\n',
    'DATA\r\n',
    'line\r\n..dot\r\n',
    'bare\nlf\r\n',
    '.\r\n',
    'BDAT 4\r\nab\r\n',
    'BDAT 3 LAST\r\nxyz',
    'BDAT 0 LAST\r\n',
    'RSET\r\n',
    'NOOP\r\n',
    'VRFY x\r\n',
    'AUTH PLAIN\r\n',
    '*\r\n',
    'FOO\r\n',
    `NOOP ${'x'.repeat(600)}\r\n`,
    'MAIL FROM:<a@@b>\r\n',
  ];

  it('gives the same replies and messages however the input is cut into chunks', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.constantFrom(...PIECES), { minLength: 1, maxLength: 14 }), fc.array(fc.nat(400), { maxLength: 6 }), async (pieces, cuts) => {
        const input = Buffer.from(pieces.join(''), 'latin1');
        const runWith = async (points: number[]) => {
          const { h } = await session({ tls: TLS });
          let out = '';
          let start = 0;
          for (const end of [...points.filter((p) => p > 0 && p < input.length).sort((a, b) => a - b), input.length]) {
            if (end <= start) continue;
            const text = await h.say(input.subarray(start, end));
            assertWellFormed(text);
            out += text;
            start = end;
          }
          return { out, messages: h.messages.map((m) => `${m.state}:${m.body}`), errors: h.internalErrors };
        };
        const whole = await runWith([]);
        const cut = await runWith(cuts);
        assert.deepEqual(cut, whole);
        assert.deepEqual(whole.errors, []);
      }),
      { numRuns: 300 },
    );
  });
});
