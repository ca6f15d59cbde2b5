/**
 * Transcript tests of the SMTP server engine: commands, sequencing, error codes, STARTTLS and AUTH.
 * (DATA, BDAT, pipelining and smuggling are in server-data.test.ts.)
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fakeSasl, smtpHarness } from './testing.ts';

const b64 = (s: string): string => Buffer.from(s, 'utf8').toString('base64');

describe('SMTP server session: greeting and EHLO', () => {
  it('greets with 220 and lists the extensions on EHLO', async () => {
    const h = smtpHarness();
    assert.equal(await h.start(), '220 mx.example.org ESMTP Postamt\r\n');
    const ehlo = await h.say('EHLO client.example.net\r\n');
    const lines = ehlo.trimEnd().split('\r\n');
    assert.equal(lines[0], '250-mx.example.org Hello client.example.net [192.0.2.7]');
    for (const ext of ['PIPELINING', 'SIZE 26214400', '8BITMIME', 'ENHANCEDSTATUSCODES', 'SMTPUTF8', 'CHUNKING', 'DSN', 'STARTTLS']) {
      assert.ok(lines.some((l) => l.slice(4) === ext), `missing ${ext}`);
    }
    assert.equal(lines.at(-1), '250 HELP');
    assert.ok(!lines.some((l) => l.includes('AUTH')), 'AUTH offered in the clear');
    assert.ok(!lines.some((l) => l.includes('BINARYMIME')));
  });

  it('offers AUTH and no STARTTLS after TLS, and needs EHLO again after STARTTLS', async () => {
    const h = smtpHarness();
    await h.start();
    await h.say('EHLO c.example\r\n');
    const out = await h.sayFull('STARTTLS\r\n');
    assert.equal(out.then, 'starttls');
    h.startTls();
    assert.equal(await h.say('MAIL FROM:<a@example.net>\r\n'), '503 5.5.1 Send HELO/EHLO first\r\n');
    const ehlo = await h.say('EHLO c.example\r\n');
    assert.match(ehlo, /^250-AUTH PLAIN TWOSTEP\r$/m);
    assert.doesNotMatch(ehlo, /STARTTLS/);
  });

  it('answers HELO without extensions, and accepts verbs in any case', async () => {
    const h = smtpHarness();
    await h.start();
    assert.equal(await h.say('helo c.example\r\n'), '250 mx.example.org Hello c.example [192.0.2.7]\r\n');
    assert.equal(await h.say('nOoP\r\n'), '250 2.0.0 Ok\r\n');
    // ESMTP parameters need EHLO.
    assert.equal(await h.say('MAIL FROM:<a@example.net> SIZE=10\r\n'), '555 5.5.4 ESMTP parameters require EHLO\r\n');
  });

  it('refuses EHLO without a name with 501', async () => {
    const h = smtpHarness();
    await h.start();
    assert.match(await h.say('EHLO\r\n'), /^501 5\.5\.4 /);
  });

  it('sends the refusal from checkConnection and closes', async () => {
    const h = smtpHarness({ hooks: { checkConnection: async () => ({ ok: false, code: 554, enhancedCode: '5.7.1', text: 'Go away' }) } });
    const out = await h.session.start();
    assert.deepEqual(out, { data: ['554 5.7.1 Go away\r\n'], then: 'close' });
  });
});

describe('SMTP server session: errors and sequencing', () => {
  async function greeted(options: Parameters<typeof smtpHarness>[0] = {}) {
    const h = smtpHarness(options);
    await h.start();
    await h.say('EHLO c.example\r\n');
    return h;
  }

  it('rejects a command line over 512 octets with 500 5.5.2 and goes on', async () => {
    const h = await greeted();
    assert.equal(await h.say(`NOOP ${'x'.repeat(520)}\r\n`), '500 5.5.2 Line too long\r\n');
    // Also when the long line arrives in pieces without a line end yet.
    assert.equal(await h.say('NOOP ' + 'y'.repeat(13000)), '');
    assert.equal(await h.say('yyy\r\nNOOP\r\n'), '500 5.5.2 Line too long\r\n250 2.0.0 Ok\r\n');
  });

  it('answers unknown commands with 500 5.5.1', async () => {
    const h = await greeted();
    assert.equal(await h.say('FOO bar\r\n'), '500 5.5.1 Command unrecognized\r\n');
  });

  it('answers bad MAIL syntax with 501 and RCPT before MAIL with 503 5.5.1', async () => {
    const h = await greeted();
    assert.match(await h.say('MAIL FROM:a@example.net\r\n'), /^501 5\.5\.4 /);
    assert.match(await h.say('MAIL TO:<a@example.net>\r\n'), /^501 5\.5\.4 /);
    assert.match(await h.say('MAIL FROM:<a@@example.net>\r\n'), /^501 5\.1\.3 /);
    assert.equal(await h.say('RCPT TO:<b@example.org>\r\n'), '503 5.5.1 Need MAIL command first\r\n');
    assert.equal(await h.say('DATA\r\n'), '503 5.5.1 Need MAIL command first\r\n');
    assert.equal(await h.say('MAIL FROM:<a@example.net>\r\n'), '250 2.1.0 Sender ok\r\n');
    assert.equal(await h.say('MAIL FROM:<a@example.net>\r\n'), '503 5.5.1 Sender already specified\r\n');
    assert.equal(await h.say('DATA\r\n'), '503 5.5.1 Need RCPT command first\r\n');
    assert.match(await h.say('RCPT TO:<nobody@example.org>\r\n'), /^550 /);
    assert.equal(await h.say('DATA\r\n'), '554 5.5.1 No valid recipients\r\n');
    assert.match(await h.say('RCPT TO:<>\r\n'), /^501 5\.1\.3 /);
  });

  it('refuses MAIL before EHLO with 503', async () => {
    const h = smtpHarness();
    await h.start();
    assert.equal(await h.say('MAIL FROM:<a@example.net>\r\n'), '503 5.5.1 Send HELO/EHLO first\r\n');
  });

  it('refuses SIZE over the limit at MAIL with 552 5.3.4', async () => {
    const h = await greeted({ limits: { maxMessageBytes: 1000 } });
    assert.equal(await h.say('MAIL FROM:<a@example.net> SIZE=1001\r\n'), '552 5.3.4 Message size exceeds fixed limit of 1000 octets\r\n');
    assert.equal(await h.say('MAIL FROM:<a@example.net> SIZE=1000\r\n'), '250 2.1.0 Sender ok\r\n');
  });

  it('accepts BODY=8BITMIME, SMTPUTF8, RET, ENVID and refuses BODY=BINARYMIME', async () => {
    const h = await greeted();
    assert.match(await h.say('MAIL FROM:<a@example.net> BODY=BINARYMIME\r\n'), /^555 5\.5\.4 /);
    assert.match(await h.say('MAIL FROM:<a@example.net> FOO=BAR\r\n'), /^555 5\.5\.4 /);
    assert.equal(await h.say('MAIL FROM:<jörg@example.net> BODY=8BITMIME SMTPUTF8 RET=HDRS ENVID=abc+2Bd\r\n'), '250 2.1.0 Sender ok\r\n');
    assert.equal(await h.say('RCPT TO:<Ünïcode@Example.ORG> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;x+40y\r\n'), '250 2.1.5 Recipient ok\r\n');
    await h.say('DATA\r\n');
    assert.match(await h.say('Subject: x\r\n\r\nhi\r\n.\r\n'), /^250 2\.0\.0 /);
    const env = h.messages[0]!.envelope;
    assert.deepEqual(env.mailParams, { size: null, body: '8BITMIME', smtpUtf8: true, ret: 'HDRS', envid: 'abc+d' });
    assert.equal(env.recipients[0]!.forwardPath.address, 'Ünïcode@example.org');
    assert.deepEqual(env.recipients[0]!.params, { notify: ['SUCCESS', 'FAILURE'], orcpt: 'rfc822;x@y' });
    assert.equal(env.protocol, 'UTF8SMTP');
  });

  it('refuses a non-ASCII address without SMTPUTF8 with 553 5.6.7', async () => {
    const h = await greeted();
    assert.match(await h.say('MAIL FROM:<jörg@example.net>\r\n'), /^553 5\.6\.7 /);
    await h.say('MAIL FROM:<a@example.net>\r\n');
    assert.match(await h.say('RCPT TO:<jörg@example.net>\r\n'), /^553 5\.6\.7 /);
  });

  it('answers 452 4.5.3 past the recipient limit', async () => {
    const h = await greeted({ limits: { maxRecipients: 2 } });
    await h.say('MAIL FROM:<a@example.net>\r\n');
    const out = await h.say('RCPT TO:<b1@example.org>\r\nRCPT TO:<b2@example.org>\r\nRCPT TO:<b3@example.org>\r\n');
    assert.equal(out, '250 2.1.5 Recipient ok\r\n250 2.1.5 Recipient ok\r\n452 4.5.3 Too many recipients\r\n');
  });

  it('passes hook refusals through and turns a throwing hook into 451 4.3.0', async () => {
    const h = await greeted({
      hooks: {
        checkRcptTo: async (_i, path) => {
          if (path.localPart === 'boom') throw new Error('db down');
          return path.localPart === 'nobody' ? { ok: false, code: 550, enhancedCode: '5.1.1', text: 'No such user here' } : { ok: true };
        },
      },
    });
    await h.say('MAIL FROM:<a@example.net>\r\n');
    assert.equal(await h.say('RCPT TO:<nobody@example.org>\r\n'), '550 5.1.1 No such user here\r\n');
    assert.equal(await h.say('RCPT TO:<boom@example.org>\r\n'), '451 4.3.0 Local error in processing, try again later\r\n');
    assert.equal(await h.say('RCPT TO:<ok@example.org>\r\n'), '250 2.1.5 Recipient ok\r\n');
    assert.deepEqual(h.internalErrors, ['checkRcptTo: db down']);
  });

  it('accepts <postmaster>, source routes and address literals', async () => {
    const h = await greeted();
    await h.say('MAIL FROM:<@relay.example,@r2.example:a@example.net>\r\n');
    assert.equal(await h.say('RCPT TO:<Postmaster>\r\n'), '250 2.1.5 Recipient ok\r\n');
    assert.equal(await h.say('RCPT TO:<"john smith"@[192.0.2.1]>\r\n'), '250 2.1.5 Recipient ok\r\n');
    assert.equal(await h.say('RCPT TO:<x@[IPv6:2001:db8::1]>\r\n'), '250 2.1.5 Recipient ok\r\n');
    await h.say('DATA\r\n');
    await h.say('.\r\n');
    const env = h.messages[0]!.envelope;
    assert.deepEqual(env.reversePath?.sourceRoute, ['relay.example', 'r2.example']);
    assert.equal(env.reversePath?.address, 'a@example.net');
    assert.deepEqual(env.recipients.map((r) => r.forwardPath.address), ['postmaster', '"john smith"@[192.0.2.1]', 'x@[ipv6:2001:db8::1]']);
  });

  it('requires AUTH before MAIL on submission with 530 5.7.0', async () => {
    const h = await greeted({ role: 'submission' });
    assert.equal(await h.say('MAIL FROM:<a@example.net>\r\n'), '530 5.7.0 Authentication required\r\n');
  });

  it('closes with 421 4.7.0 after too many errors', async () => {
    const h = await greeted({ limits: { maxErrors: 3 } });
    const out = await h.sayFull('X1\r\nX2\r\nX3\r\nX4\r\nNOOP\r\n');
    assert.equal(out.then, 'close');
    assert.equal((out.data[0] as string).split('\r\n').at(-2), '421 4.7.0 Too many errors, closing connection');
    assert.doesNotMatch(out.data[0] as string, /250/);
  });

  it('answers VRFY 252, EXPN 502, HELP 214, RSET 250 and QUIT 221 with close', async () => {
    const h = await greeted();
    assert.equal(await h.say('VRFY alice\r\n'), '252 2.5.0 Cannot VRFY user, but will accept message and attempt delivery\r\n');
    assert.equal(await h.say('EXPN staff\r\n'), '502 5.5.1 EXPN not available\r\n');
    assert.match(await h.say('HELP\r\n'), /^214-2\.0\.0 Commands: /);
    assert.equal(await h.say('HELP bdat\r\n'), '214 2.0.0 BDAT <octets> [LAST]\r\n');
    await h.say('MAIL FROM:<a@example.net>\r\n');
    assert.equal(await h.say('RSET\r\n'), '250 2.0.0 Reset state\r\n');
    assert.equal(await h.say('RCPT TO:<b@example.org>\r\n'), '503 5.5.1 Need MAIL command first\r\n');
    const quit = await h.sayFull('QUIT\r\nNOOP\r\n');
    assert.deepEqual(quit, { data: ['221 2.0.0 mx.example.org closing connection\r\n'], then: 'close' });
  });

  it('switches to the data timeout in DATA and offers timeout/shutdown replies', async () => {
    const h = await greeted({ limits: { commandTimeoutMs: 1000, dataTimeoutMs: 5000 } });
    assert.equal(h.session.idleTimeoutMs, 1000);
    await h.say('MAIL FROM:<a@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    assert.equal(h.session.idleTimeoutMs, 5000);
    assert.deepEqual(h.session.idleTimeout(), { data: ['421 4.4.2 mx.example.org Error: timeout exceeded\r\n'], then: 'close' });
    assert.equal(h.messages[0]!.state, 'aborted');
    assert.match(h.session.shutdown().data[0] as string, /^421 4\.3\.2 /);
  });
});

describe('SMTP server session: STARTTLS', () => {
  it('discards everything pipelined after STARTTLS (CVE-2011-0411)', async () => {
    const h = smtpHarness();
    await h.start();
    await h.say('EHLO c.example\r\n');
    const out = await h.sayFull('STARTTLS\r\nMAIL FROM:<evil@example.net>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n');
    assert.deepEqual(out, { data: ['220 2.0.0 Ready to start TLS\r\n'], then: 'starttls' });
    h.startTls();
    await h.say('EHLO c.example\r\n');
    // No transaction survived the handshake.
    assert.equal(await h.say('RCPT TO:<b@example.org>\r\n'), '503 5.5.1 Need MAIL command first\r\n');
    // Also a partial line held before STARTTLS is gone.
    const h2 = smtpHarness();
    await h2.start();
    await h2.say('EHLO c.example\r\n');
    await h2.say('STARTTLS\r\nMAIL FR');
    h2.startTls();
    assert.equal(await h2.say('OM:<x@example.net>\r\n'), '500 5.5.1 Command unrecognized\r\n');
  });

  it('refuses a second STARTTLS with 503 5.5.1 and STARTTLS when no certificate with 454', async () => {
    const h = smtpHarness({ tls: { protocol: 'TLSv1.3', cipher: 'x' } });
    await h.start();
    await h.say('EHLO c.example\r\n');
    assert.equal(await h.say('STARTTLS\r\n'), '503 5.5.1 TLS already active\r\n');
    const plain = smtpHarness({ starttlsAvailable: false });
    await plain.start();
    assert.doesNotMatch(await plain.say('EHLO c.example\r\n'), /STARTTLS/);
    assert.equal(await plain.say('STARTTLS\r\n'), '454 4.7.0 TLS not available\r\n');
  });
});

describe('SMTP server session: AUTH', () => {
  async function tlsSession(options: Parameters<typeof smtpHarness>[0] = {}) {
    const h = smtpHarness({ role: 'submission', ...options });
    await h.start();
    await h.say('EHLO c.example\r\n');
    await h.sayFull('STARTTLS\r\n');
    h.startTls();
    await h.say('EHLO c.example\r\n');
    return h;
  }

  it('refuses AUTH without TLS with 538 5.7.11', async () => {
    const h = smtpHarness();
    await h.start();
    await h.say('EHLO c.example\r\n');
    assert.equal(await h.say(`AUTH PLAIN ${b64('\0alice\0secret')}\r\n`), '538 5.7.11 Encryption required for requested authentication mechanism\r\n');
    // requireTlsForAuth refuses even when the authenticator would allow plaintext.
    const strict = smtpHarness({ requireTlsForAuth: true, sasl: fakeSasl({ plaintextAllowed: true }) });
    await strict.start();
    assert.doesNotMatch(await strict.say('EHLO c.example\r\n'), /AUTH/);
    assert.match(await strict.say('AUTH PLAIN\r\n'), /^538 5\.7\.11 /);
  });

  it('authenticates with an initial response, then refuses a second AUTH with 503', async () => {
    const h = await tlsSession();
    assert.equal(await h.say(`AUTH PLAIN ${b64('\0alice\0secret')}\r\n`), '235 2.7.0 Authentication successful\r\n');
    assert.equal(await h.say(`AUTH PLAIN ${b64('\0alice\0secret')}\r\n`), '503 5.5.1 Already authenticated\r\n');
    assert.equal(await h.say('MAIL FROM:<alice@example.org>\r\nRCPT TO:<b@example.org>\r\nDATA\r\n'), '250 2.1.0 Sender ok\r\n250 2.1.5 Recipient ok\r\n354 End data with <CR><LF>.<CR><LF>\r\n');
    await h.say('hi\r\n.\r\n');
    const env = h.messages[0]!.envelope;
    assert.equal(env.protocol, 'ESMTPSA');
    assert.deepEqual(env.identity, { accountId: 1, address: 'alice@example.org' });
    assert.equal(env.tls?.protocol, 'TLSv1.3');
  });

  it('runs a challenge exchange, answers bad credentials with 535 5.7.8', async () => {
    const h = await tlsSession();
    assert.equal(await h.say('AUTH PLAIN\r\n'), '334 \r\n');
    assert.equal(await h.say(`${b64('\0alice\0wrong')}\r\n`), '535 5.7.8 Authentication credentials invalid\r\n');
    assert.equal(await h.say('AUTH PLAIN =\r\n'), '535 5.7.8 Authentication credentials invalid\r\n');
  });

  it('sends server-final data as a 334 and succeeds on the empty answer', async () => {
    const h = await tlsSession();
    assert.equal(await h.say('AUTH twostep\r\n'), `334 ${b64('who?')}\r\n`);
    assert.equal(await h.say(`${b64('alice')}\r\n`), `334 ${b64('v=final')}\r\n`);
    assert.equal(await h.say('\r\n'), '235 2.7.0 Authentication successful\r\n');
  });

  it('cancels on "*" with 501 5.7.0 and refuses bad base64 with 501 5.5.2', async () => {
    const h = await tlsSession();
    await h.say('AUTH PLAIN\r\n');
    assert.equal(await h.say('*\r\n'), '501 5.7.0 Authentication cancelled\r\n');
    await h.say('AUTH PLAIN\r\n');
    assert.equal(await h.say('not base64!\r\n'), '501 5.5.2 Cannot decode response\r\n');
    assert.equal(await h.say('AUTH PLAIN %%%%\r\n'), '501 5.5.2 Cannot decode response\r\n');
    assert.equal(await h.say('AUTH CRAM-MD5\r\n'), '504 5.5.4 Unrecognized authentication type\r\n');
  });

  it('answers throttled authentication with 454 4.7.0', async () => {
    const h = await tlsSession({ sasl: fakeSasl({ throttled: true }) });
    assert.equal(await h.say(`AUTH PLAIN ${b64('\0alice\0secret')}\r\n`), '454 4.7.0 Too many authentication failures, try again later\r\n');
  });

  it('refuses AUTH inside a mail transaction with 503', async () => {
    const h = await tlsSession({ role: 'mx' });
    await h.say('MAIL FROM:<a@example.net>\r\n');
    assert.equal(await h.say(`AUTH PLAIN ${b64('\0alice\0secret')}\r\n`), '503 5.5.1 AUTH not allowed during a mail transaction\r\n');
  });

  it('accepts an AUTH line longer than 512 octets (RFC 4954 §4)', async () => {
    const h = await tlsSession();
    assert.equal(await h.say(`AUTH PLAIN ${b64(`\0alice\0${'p'.repeat(600)}`)}\r\n`), '535 5.7.8 Authentication credentials invalid\r\n');
  });
});
