/**
 * The SMTP MX role through the front door: nodemailer and a raw socket against a whole in-process
 * server, asserting reply codes and the bytes stored in the mailboxes.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawSmtp, dotStuff, sendRaw } from '../harness/smtp-raw.ts';

const DOMAIN = 'example.test';
const BOB = `bob@${DOMAIN}`;
const CAROL = `carol@${DOMAIN}`;
const CATCHALL = `catchall@${DOMAIN}`;

let t: TestServer;

before(async () => {
  t = await startTestServer({ config: { limits: { recipients: 3, connectionsPerIp: 250 } } });
  await t.addUser(BOB, 'bob-password');
  await t.addUser(CAROL, 'carol-password');
  await t.addUser(CATCHALL, 'catchall-password');
  await t.addAlias(`sales@${DOMAIN}`, [CAROL]);
  await t.addAlias(`@${DOMAIN}`, [CATCHALL]);
});

after(async () => {
  await t?.stop();
});

function transport(options: { requireTLS?: boolean; ignoreTLS?: boolean } = {}): nodemailer.Transporter {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: t.ports.smtp,
    secure: false,
    requireTLS: options.requireTLS ?? false,
    ignoreTLS: options.ignoreTLS ?? false,
    tls: { ca: t.ca, servername: 'mx.postamt.test' },
    name: 'client.test',
  });
}

/** A raw CRLF message with a unique Message-ID so the stored copy can be found. */
function rawMessage(options: { subject: string; body: string; to?: string; extraHeaders?: string }): { id: string; text: string } {
  const id = `<${randomBytes(8).toString('hex')}@client.test>`;
  const text = [
    'From: Alice <alice@sender.test>',
    `To: ${options.to ?? BOB}`,
    `Subject: ${options.subject}`,
    `Message-ID: ${id}`,
    'Date: Mon, 23 Nov 2026 10:00:00 +0000',
    ...(options.extraHeaders ? [options.extraHeaders] : []),
    '',
    options.body,
  ].join('\r\n');
  return { id, text };
}

/** The stored copies (in `address`'s INBOX) whose Message-ID is `id`. */
async function storedWithId(address: string, id: string): Promise<Buffer[]> {
  const out: Buffer[] = [];
  for (const m of await t.messages(address)) {
    const bytes = await t.read(address, m.uid);
    if (bytes.includes(`Message-ID: ${id}\r\n`)) out.push(bytes);
  }
  return out;
}

async function waitStored(address: string, id: string, timeoutMs = 5000): Promise<Buffer> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = await storedWithId(address, id);
    if (found.length === 1) return found[0]!;
    assert.ok(found.length < 2, `${found.length} copies of ${id} in ${address}`);
    if (Date.now() > deadline) assert.fail(`${id} never arrived in ${address}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

/** Postamt prepends Return-Path and Received; everything after must be exactly what was sent. */
function assertStoredExactly(stored: Buffer, sent: Buffer | string): void {
  const sentBytes = Buffer.isBuffer(sent) ? sent : Buffer.from(sent, 'utf8');
  assert.ok(stored.subarray(0, 13).toString() === 'Return-Path: ', 'the stored message starts with Return-Path');
  assert.match(stored.toString('latin1', 0, 2000), /\r\nReceived: from /);
  assert.ok(stored.length > sentBytes.length, 'stored copy is longer than the sent bytes (trace fields)');
  const tail = stored.subarray(stored.length - sentBytes.length);
  assert.ok(tail.equals(sentBytes), 'the stored message ends with exactly the sent bytes');
}

describe('SMTP MX with nodemailer', () => {
  test('a plain message over STARTTLS is stored byte for byte after the trace fields', async () => {
    const msg = rawMessage({ subject: 'plain', body: 'Hello Bob.\r\nSecond line.\r\n' });
    const info = await transport({ requireTLS: true }).sendMail({ envelope: { from: 'alice@sender.test', to: [BOB] }, raw: msg.text });
    assert.match(info.response, /^250 2\.0\.0 /);
    assertStoredExactly(await waitStored(BOB, msg.id), msg.text);
    const log = t.logs.find((l) => l.event === 'smtp.transaction' && l.result === info.response.slice(10));
    assert.ok(log, 'an smtp.transaction log line');
    assert.equal(log.sender, 'alice@sender.test');
    assert.deepEqual(log.recipients, [BOB]);
    assert.equal(log.code, 250);
    assert.equal(typeof log.size, 'number');
    assert.match(String(log.tls), /^TLSv1\.[23]$/, 'STARTTLS was used');
  });

  test('an 8-bit body sent with BODY=8BITMIME keeps its bytes', async () => {
    const msg = rawMessage({ subject: 'eight bit', body: 'Grüße aus Köln — ½ € ✓\r\n', extraHeaders: 'Content-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit' });
    const info = await transport().sendMail({ envelope: { from: 'alice@sender.test', to: [BOB], use8BitMime: true } as never, raw: msg.text });
    assert.match(info.response, /^250 /);
    assertStoredExactly(await waitStored(BOB, msg.id), msg.text);
  });

  test('a 10 MB message is stored byte for byte', async () => {
    const line = `${'x'.repeat(70)}\r\n`;
    const body = line.repeat(Math.ceil((10 * 1024 * 1024) / line.length));
    const msg = rawMessage({ subject: 'ten megabytes', body });
    const info = await transport().sendMail({ envelope: { from: 'alice@sender.test', to: [BOB] }, raw: msg.text });
    assert.match(info.response, /^250 /);
    const stored = await waitStored(BOB, msg.id, 20_000);
    assert.ok(stored.length > 10 * 1024 * 1024);
    assertStoredExactly(stored, msg.text);
  });

  test('lines starting with "." survive dot-stuffing', async () => {
    const body = '.hidden line\r\n..two dots\r\n.\r\nmiddle\r\n. \r\nend\r\n';
    const msg = rawMessage({ subject: 'dots', body });
    const info = await transport().sendMail({ envelope: { from: 'alice@sender.test', to: [BOB] }, raw: msg.text });
    assert.match(info.response, /^250 /);
    assertStoredExactly(await waitStored(BOB, msg.id), msg.text);
  });

  test('plus-addressing, an alias and the per-domain catch-all deliver to the right accounts', async () => {
    const plus = rawMessage({ subject: 'plus', body: 'tagged\r\n', to: `bob+lists@${DOMAIN}` });
    const alias = rawMessage({ subject: 'alias', body: 'to sales\r\n', to: `sales@${DOMAIN}` });
    const stray = rawMessage({ subject: 'catch-all', body: 'to nobody\r\n', to: `nobody@${DOMAIN}` });
    const tr = transport();
    for (const [msg, rcpt] of [[plus, `bob+lists@${DOMAIN}`], [alias, `sales@${DOMAIN}`], [stray, `nobody@${DOMAIN}`]] as const) {
      const info = await tr.sendMail({ envelope: { from: 'alice@sender.test', to: [rcpt] }, raw: msg.text });
      assert.match(info.response, /^250 /, rcpt);
    }
    assertStoredExactly(await waitStored(BOB, plus.id), plus.text);
    assertStoredExactly(await waitStored(CAROL, alias.id), alias.text);
    assertStoredExactly(await waitStored(CATCHALL, stray.id), stray.text);
    assert.equal((await storedWithId(CATCHALL, plus.id)).length, 0, 'plus-addressed mail does not fall to the catch-all');
  });

  test('relaying to another domain is refused with 554 5.7.1', async () => {
    const msg = rawMessage({ subject: 'relay', body: 'x\r\n', to: 'someone@elsewhere.test' });
    await assert.rejects(
      transport().sendMail({ envelope: { from: 'alice@sender.test', to: ['someone@elsewhere.test'] }, raw: msg.text }),
      (err: Error & { responseCode?: number; response?: string }) => err.responseCode === 554 && /5\.7\.1/.test(err.response ?? ''),
    );
  });

  test('several recipients in one transaction each get exactly one copy', async () => {
    const msg = rawMessage({ subject: 'many', body: 'to all\r\n', to: `${BOB}, ${CAROL}` });
    const info = await transport().sendMail({ envelope: { from: 'alice@sender.test', to: [BOB, CAROL, `bob+again@${DOMAIN}`] }, raw: msg.text });
    assert.match(info.response, /^250 /);
    assert.deepEqual(info.accepted.sort(), [BOB, `bob+again@${DOMAIN}`, CAROL].sort());
    assertStoredExactly(await waitStored(BOB, msg.id), msg.text);
    assertStoredExactly(await waitStored(CAROL, msg.id), msg.text);
  });

  test('200 concurrent sessions are all accepted and stored once each', async () => {
    const ids: string[] = [];
    const sends = Array.from({ length: 200 }, (_, i) => {
      const token = `conc-${i}-${randomBytes(4).toString('hex')}`;
      ids.push(token);
      return sendRaw(t.ports.smtp, { from: 'alice@sender.test', to: [CAROL], data: `Subject: ${token}\r\nMessage-ID: <${token}@c>\r\n\r\nbody ${i}\r\n` });
    });
    const replies = await Promise.all(sends);
    assert.deepEqual(replies.map((r) => r.code).filter((c) => c !== 250), [], 'every session got 250');
    const subjects: string[] = [];
    for (const m of await t.messages(CAROL)) {
      const head = (await t.read(CAROL, m.uid)).toString('latin1');
      const s = /\r\nSubject: (conc-\S+)\r\n/.exec(head)?.[1];
      if (s) subjects.push(s);
    }
    assert.equal(subjects.length, 200, 'no message lost or duplicated');
    // One smtp.transaction log line per transaction, found by the queue id of its 250 reply.
    for (const reply of replies) {
      const queueId = /queued as (\S+)/.exec(reply.text)?.[1];
      const lines = t.logs.filter((l) => l.event === 'smtp.transaction' && l.queueId === queueId);
      assert.equal(lines.length, 1, `one log line for ${queueId}`);
      assert.equal(lines[0]!.sender, 'alice@sender.test');
      assert.deepEqual(lines[0]!.recipients, [CAROL]);
      assert.equal(lines[0]!.code, 250);
      assert.ok(Number(lines[0]!.size) > 30);
    }
    assert.deepEqual([...new Set(subjects)].sort(), [...ids].sort());
  });
});

describe('SMTP MX on a raw socket', () => {
  async function session(): Promise<RawSmtp> {
    const { client, greeting } = await RawSmtp.connect(t.ports.smtp);
    assert.equal(greeting.code, 220);
    const ehlo = await client.command('EHLO raw.test');
    assert.equal(ehlo.code, 250);
    for (const ext of ['PIPELINING', '8BITMIME', 'SIZE', 'ENHANCEDSTATUSCODES', 'SMTPUTF8', 'CHUNKING', 'DSN', 'STARTTLS']) {
      assert.ok(ehlo.lines.some((l) => l.toUpperCase().startsWith(ext)), `EHLO advertises ${ext}`);
    }
    return client;
  }

  test('a PIPELINING batch gets one reply per command, in order', async () => {
    const c = await session();
    const token = `pipe-${randomBytes(4).toString('hex')}`;
    c.write(`MAIL FROM:<alice@sender.test> BODY=8BITMIME\r\nRCPT TO:<${BOB}>\r\nRCPT TO:<nobody-at-all@elsewhere.test>\r\nRCPT TO:<${CAROL}>\r\nDATA\r\n`);
    const [mail, r1, r2, r3, data] = await c.readMany(5);
    assert.deepEqual([mail!.code, r1!.code, r2!.code, r3!.code, data!.code], [250, 250, 554, 250, 354]);
    assert.equal(r2!.enhanced, '5.7.1');
    c.write(`Subject: ${token}\r\nMessage-ID: <${token}@p>\r\n\r\nGrüße\r\n.\r\nQUIT\r\n`);
    const [end, quit] = await c.readMany(2);
    assert.equal(end!.code, 250);
    assert.equal(quit!.code, 221);
    await waitStored(BOB, `<${token}@p>`);
    await waitStored(CAROL, `<${token}@p>`);
    c.close();
  });

  test('BDAT chunks, including BDAT 0 LAST, are joined into one message', async () => {
    const c = await session();
    const token = `bdat-${randomBytes(4).toString('hex')}`;
    const part1 = `Subject: ${token}\r\nMessage-ID: <${token}@b>\r\n\r\n`;
    const part2 = '.a line with a dot is not stuffed in BDAT\r\n';
    assert.equal((await c.command('MAIL FROM:<alice@sender.test>')).code, 250);
    assert.equal((await c.command(`RCPT TO:<${BOB}>`)).code, 250);
    c.write(`BDAT ${Buffer.byteLength(part1)}\r\n${part1}BDAT ${Buffer.byteLength(part2)}\r\n${part2}BDAT 0 LAST\r\n`);
    const replies = await c.readMany(3);
    assert.deepEqual(replies.map((r) => r.code), [250, 250, 250]);
    assertStoredExactly(await waitStored(BOB, `<${token}@b>`), part1 + part2);
    // The session goes on: a second transaction with one BDAT LAST.
    const token2 = `bdat2-${randomBytes(4).toString('hex')}`;
    const whole = `Subject: ${token2}\r\nMessage-ID: <${token2}@b>\r\n\r\nx\r\n`;
    c.write(`MAIL FROM:<alice@sender.test>\r\nRCPT TO:<${BOB}>\r\nBDAT ${whole.length} LAST\r\n${whole}`);
    assert.deepEqual((await c.readMany(3)).map((r) => r.code), [250, 250, 250]);
    assertStoredExactly(await waitStored(BOB, `<${token2}@b>`), whole);
    c.close();
  });

  test('every error path gets its reply and the session keeps working', async () => {
    const c = await session();
    const expect = async (line: string, code: number, enhanced: string): Promise<void> => {
      const r = await c.command(line);
      assert.equal(r.code, code, `${line.slice(0, 40)} → ${r.code} ${r.text}`);
      assert.equal(r.enhanced, enhanced, `${line.slice(0, 40)} → ${r.text}`);
    };
    await expect(`NOOP ${'x'.repeat(600)}`, 500, '5.5.2');
    await expect('NOOP', 250, '2.0.0');
    await expect('FOO bar', 500, '5.5.1');
    await expect('RCPT TO:<bob@example.test>', 503, '5.5.1');
    await expect('DATA', 503, '5.5.1');
    await expect('MAIL FROM:alice', 501, '5.5.4');
    await expect(`MAIL FROM:<alice@sender.test> SIZE=${t.config.limits.messageSize + 1}`, 552, '5.3.4');
    await expect('MAIL FROM:<alice@sender.test> SIZE=1000', 250, '2.1.0');
    await expect('MAIL FROM:<alice@sender.test>', 503, '5.5.1');
    await expect('RCPT TO:<no-such-user@elsewhere.test>', 554, '5.7.1');
    await expect('RCPT TO:bob', 501, '5.5.4');
    // limits.recipients is 3 here.
    await expect(`RCPT TO:<${BOB}>`, 250, '2.1.5');
    await expect(`RCPT TO:<${CAROL}>`, 250, '2.1.5');
    await expect(`RCPT TO:<bob+x@${DOMAIN}>`, 250, '2.1.5');
    await expect(`RCPT TO:<bob+y@${DOMAIN}>`, 452, '4.5.3');
    assert.equal((await c.command('VRFY bob')).code, 252, 'VRFY does not enumerate users');
    await expect('RSET', 250, '2.0.0');
    // After all that, a whole transaction still works.
    const token = `after-errors-${randomBytes(4).toString('hex')}`;
    await expect('MAIL FROM:<alice@sender.test>', 250, '2.1.0');
    await expect(`RCPT TO:<${BOB}>`, 250, '2.1.5');
    assert.equal((await c.command('DATA')).code, 354);
    c.write(`Subject: ${token}\r\nMessage-ID: <${token}@e>\r\n\r\nok\r\n.\r\n`);
    assert.equal((await c.read()).code, 250);
    await waitStored(BOB, `<${token}@e>`);
    c.close();
  });

  test('unknown local user gets 550 5.1.1', async () => {
    const c = await session();
    assert.equal((await c.command('MAIL FROM:<alice@sender.test>')).code, 250);
    // The catch-all would take unknown users of example.test, so use a local domain without one.
    await t.addDomain('nocatch.test');
    const r = await c.command('RCPT TO:<ghost@nocatch.test>');
    assert.equal(r.code, 550);
    assert.equal(r.enhanced, '5.1.1');
    c.close();
  });

  test('commands pipelined after STARTTLS are discarded before the handshake', async () => {
    const c = await session();
    const tls = await c.startTls(t.ca, { pipelined: `MAIL FROM:<injected@evil.test>\r\nFOO\r\n` });
    assert.equal(tls.code, 220);
    // Had the injected lines survived, the next replies would be 250 (MAIL) and 500 (FOO).
    const ehlo = await c.command('EHLO raw.test');
    assert.equal(ehlo.code, 250);
    assert.match(ehlo.lines[0]!, /^mx\.postamt\.test /, 'the first reply inside TLS answers our EHLO');
    assert.ok(!ehlo.lines.some((l) => l.toUpperCase() === 'STARTTLS'), 'no STARTTLS offered inside TLS');
    assert.equal((await c.command('MAIL FROM:<alice@sender.test>')).code, 250, 'no transaction was open from the injected MAIL');
    assert.equal((await c.command('NOOP')).code, 250);
    c.close();
  });

  for (const [name, ending] of [['\\n.\\n', '\n.\n'], ['\\r\\n.\\n', '\r\n.\n'], ['\\n.\\r\\n', '\n.\r\n'], ['\\r.\\r', '\r.\r']] as const) {
    test(`SMTP smuggling: ${name} followed by MAIL/RCPT/DATA never splits the message`, async () => {
      const c = await session();
      const outer = `smuggle-outer-${randomBytes(4).toString('hex')}`;
      const inner = `smuggle-inner-${randomBytes(4).toString('hex')}`;
      assert.equal((await c.command('MAIL FROM:<alice@sender.test>')).code, 250);
      assert.equal((await c.command(`RCPT TO:<${BOB}>`)).code, 250);
      assert.equal((await c.command('DATA')).code, 354);
      c.write(`Subject: ${outer}\r\nMessage-ID: <${outer}@s>\r\n\r\nhello${ending}MAIL FROM:<admin@example.test>\r\nRCPT TO:<${CAROL}>\r\nDATA\r\nSubject: ${inner}\r\nMessage-ID: <${inner}@s>\r\n\r\nsmuggled\r\n.\r\n`);
      const end = await c.read();
      assert.equal(end.code, 554, `bare line ending refused: ${end.text}`);
      // Nothing else was answered: the smuggled commands were part of the (refused) message.
      assert.equal((await c.command('NOOP')).code, 250);
      const token = `after-smuggle-${randomBytes(4).toString('hex')}`;
      c.write(`MAIL FROM:<alice@sender.test>\r\nRCPT TO:<${BOB}>\r\nDATA\r\n`);
      assert.deepEqual((await c.readMany(3)).map((r) => r.code), [250, 250, 354]);
      c.write(`${dotStuff(`Subject: ${token}\r\nMessage-ID: <${token}@s>\r\n\r\n.ok`)}.\r\n`);
      assert.equal((await c.read()).code, 250);
      await waitStored(BOB, `<${token}@s>`);
      for (const who of [BOB, CAROL, CATCHALL]) {
        assert.equal((await storedWithId(who, `<${inner}@s>`)).length, 0, `no smuggled message for ${who}`);
        assert.equal((await storedWithId(who, `<${outer}@s>`)).length, 0, `no outer message for ${who}`);
      }
      c.close();
    });
  }
});

describe('SMTP MX connection limits', () => {
  test('more connections from one IP than allowed get 421 4.7.0', async () => {
    const small = await startTestServer({ config: { limits: { connectionsPerIp: 2 } } });
    try {
      const a = await RawSmtp.connect(small.ports.smtp);
      const b = await RawSmtp.connect(small.ports.smtp);
      assert.equal(a.greeting.code, 220);
      assert.equal(b.greeting.code, 220);
      const third = await RawSmtp.connect(small.ports.smtp);
      assert.equal(third.greeting.code, 421);
      assert.equal(third.greeting.enhanced, '4.7.0');
      await third.client.waitClosed();
      // The admitted sessions keep working, and a slot frees up when one quits.
      assert.equal((await a.client.command('NOOP')).code, 250);
      assert.equal((await b.client.command('QUIT')).code, 221);
      await b.client.waitClosed();
      // The server sees the close a little after the client (later still on a loaded machine).
      for (let i = 0; i < 400 && small.server.listeners.smtp!.connections !== 1; i++) await new Promise((r) => setTimeout(r, 25));
      assert.equal(small.server.listeners.smtp!.connections, 1, 'the server let the quitting session go');
      const fourth = await RawSmtp.connect(small.ports.smtp);
      assert.equal(fourth.greeting.code, 220);
      fourth.client.close();
      a.client.close();
    } finally {
      await small.stop();
    }
  });
});
