// CATENATE (RFC 4469) over a real socket: APPEND puts a message together from TEXT literals and IMAP
// URLs naming messages or parts of this account (header, body part, partial); a URL with a stale
// UIDVALIDITY or naming nothing answers NO [BADURL] and stores nothing, a missing destination [TRYCREATE];
// CATENATE messages mix with plain ones in MULTIAPPEND.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'catenate@example.org';
const PASS = 'catenate pass 1';
const HOST = 'mx.postamt.test';

const ORIGINAL = 'From: a@example.net\r\nSubject: original\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b"\r\n\r\n--b\r\nContent-Type: text/plain\r\n\r\nfirst part\r\n--b\r\nContent-Type: text/plain\r\n\r\nsecond part\r\n--b--\r\n';
const text = (s: string): string => `TEXT {${Buffer.byteLength(s)}+}\r\n${s}`;

describe('CATENATE', () => {
  let t: TestServer;
  let c: RawImapClient;
  let uidValidity: number;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    await c.append('INBOX', ORIGINAL);
    await c.ok('CREATE Drafts2');
    const status = await c.ok('STATUS INBOX (UIDVALIDITY)');
    uidValidity = Number(/UIDVALIDITY (\d+)/.exec(status[0]!)![1]);
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('advertises CATENATE', async () => {
    assert.ok((await c.ok('CAPABILITY'))[0]!.split(' ').includes('CATENATE'));
  });

  it('builds a message from text and URL parts (RFC 4469 §5)', async () => {
    const r = await c.command(`APPEND Drafts2 (\\Seen) CATENATE (${text('From: me@example.org\r\nSubject: fwd\r\n\r\n')} URL "/INBOX;UIDVALIDITY=${uidValidity}/;UID=1/;SECTION=2" ${text('\r\n-- \r\nsig\r\n')})`);
    assert.match(r.tagged, /^OK \[APPENDUID \d+ 1\]/);
    assert.equal((await t.read(USER, 1, 'Drafts2')).toString(), 'From: me@example.org\r\nSubject: fwd\r\n\r\nsecond part\r\n-- \r\nsig\r\n');
    const header = await c.command(`APPEND Drafts2 CATENATE (URL "imap://${USER.replace('@', '%40')}@${HOST}/INBOX/;UID=1/;SECTION=HEADER.FIELDS%20(Subject)" ${text('body\r\n')} URL "/INBOX/;UID=1/;SECTION=1/;PARTIAL=0.5")`);
    assert.match(header.tagged, /^OK \[APPENDUID \d+ 2\]/);
    assert.equal((await t.read(USER, 2, 'Drafts2')).toString(), 'Subject: original\r\n\r\nbody\r\nfirst');
  });

  it('refuses a URL that names nothing with NO [BADURL] and stores nothing (RFC 4469 §6)', async () => {
    for (const url of [`/INBOX;UIDVALIDITY=${uidValidity + 1}/;UID=1`, '/INBOX/;UID=9', '/Nope/;UID=1', '/INBOX/;UID=1/;SECTION=7', 'not a url']) {
      const r = await c.command(`APPEND Drafts2 CATENATE (${text('X: 1\r\n\r\n')} URL "${url}")`);
      assert.equal(r.tagged.slice(0, r.tagged.indexOf(']') + 1), `NO [BADURL "${url}"]`, url);
    }
    assert.equal((await t.messages(USER, 'Drafts2')).length, 2);
    assert.match((await c.command('APPEND Nowhere CATENATE (URL "/INBOX/;UID=9")')).tagged, /^NO \[TRYCREATE\]/);
  });

  it('mixes CATENATE and plain messages in one MULTIAPPEND', async () => {
    const plain = 'Subject: plain\r\n\r\nplain\r\n';
    const r = await c.command(`APPEND Drafts2 CATENATE (${text('Subject: cat\r\n\r\n')} URL "/INBOX/;UID=1/;SECTION=1") {${plain.length}+}\r\n${plain}`);
    assert.match(r.tagged, /^OK \[APPENDUID \d+ 3:4\]/);
    assert.equal((await t.read(USER, 3, 'Drafts2')).toString(), 'Subject: cat\r\n\r\nfirst part');
    assert.equal((await t.read(USER, 4, 'Drafts2')).toString(), plain);
  });
});
