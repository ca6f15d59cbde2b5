// The whole running server through IMAP with imapflow: implicit TLS on 993 and STARTTLS on 143
// (LOGINDISABLED before TLS), LIST with special-use, FETCH byte-exact against the store, STORE, SEARCH,
// COPY/MOVE with COPYUID, APPEND durable before OK, EXPUNGE seen by a second session, IDLE latency for a
// message delivered by SMTP, COMPRESS=DEFLATE, QUOTA and CONDSTORE/QRESYNC.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import tls from 'node:tls';
import { ImapFlow, type ImapFlowOptions } from 'imapflow';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../harness/server.ts';

const USER = 'imap-user@example.org';
const PASS = 'correct horse battery';
const HOST = 'mx.postamt.test';

const PLAIN = 'Hallo Welt,\r\nthis is the plain part with the word zebracorn.\r\n';
const HTML = '<p>Hallo <b>Welt</b></p>\r\n';
const PDF_B64 = Buffer.from('%PDF-1.4 fake attachment bytes\n').toString('base64');
const ATTACH_HEAD = 'Content-Type: application/pdf; name="=?UTF-8?Q?Gr=C3=BC=C3=9Fe.pdf?="\r\nContent-Disposition: attachment;\r\n filename*=UTF-8\'\'Gr%C3%BC%C3%9Fe.pdf\r\nContent-Transfer-Encoding: base64\r\n\r\n';
const MULTIPART = [
  'From: Bob Sender <bob@example.net>',
  `To: ${USER}`,
  'Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe_aus_M=C3=BCnchen?=',
  'Date: Wed, 03 Jan 2024 10:00:00 +0000',
  'Message-ID: <multi-1@example.net>',
  'X-Test-Tag: needle-42',
  'MIME-Version: 1.0',
  'Content-Type: multipart/mixed; boundary="outer"',
  '',
  'This is a multi-part message in MIME format.',
  '--outer',
  'Content-Type: multipart/alternative; boundary="inner"',
  '',
  '--inner',
  'Content-Type: text/plain; charset=utf-8',
  '',
  PLAIN + '--inner',
  'Content-Type: text/html; charset=utf-8',
  '',
  HTML + '--inner--',
  '',
  '--outer',
  ATTACH_HEAD + PDF_B64,
  '--outer--',
  '',
].join('\r\n');

function simple(subject: string, body: string, extra = ''): string {
  return `From: Carol <carol@example.net>\r\nTo: ${USER}\r\nSubject: ${subject}\r\nDate: Thu, 04 Jan 2024 12:00:00 +0000\r\nMessage-ID: <${subject.replace(/\W/g, '')}@example.net>\r\n${extra}\r\n${body}`;
}

describe('IMAP server through the running server (imapflow)', () => {
  let t: TestServer;

  before(async () => {
    t = await startTestServer();
    await t.addUser(USER, PASS);
  });
  after(async () => {
    await t?.stop();
  });

  function client(options: Partial<ImapFlowOptions> = {}): ImapFlow {
    return new ImapFlow({
      host: '127.0.0.1',
      port: t.ports.imaps,
      secure: true,
      tls: { ca: [t.ca], servername: HOST },
      auth: { user: USER, pass: PASS },
      logger: false,
      disableAutoIdle: true,
      ...options,
    });
  }

  async function deliver(raw: string): Promise<number> {
    const before = (await t.messages(USER)).length;
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.example.net' });
    await transport.sendMail({ envelope: { from: 'sender@example.net', to: [USER] }, raw });
    transport.close();
    const list = await t.waitForMessages(USER, before + 1);
    return list[list.length - 1]!.uid;
  }

  it('logs in over 993, lists special-use mailboxes and fetches sections byte-exact against the store', async () => {
    const uid = await deliver(MULTIPART);
    const stored = await t.read(USER, uid);
    const c = client();
    await c.connect();
    try {
      const list = await c.list();
      const byUse = new Map(list.filter((m) => m.specialUse).map((m) => [m.specialUse, m.path]));
      assert.equal(byUse.get('\\Sent'), 'Sent');
      assert.equal(byUse.get('\\Trash'), 'Trash');
      assert.equal(byUse.get('\\Drafts'), 'Drafts');
      assert.equal(byUse.get('\\Junk'), 'Junk');
      assert.equal(byUse.get('\\Archive'), 'Archive');
      assert.ok(list.some((m) => m.path === 'INBOX'));

      const mailbox = await c.mailboxOpen('INBOX');
      assert.equal(mailbox.exists, (await t.messages(USER)).length);
      const msg = await c.fetchOne(String(uid), { uid: true, source: true, envelope: true, bodyStructure: true, size: true, bodyParts: ['1.1', '1.2', '2', '2.MIME', 'TEXT'], headers: true }, { uid: true });
      assert.ok(msg);
      assert.ok(msg.source && Buffer.compare(msg.source, stored) === 0, 'BODY[] equals the stored bytes');
      assert.equal(msg.size, stored.length);
      assert.equal(msg.envelope?.subject, 'Grüße aus München');
      assert.equal(msg.envelope?.messageId, '<multi-1@example.net>');
      assert.deepEqual(msg.envelope?.from, [{ name: 'Bob Sender', address: 'bob@example.net' }]);
      assert.equal(msg.envelope?.date?.toISOString(), '2024-01-03T10:00:00.000Z');

      const headerEnd = stored.indexOf('\r\n\r\n') + 4;
      assert.equal(msg.headers?.toString('latin1'), stored.subarray(0, headerEnd).toString('latin1'));
      const part = (k: string): string | undefined => {
        for (const [key, value] of msg.bodyParts ?? new Map<string, Buffer>()) if (key.toLowerCase() === k.toLowerCase()) return value.toString('latin1');
        return undefined;
      };
      // RFC 2046 §5.1.1: the CRLF before a boundary delimiter belongs to the delimiter, not to the part.
      assert.equal(part('1.1'), Buffer.from(PLAIN.slice(0, -2)).toString('latin1'));
      assert.equal(part('1.2'), HTML.slice(0, -2));
      assert.equal(part('2'), PDF_B64);
      assert.equal(part('2.mime'), ATTACH_HEAD);
      assert.equal(part('text'), stored.subarray(headerEnd).toString('latin1'));

      const bs = msg.bodyStructure!;
      assert.equal(bs.type, 'multipart/mixed');
      const [alt, attachment] = bs.childNodes!;
      assert.equal(alt!.type, 'multipart/alternative');
      assert.deepEqual(alt!.childNodes!.map((n) => [n.part, n.type, n.size]), [['1.1', 'text/plain', Buffer.byteLength(PLAIN) - 2], ['1.2', 'text/html', HTML.length - 2]]);
      assert.equal(attachment!.part, '2');
      assert.equal(attachment!.type, 'application/pdf');
      assert.equal(attachment!.encoding, 'base64');
      assert.equal(attachment!.disposition, 'attachment');
      assert.equal(attachment!.dispositionParameters?.filename, 'Grüße.pdf');
    } finally {
      await c.logout();
    }
  });

  it('stores flags, searches text/header/since, copies and moves with COPYUID, appends durably', async () => {
    const a = await deliver(simple('Flag me', 'nothing special\r\n'));
    const b = await deliver(simple('Find me', 'the quick onyxfox jumps\r\n', 'X-Campaign: spring-sale\r\n'));
    const c = client();
    await c.connect();
    try {
      await c.mailboxOpen('INBOX');
      assert.ok(await c.messageFlagsAdd(String(a), ['\\Flagged', '$Important'], { uid: true }));
      const rec = (await t.messages(USER)).find((m) => m.uid === a)!;
      assert.ok(rec.flags.includes('\\Flagged') && rec.flags.includes('$Important'), `stored flags ${rec.flags.join(' ')}`);
      assert.deepEqual(await c.search({ flagged: true }, { uid: true }), [a]);
      assert.ok(await c.messageFlagsRemove(String(a), ['\\Flagged'], { uid: true }));
      assert.deepEqual(await c.search({ flagged: true }, { uid: true }), []);

      assert.deepEqual(await c.search({ body: 'onyxfox' }, { uid: true }), [b]);
      assert.deepEqual(await c.search({ text: 'ONYXFOX' }, { uid: true }), [b]);
      assert.deepEqual(await c.search({ header: { 'x-campaign': 'spring' } }, { uid: true }), [b]);
      assert.deepEqual(await c.search({ subject: 'find me' }, { uid: true }), [b]);
      const all = (await t.messages(USER)).map((m) => m.uid);
      assert.deepEqual(await c.search({ since: new Date(Date.now() - 24 * 3600_000) }, { uid: true }), all);
      assert.deepEqual(await c.search({ since: new Date(Date.now() + 3 * 24 * 3600_000) }, { uid: true }), []);

      const copied = await c.messageCopy(String(a), 'Archive', { uid: true });
      assert.ok(copied && copied.uidMap instanceof Map);
      const archived = await t.messages(USER, 'Archive');
      const copyUid = copied.uidMap.get(a);
      assert.ok(copyUid !== undefined && archived.some((m) => m.uid === copyUid), 'COPYUID names the stored copy');
      assert.deepEqual(await t.read(USER, copyUid, 'Archive'), await t.read(USER, a));

      const body = await t.read(USER, b);
      const moved = await c.messageMove(String(b), 'Trash', { uid: true });
      assert.ok(moved && moved.uidMap instanceof Map);
      const trashUid = moved.uidMap.get(b)!;
      assert.ok(!(await t.messages(USER)).some((m) => m.uid === b), 'moved message left INBOX');
      assert.deepEqual(await t.read(USER, trashUid, 'Trash'), body);

      const raw = simple('Appended draft', 'draft body\r\n');
      const appended = await c.append('Drafts', raw, ['\\Draft', '\\Seen'], new Date('2023-06-01T08:00:00Z'));
      assert.ok(appended && typeof appended.uid === 'number');
      // The OK came after the commit: the message is in the store now, byte for byte.
      const drafts = await t.messages(USER, 'Drafts');
      const draft = drafts.find((m) => m.uid === appended.uid);
      assert.ok(draft, 'appended message is in the store right after the OK');
      assert.equal((await t.read(USER, appended.uid!, 'Drafts')).toString(), raw);
      assert.ok(draft.flags.includes('\\Draft') && draft.flags.includes('\\Seen'));
      assert.equal(draft.internalDate.getTime(), Date.parse('2023-06-01T08:00:00Z'));
    } finally {
      await c.logout();
    }
  });

  it('shows an expunge to a second session', async () => {
    const uid = await deliver(simple('Doomed', 'bye\r\n'));
    const one = client();
    const two = client();
    await one.connect();
    await two.connect();
    try {
      await one.mailboxOpen('INBOX');
      const opened = await two.mailboxOpen('INBOX');
      const existed = opened.exists;
      const seq = (await t.messages(USER)).findIndex((m) => m.uid === uid) + 1;
      assert.equal(existed, (await t.messages(USER)).length);
      const expunged = new Promise<number>((resolve) => two.on('expunge', (d) => resolve((d as { seq: number }).seq)));
      assert.ok(await one.messageDelete(String(uid), { uid: true }));
      assert.ok(!(await t.messages(USER)).some((m) => m.uid === uid));
      await two.noop();
      assert.equal(await expunged, seq);
      assert.equal((two.mailbox as { exists: number }).exists, existed - 1);
    } finally {
      await one.logout();
      await two.logout();
    }
  });

  it('delivers an SMTP message to an IDLE client within one second', async (ctx) => {
    const watcher = client();
    await watcher.connect();
    try {
      await watcher.mailboxOpen('INBOX');
      const existsAt = new Promise<number>((resolve) => watcher.on('exists', () => resolve(Date.now())));
      const idling = watcher.idle();
      await new Promise((r) => setTimeout(r, 150));
      const start = Date.now();
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.example.net' });
      await transport.sendMail({ envelope: { from: 'sender@example.net', to: [USER] }, raw: simple('Ping', 'idle wake-up\r\n') });
      transport.close();
      const latency = (await existsAt) - start;
      ctx.diagnostic(`SMTP send to IDLE EXISTS: ${latency} ms`);
      assert.ok(latency < 1000, `EXISTS reached the IDLE client after ${latency} ms`);
      await watcher.noop(); // breaks IDLE
      await idling;
    } finally {
      await watcher.logout();
    }
  });

  it('negotiates COMPRESS=DEFLATE and fetches every message through it', async () => {
    const compressed: boolean[] = [];
    const logger = {
      debug: () => undefined, info: () => undefined, warn: () => undefined, error: () => undefined,
      trace: (o: { compress?: boolean }) => compressed.push(o.compress === true),
    };
    const c = client({ logger: logger as unknown as ImapFlowOptions['logger'], logRaw: true });
    await c.connect();
    try {
      assert.ok(compressed.includes(true), 'imapflow writes deflated data');
      // A large APPEND literal and its FETCH both go through the deflate streams.
      const big = simple('Big one', `${'0123456789abcdef'.repeat(4).concat('\r\n').repeat(40_000)}`);
      const appended = await c.append('INBOX', big);
      assert.ok(appended && appended.uid);
      assert.equal((await t.read(USER, appended.uid!)).toString(), big);
      await c.mailboxOpen('INBOX');
      const records = await t.messages(USER);
      let n = 0;
      for await (const msg of c.fetch('1:*', { uid: true, source: true, envelope: true, bodyStructure: true })) {
        const stored = await t.read(USER, msg.uid);
        assert.ok(Buffer.compare(msg.source!, stored) === 0, `uid ${msg.uid} byte-exact through DEFLATE`);
        n++;
      }
      assert.equal(n, records.length);
    } finally {
      await c.logout();
    }
  });

  it('reports the quota and supports CONDSTORE and QRESYNC', async () => {
    const c = client({ qresync: true });
    await c.connect();
    try {
      const quota = await c.getQuota('INBOX');
      assert.ok(quota && quota.storage, 'GETQUOTAROOT answers with STORAGE');
      const usage = await t.server.services.store.accountUsage((await t.server.services.store.getAccount(USER))!.id);
      // imapflow's typings say `used`; at runtime the field is `usage`.
      assert.equal((quota.storage as unknown as { usage: number }).usage, Math.ceil(usage.bytes / 1024) * 1024);
      assert.equal(quota.storage.limit, t.config.storage.quotaDefault);

      assert.ok(c.enabled.has('CONDSTORE') && c.enabled.has('QRESYNC'), `enabled: ${[...c.enabled].join(' ')}`);
      const box = await c.mailboxOpen('INBOX');
      assert.equal(typeof box.highestModseq, 'bigint');
      const modseq = box.highestModseq!;
      const first = (await t.messages(USER))[0]!.uid;
      await c.messageFlagsAdd(String(first), ['\\Answered'], { uid: true });
      const changed = await c.fetchAll('1:*', { uid: true, flags: true }, { uid: true, changedSince: modseq });
      assert.deepEqual(changed.map((m) => m.uid), [first]);
      assert.ok(changed[0]!.modseq! > modseq);
      assert.ok(changed[0]!.flags!.has('\\Answered'));
    } finally {
      await c.logout();
    }
  });

  it('advertises STARTTLS and LOGINDISABLED on 143 and logs in after STARTTLS', async () => {
    const raw = net.connect(t.ports.imap, '127.0.0.1');
    const lines: string[] = [];
    raw.setEncoding('utf8');
    const next = (re: RegExp): Promise<string> => new Promise((resolve, reject) => {
      let buf = '';
      const timer = setTimeout(() => reject(new Error(`timeout waiting for ${re}: ${buf}`)), 3000);
      const onData = (d: string): void => {
        buf += d;
        if (re.test(buf)) {
          clearTimeout(timer);
          raw.off('data', onData);
          lines.push(buf);
          resolve(buf);
        }
      };
      raw.on('data', onData);
    });
    const greeting = await next(/\r\n$/);
    assert.match(greeting, /STARTTLS/);
    assert.match(greeting, /LOGINDISABLED/);
    raw.write(`a LOGIN ${USER} "${PASS}"\r\n`);
    assert.match(await next(/^a (NO|BAD)/m), /^a NO /m);
    raw.write('b STARTTLS\r\n');
    assert.match(await next(/^b OK/m), /^b OK/m);
    const secure = tls.connect({ socket: raw, ca: [t.ca], servername: HOST });
    await new Promise<void>((resolve, reject) => secure.once('secureConnect', resolve).once('error', reject));
    secure.write('c CAPABILITY\r\n');
    const caps = await new Promise<string>((resolve) => {
      let buf = '';
      secure.on('data', (d: Buffer) => {
        buf += d.toString();
        if (/^c OK/m.test(buf)) resolve(buf);
      });
    });
    assert.doesNotMatch(caps, /LOGINDISABLED|STARTTLS/);
    secure.destroy();

    const c = client({ port: t.ports.imap, secure: false, doSTARTTLS: true });
    await c.connect();
    try {
      assert.ok(c.secureConnection || c.authenticated, 'authenticated after STARTTLS');
      const box = await c.mailboxOpen('INBOX');
      assert.ok(box.exists > 0);
    } finally {
      await c.logout();
    }
  });

  it('refuses a wrong password', async () => {
    const c = client({ auth: { user: USER, pass: 'wrong' } });
    await assert.rejects(c.connect(), (err: { authenticationFailed?: boolean }) => err.authenticationFailed === true);
  });
});
