// Submission end to end (RFC 6409, RFC 3207, RFC 4954, RFC 8314): nodemailer over 587 STARTTLS and 465
// implicit TLS with PLAIN and LOGIN, SCRAM-SHA-256 with our own client, TLS verified against a test CA.
// Sender rights, RFC 6409 §8 fixes, brute-force lockout, rate limits, app passwords, concurrency.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { deriveScram, hashPassword } from '../../src/accounts/passwords.ts';
import { plainClientResponse, ScramSha256Client } from '../../src/protocols/sasl/client.ts';
import type { ConfigPatch } from '../../src/config/schema.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawSmtp, type SmtpReply } from '../harness/smtp-raw.ts';
import { makeTlsFixture, type TlsFixture } from '../harness/test-ca.ts';

const ALICE = 'alice@example.org';
const BOB = 'bob@example.org';
const CAROL = 'carol@example.org';
const PASS = 'correct horse battery staple';
const REMOTE = 'someone@remote.example';

const fixture: TlsFixture = makeTlsFixture();
after(() => rmSync(fixture.dir, { recursive: true, force: true }));

async function startServer(config: ConfigPatch = {}): Promise<TestServer> {
  const t = await startTestServer({
    startQueue: false,
    config: { ...config, tls: { cert: fixture.certPath, key: fixture.keyPath }, auth: { penaltyDelay: 0, maxFailuresPerIp: 100, ...config.auth } },
  });
  await t.addUser(ALICE, PASS);
  await t.addUser(BOB, PASS);
  return t;
}

/** An implicit-TLS connection verified against the test CA, after its 220 greeting. */
async function implicitTls(port: number): Promise<RawSmtp> {
  const { client, greeting } = await RawSmtp.connectTls(port, { ca: fixture.ca.cert, servername: 'localhost' });
  assert.equal(greeting.code, 220);
  return client;
}

type Commander = { command(line: string): Promise<SmtpReply> };

async function scramLogin(client: Commander, username: string, password: string): Promise<SmtpReply> {
  const scram = new ScramSha256Client({ username, password });
  let reply = await client.command(`AUTH SCRAM-SHA-256 ${scram.clientFirst().toString('base64')}`);
  if (reply.code !== 334) return reply;
  const final = await scram.handleServerFirst(Buffer.from(reply.text, 'base64'));
  reply = await client.command(final.toString('base64'));
  if (reply.code !== 334) return reply;
  scram.verifyServerFinal(Buffer.from(reply.text, 'base64'));
  return client.command('');
}

function plain(username: string, password: string): string {
  return `AUTH PLAIN ${plainClientResponse(username, password).toString('base64')}`;
}

/** Connects to 587, upgrades with STARTTLS (chain verified against the CA) and says EHLO again. */
async function starttlsSession(t: TestServer): Promise<RawSmtp> {
  const { client, greeting } = await RawSmtp.connect(t.ports.submission);
  assert.equal(greeting.code, 220);
  assert.equal((await client.command('EHLO client.test')).code, 250);
  assert.equal((await client.startTls(fixture.ca.cert)).code, 220);
  assert.equal((await client.command('EHLO client.test')).code, 250);
  return client;
}

async function sendData(client: Commander & { write?: unknown }, from: string, to: string[], body: string): Promise<SmtpReply> {
  let reply = await client.command(`MAIL FROM:<${from}>`);
  if (reply.code !== 250) return reply;
  for (const rcpt of to) {
    reply = await client.command(`RCPT TO:<${rcpt}>`);
    if (reply.code !== 250) return reply;
  }
  reply = await client.command('DATA');
  if (reply.code !== 354) return reply;
  return client.command(`${body.replace(/\r?\n/g, '\r\n').replace(/(^|\r\n)\./g, '$1..')}\r\n.`);
}

function transport(t: TestServer, options: { implicit: boolean; method?: string; user?: string; pass?: string }) {
  return nodemailer.createTransport({
    host: '127.0.0.1',
    port: options.implicit ? t.ports.submissions : t.ports.submission,
    secure: options.implicit,
    requireTLS: !options.implicit,
    authMethod: options.method,
    auth: { user: options.user ?? ALICE, pass: options.pass ?? PASS },
    tls: { ca: fixture.ca.cert, servername: 'localhost' },
  });
}

function headerOf(raw: string): string {
  const end = raw.indexOf('\r\n\r\n');
  return end < 0 ? raw : raw.slice(0, end + 2);
}

describe('submission: nodemailer and SCRAM over verified TLS', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t?.stop();
  });

  for (const implicit of [false, true]) {
    for (const method of ['PLAIN', 'LOGIN']) {
      it(`${implicit ? '465 implicit TLS' : '587 STARTTLS'} with AUTH ${method}: local recipient delivered at once, remote one queued`, async () => {
        const subject = `via ${implicit ? 465 : 587} ${method}`;
        const before = (await t.messages(BOB)).length;
        const queued = (await t.server.services.store.listQueue()).length;
        const transporter = transport(t, { implicit, method });
        try {
          const info = await transporter.sendMail({ from: ALICE, to: [BOB, REMOTE], subject, text: 'hello\n.dot line\n' });
          assert.deepEqual([...info.accepted].sort(), [BOB, REMOTE].sort());
        } finally {
          transporter.close();
        }
        // Delivered before the 250 after DATA: no waiting.
        const list = await t.messages(BOB);
        assert.equal(list.length, before + 1);
        const raw = (await t.read(BOB, list[list.length - 1]!.uid)).toString('latin1');
        assert.match(raw, new RegExp(`^Subject: ${subject}\r$`, 'm'));
        assert.match(raw, /\r\n\.dot line\r\n/);
        const queue = await t.server.services.store.listQueue();
        assert.equal(queue.length, queued + 1);
        const entry = queue[queue.length - 1]!;
        assert.equal(entry.sender, ALICE);
        assert.deepEqual(entry.recipients.map((r) => r.address), [REMOTE]);
        const auth = t.logs.filter((l) => l.event === 'auth.success' && l.username === ALICE).at(-1);
        assert.equal(auth?.mechanism, method);
      });
    }
  }

  // nodemailer 6 speaks PLAIN, LOGIN, CRAM-MD5 and XOAUTH2 but not SCRAM: drive SCRAM ourselves.
  it('SCRAM-SHA-256 over 465 implicit TLS and 587 STARTTLS, then sends', async () => {
    const implicit = await implicitTls(t.ports.submissions);
    try {
      const ehlo = await implicit.command('EHLO client.test');
      assert.match(ehlo.text, /^AUTH .*SCRAM-SHA-256/m);
      const auth = await scramLogin(implicit, ALICE, PASS);
      assert.equal(auth.code, 235, auth.text);
      const before = (await t.messages(BOB)).length;
      const end = await sendData(implicit, ALICE, [BOB], `From: ${ALICE}\r\nTo: ${BOB}\r\nSubject: scram\r\n\r\nbody`);
      assert.equal(end.code, 250, end.text);
      assert.equal((await t.messages(BOB)).length, before + 1);
    } finally {
      implicit.close();
    }
    const starttls = await starttlsSession(t);
    try {
      assert.equal((await scramLogin(starttls, ALICE, PASS)).code, 235);
      assert.equal((await scramLogin(starttls, ALICE, PASS)).code, 503, 'a second AUTH is refused (RFC 4954 §4)');
    } finally {
      starttls.close();
    }
    const bad = await implicitTls(t.ports.submissions);
    try {
      await bad.command('EHLO client.test');
      const reply = await scramLogin(bad, ALICE, 'wrong password');
      assert.equal(reply.code, 535);
      assert.equal(reply.enhanced, '5.7.8');
    } finally {
      bad.close();
    }
  });

  it('nodemailer with a wrong password gets 535 5.7.8', async () => {
    const transporter = transport(t, { implicit: true, method: 'PLAIN', pass: 'nope' });
    try {
      await assert.rejects(transporter.sendMail({ from: ALICE, to: BOB, text: 'x' }), (err: Error & { responseCode?: number; response?: string }) => {
        assert.equal(err.responseCode, 535);
        assert.match(err.response ?? '', /^535 5\.7\.8 /);
        return true;
      });
    } finally {
      transporter.close();
    }
  });
});

describe('submission: access rules', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
    await t.addUser(CAROL, PASS);
    await t.addAlias('sales@example.org', [ALICE]);
    await t.server.services.store.updateAccount(CAROL, { sendAsDomains: ['brand.example'] });
  });
  after(async () => {
    await t?.stop();
  });

  it('offers no AUTH before STARTTLS on 587 and refuses AUTH in the clear with 538 5.7.11', async () => {
    const { client } = await RawSmtp.connect(t.ports.submission);
    try {
      const ehlo = await client.command('EHLO client.test');
      assert.equal(ehlo.code, 250);
      assert.ok(ehlo.lines.includes('STARTTLS'));
      assert.ok(!ehlo.lines.some((l) => /^AUTH\b/i.test(l)), ehlo.text);
      for (const line of [plain(ALICE, PASS), 'AUTH LOGIN', 'AUTH SCRAM-SHA-256']) {
        const reply = await client.command(line);
        assert.equal(reply.code, 538, `${line}: ${reply.text}`);
        assert.equal(reply.enhanced, '5.7.11');
      }
      const mail = await client.command(`MAIL FROM:<${ALICE}>`);
      assert.equal(mail.code, 530);
      assert.equal(mail.enhanced, '5.7.0');
      assert.equal((await client.startTls(fixture.ca.cert)).code, 220);
      const after = await client.command('EHLO client.test');
      assert.ok(!after.lines.includes('STARTTLS'));
      const auth = after.lines.find((l) => /^AUTH /.test(l));
      assert.deepEqual(auth?.split(' ').slice(1).sort(), ['LOGIN', 'PLAIN', 'SCRAM-SHA-256']);
    } finally {
      client.close();
    }
  });

  it('MAIL without AUTH over TLS gets 530 5.7.0', async () => {
    const client = await implicitTls(t.ports.submissions);
    try {
      await client.command('EHLO client.test');
      const reply = await client.command(`MAIL FROM:<${ALICE}>`);
      assert.equal(reply.code, 530);
      assert.equal(reply.enhanced, '5.7.0');
      const rcpt = await client.command(`RCPT TO:<${BOB}>`);
      assert.equal(Math.floor(rcpt.code / 100), 5);
    } finally {
      client.close();
    }
  });

  it('a wrong password and an unknown user get the identical 535 5.7.8 reply, for every mechanism', async () => {
    const client = await starttlsSession(t);
    try {
      const wrong = await client.command(plain(ALICE, 'wrong'));
      const unknown = await client.command(plain('nobody@example.org', 'wrong'));
      assert.equal(wrong.code, 535);
      assert.equal(wrong.enhanced, '5.7.8');
      assert.deepEqual(unknown, wrong);
      const loginWith = async (user: string): Promise<SmtpReply> => {
        assert.equal((await client.command('AUTH LOGIN')).code, 334);
        assert.equal((await client.command(Buffer.from(user).toString('base64'))).code, 334);
        return client.command(Buffer.from('wrong').toString('base64'));
      };
      assert.deepEqual(await loginWith('nobody@example.org'), await loginWith(ALICE));
      const scramWrong = await scramLogin(client, ALICE, 'wrong');
      const scramUnknown = await scramLogin(client, 'nobody@example.org', 'wrong');
      assert.equal(scramWrong.code, 535);
      assert.deepEqual(scramUnknown, scramWrong);
    } finally {
      client.close();
    }
  });

  it('a disabled account gets the same 535 5.7.8 as a wrong password, even with the right one', async () => {
    await t.addUser('dave@example.org', PASS);
    await t.server.services.store.updateAccount('dave@example.org', { disabled: true });
    const client = await starttlsSession(t);
    try {
      const disabled = await client.command(plain('dave@example.org', PASS));
      assert.equal(disabled.code, 535);
      assert.deepEqual(disabled, await client.command(plain(ALICE, 'wrong')));
      assert.equal((await scramLogin(client, 'dave@example.org', PASS)).code, 535);
    } finally {
      client.close();
    }
  });

  async function authed(user = ALICE): Promise<RawSmtp> {
    const client = await starttlsSession(t);
    const reply = await client.command(plain(user, PASS));
    assert.equal(reply.code, 235, reply.text);
    return client;
  }

  it('refuses another user\'s address as envelope sender with 553 5.7.1', async () => {
    const client = await authed();
    try {
      for (const sender of [BOB, 'bob+tag@example.org', 'ALICE@example.net', 'postmaster@example.org']) {
        const reply = await client.command(`MAIL FROM:<${sender}>`);
        assert.equal(reply.code, 553, `${sender}: ${reply.text}`);
        assert.equal(reply.enhanced, '5.7.1');
      }
    } finally {
      client.close();
    }
  });

  it('refuses another user\'s address in From: with 553 5.7.1, and nothing is delivered', async () => {
    const client = await authed();
    try {
      const before = (await t.messages(BOB)).length;
      for (const from of [BOB, `"Alice" <${ALICE}>, ${BOB}`, `Spoof <${BOB}>`]) {
        const reply = await sendData(client, ALICE, [BOB], `From: ${from}\r\nTo: ${BOB}\r\nSubject: spoof\r\n\r\nx`);
        assert.equal(reply.code, 553, `${from}: ${reply.text}`);
        assert.equal(reply.enhanced, '5.7.1');
      }
      assert.equal((await t.messages(BOB)).length, before);
    } finally {
      client.close();
    }
  });

  it('finds a spoofed From: hidden behind a first From:, in Sender:, or after 300 KiB of header fields', async () => {
    const client = await authed();
    try {
      const before = (await t.messages(BOB)).length;
      const padding = Array.from({ length: 3000 }, (_, i) => `X-Pad-${i}: ${'p'.repeat(90)}\r\n`).join('');
      const cases = [
        `From: ${ALICE}\r\nFrom: ${BOB}\r\nSubject: two froms\r\n\r\nx`,
        `From: ${ALICE}\r\nSender: ${BOB}\r\n\r\nx`,
        `${padding}From: ${BOB}\r\n\r\nx`,
      ];
      for (const body of cases) {
        const reply = await sendData(client, ALICE, [BOB], body);
        assert.equal(reply.code, 553, `${body.slice(0, 60)}: ${reply.text}`);
        assert.equal(reply.enhanced, '5.7.1');
      }
      const many = await sendData(client, ALICE, [BOB], `${'X: y\r\n'.repeat(10_001)}From: ${BOB}\r\n\r\nx`);
      assert.equal(many.code, 552, many.text);
      assert.equal((await t.messages(BOB)).length, before);
      // The session is still usable after the refusals.
      assert.equal((await sendData(client, ALICE, [BOB], `${padding}From: ${ALICE}\r\n\r\nx`)).code, 250);
    } finally {
      client.close();
    }
  });

  it('allows the user\'s own address in any case, +tag forms, and aliases that deliver to them', async () => {
    const client = await authed();
    try {
      for (const address of [ALICE, 'Alice@Example.org', 'alice+lists@example.org', 'sales@example.org', 'sales+q3@example.org']) {
        const reply = await sendData(client, address, [BOB], `From: Alice <${address}>\r\nTo: ${BOB}\r\nSubject: as ${address}\r\n\r\nx`);
        assert.equal(reply.code, 250, `${address}: ${reply.text}`);
      }
      // The null reverse-path (a client-generated DSN) is allowed; From: is still checked.
      assert.equal((await sendData(client, '', [BOB], `From: ${ALICE}\r\nSubject: dsn\r\n\r\nx`)).code, 250);
    } finally {
      client.close();
    }
  });

  it('allows any address in a domain an admin granted (sendAsDomains), and only there', async () => {
    const client = await authed(CAROL);
    try {
      const ok = await sendData(client, 'news@brand.example', [BOB], 'From: Brand <anyone@brand.example>\r\nSubject: brand\r\n\r\nx');
      assert.equal(ok.code, 250, ok.text);
      const no = await client.command('MAIL FROM:<news@other.example>');
      assert.equal(no.code, 553);
    } finally {
      client.close();
    }
  });

  it('adds Message-ID and Date when missing, keeps them when present (RFC 6409 §8)', async () => {
    const client = await authed();
    try {
      assert.equal((await sendData(client, ALICE, [BOB], `From: ${ALICE}\r\nTo: ${BOB}\r\nSubject: bare\r\n\r\nno ids`)).code, 250);
      assert.equal((await sendData(client, ALICE, [BOB], `From: ${ALICE}\r\nTo: ${BOB}\r\nSubject: full\r\nMessage-ID: <mine@client.test>\r\nDate: Tue, 1 Jul 2025 10:00:00 +0200\r\n\r\nids`)).code, 250);
    } finally {
      client.close();
    }
    const list = await t.messages(BOB);
    const bare = headerOf((await t.read(BOB, list.at(-2)!.uid)).toString('latin1'));
    const full = headerOf((await t.read(BOB, list.at(-1)!.uid)).toString('latin1'));
    assert.match(bare, /^Message-ID: <[0-9a-f]+@mx\.postamt\.test>\r$/m);
    assert.match(bare, /^Date: \w{3}, \d{1,2} \w{3} \d{4} \d\d:\d\d:\d\d \+0000\r$/m);
    assert.equal(full.match(/^Message-ID:/gim)?.length, 1);
    assert.match(full, /^Message-ID: <mine@client\.test>\r$/m);
    assert.equal(full.match(/^Date:/gim)?.length, 1);
    assert.match(full, /^Date: Tue, 1 Jul 2025 10:00:00 \+0200\r$/m);
    // Full detail (the default): the client's HELO and IP, the authenticated TLS protocol keyword.
    assert.match(bare, /^Received: from client\.test \(\[127\.0\.0\.1\]\)\r\n\tby mx\.postamt\.test \(Postamt\)\r\n\twith ESMTPSA \(TLSv1\.[23], /m);
  });
});

describe('submission: Received header detail', () => {
  for (const mode of ['minimal', 'none'] as const) {
    it(`receivedHeader = "${mode}"`, async () => {
      const t = await startServer({ submission: { receivedHeader: mode } });
      try {
        const transporter = transport(t, { implicit: true });
        try {
          await transporter.sendMail({ from: ALICE, to: BOB, subject: mode, text: 'x', headers: { 'X-Client': 'y' } });
        } finally {
          transporter.close();
        }
        const [message] = await t.messages(BOB);
        const header = headerOf((await t.read(BOB, message!.uid)).toString('latin1'));
        assert.doesNotMatch(header, /127\.0\.0\.1/);
        assert.doesNotMatch(header, /\[127/);
        const received = header.match(/^Received:.*(?:\r\n[ \t].*)*/gm) ?? [];
        if (mode === 'none') {
          assert.equal(received.length, 0, header);
        } else {
          assert.equal(received.length, 1, header);
          assert.match(received[0]!, /^Received: by mx\.postamt\.test \(Postamt\)\r\n\twith ESMTPSA/);
          assert.doesNotMatch(received[0]!, /from /);
        }
      } finally {
        await t.stop();
      }
    });
  }
});

describe('submission: brute-force lockout and recovery', () => {
  let t: TestServer;
  before(async () => {
    // A 5 s window: the three failures and the locked attempt fall inside it even when a loaded machine takes
    // a while per password check (with 1 s the first failure had left the window before the fourth attempt).
    t = await startServer({ auth: { maxFailuresPerIp: 3, failureWindow: 5000, penaltyDelay: 0 } });
  });
  after(async () => {
    await t?.stop();
  });

  it('after auth.maxFailuresPerIp failures even the right password gets 454 4.7.0; after the window it works', async () => {
    const client = await implicitTls(t.ports.submissions);
    try {
      await client.command('EHLO client.test');
      for (let i = 0; i < 3; i++) assert.equal((await client.command(plain(ALICE, `wrong${i}`))).code, 535);
      const locked = await client.command(plain(ALICE, PASS));
      assert.equal(locked.code, 454, locked.text);
      assert.equal(locked.enhanced, '4.7.0');
      // Another account from the same IP is locked out too (the counter is per IP).
      const other = await client.command(plain(BOB, PASS));
      assert.equal(other.code, 454);
      assert.ok(t.logs.some((l) => l.event === 'auth.failed' && l.ip === '127.0.0.1'));
      await new Promise((r) => setTimeout(r, 5200));
      const ok = await client.command(plain(ALICE, PASS));
      assert.equal(ok.code, 235, ok.text);
    } finally {
      client.close();
    }
  });
});

describe('submission: per-user rate limits', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ submission: { rateMessagesPerHour: 2, rateRecipientsPerHour: 3 } });
  });
  after(async () => {
    await t?.stop();
  });

  it('451 4.7.1 past the messages-per-hour and recipients-per-hour limits, per user', async () => {
    const client = await implicitTls(t.ports.submissions);
    try {
      await client.command('EHLO client.test');
      assert.equal((await client.command(plain(ALICE, PASS))).code, 235);
      assert.equal((await sendData(client, ALICE, [BOB, REMOTE], `From: ${ALICE}\r\n\r\n1`)).code, 250);
      // 2 recipients used of 3: a message to two more is over the recipient limit at the second RCPT.
      assert.equal((await client.command(`MAIL FROM:<${ALICE}>`)).code, 250);
      assert.equal((await client.command(`RCPT TO:<${BOB}>`)).code, 250);
      const over = await client.command(`RCPT TO:<${REMOTE}>`);
      assert.equal(over.code, 451, over.text);
      assert.equal(over.enhanced, '4.7.1');
      assert.equal((await client.command('DATA')).code, 354);
      assert.equal((await client.command(`From: ${ALICE}\r\n\r\n2\r\n.`)).code, 250);
      // Two messages sent: the third is over the message limit.
      assert.equal((await client.command(`MAIL FROM:<${ALICE}>`)).code, 250);
      const third = await client.command(`RCPT TO:<${BOB}>`);
      assert.equal(third.code, 451);
      assert.equal(third.enhanced, '4.7.1');
    } finally {
      client.close();
    }
    // Bob has his own budget.
    const transporter = transport(t, { implicit: true, user: BOB });
    try {
      await transporter.sendMail({ from: BOB, to: ALICE, text: 'bob' });
    } finally {
      transporter.close();
    }
  });
});

describe('submission: app passwords', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer();
  });
  after(async () => {
    await t?.stop();
  });

  it('an app password works with PLAIN and SCRAM-SHA-256 until revoked', async () => {
    const store = t.server.services.store;
    const account = (await store.getAccount(ALICE))!;
    const appPassword = 'abcd-efgh-jkmn-pqrs';
    const scram = await deriveScram(appPassword, { salt: account.scram!.salt, iterations: account.scram!.iterations });
    const record = await store.addAppPassword({ accountId: account.id, label: 'phone', passwordHash: await hashPassword(appPassword, { logN: 10 }), scram });

    const transporter = transport(t, { implicit: false, method: 'PLAIN', pass: appPassword });
    try {
      await transporter.sendMail({ from: ALICE, to: BOB, subject: 'from phone', text: 'x' });
    } finally {
      transporter.close();
    }
    assert.equal((await t.messages(BOB)).length, 1);
    const client = await implicitTls(t.ports.submissions);
    try {
      await client.command('EHLO client.test');
      assert.equal((await scramLogin(client, ALICE, appPassword)).code, 235);
    } finally {
      client.close();
    }
    assert.ok(t.logs.some((l) => l.event === 'auth.success' && l.appPasswordId === record.id));
    // The main password still works too.
    const main = await implicitTls(t.ports.submissions);
    try {
      await main.command('EHLO client.test');
      assert.equal((await scramLogin(main, ALICE, PASS)).code, 235);
    } finally {
      main.close();
    }

    assert.equal(await store.removeAppPassword(account.id, record.id), true);
    const revoked = await implicitTls(t.ports.submissions);
    try {
      await revoked.command('EHLO client.test');
      assert.equal((await revoked.command(plain(ALICE, appPassword))).code, 535);
      assert.equal((await scramLogin(revoked, ALICE, appPassword)).code, 535);
    } finally {
      revoked.close();
    }
  });
});

describe('submission: concurrency', () => {
  let t: TestServer;
  before(async () => {
    t = await startServer({ limits: { connectionsPerIp: 150 } });
  });
  after(async () => {
    await t?.stop();
  });

  it('100 concurrent authenticated sessions over TLS all deliver', async () => {
    const N = 100;
    const results = await Promise.all(Array.from({ length: N }, async (_, i) => {
      const client = await implicitTls(t.ports.submissions);
      try {
        assert.equal((await client.command('EHLO client.test')).code, 250);
        const auth = await client.command(plain(i % 2 ? ALICE : BOB, PASS));
        if (auth.code !== 235) return auth;
        const from = i % 2 ? ALICE : BOB;
        return await sendData(client, from, [i % 2 ? BOB : ALICE], `From: ${from}\r\nSubject: n${i}\r\n\r\nbody ${i}`);
      } finally {
        client.close();
      }
    }));
    assert.deepEqual(results.filter((r) => r.code !== 250), []);
    assert.equal((await t.messages(ALICE)).length + (await t.messages(BOB)).length, N);
  });
});
