// REPLACE and UID REPLACE (RFC 8508) over a real socket: the new message is stored (APPENDUID in an
// untagged OK), then the old one is expunged; with a refused new message (missing mailbox, too big)
// the old one stays; a read-only mailbox refuses; MULTIAPPEND syntax is BAD.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'replace@example.org';
const PASS = 'replace pass 1';
const HOST = 'mx.postamt.test';

const draft = (n: number): string => `From: me@example.org\r\nSubject: draft ${n}\r\n\r\nversion ${n}\r\n`;
const lit = (s: string): string => `{${s.length}+}\r\n${s}`;

describe('REPLACE', () => {
  let t: TestServer;
  let c: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    await c.append('Drafts', draft(1));
    await c.append('Drafts', draft(2));
    await c.ok('SELECT Drafts');
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('advertises REPLACE', async () => {
    assert.ok((await c.ok('CAPABILITY'))[0]!.split(' ').includes('REPLACE'));
  });

  it('stores the new message, then expunges the old one (RFC 8508 §3)', async () => {
    const r = await c.command(`REPLACE 1 Drafts (\\Draft) ${lit(draft(3))}`);
    assert.equal(r.tagged, 'OK REPLACE completed');
    assert.match(r.untagged[0]!, /^OK \[APPENDUID \d+ 3\] /);
    assert.ok(r.untagged.includes('1 EXPUNGE'));
    assert.ok(r.untagged.indexOf('1 EXPUNGE') > 0);
    const stored = await t.messages(USER, 'Drafts');
    assert.deepEqual(stored.map((m) => m.uid), [2, 3]);
    assert.deepEqual(stored[1]!.flags, ['\\Draft']);
    assert.equal((await t.read(USER, 3, 'Drafts')).toString(), draft(3));
    const uid = await c.command(`UID REPLACE 2 Sent ${lit(draft(4))}`);
    assert.equal(uid.tagged, 'OK UID REPLACE completed');
    assert.deepEqual((await t.messages(USER, 'Drafts')).map((m) => m.uid), [3]);
    assert.equal((await t.messages(USER, 'Sent')).length, 1);
  });

  it('keeps the old message when the new one is refused, and refuses what it cannot do', async () => {
    assert.match((await c.command(`REPLACE 1 Nowhere ${lit(draft(5))}`)).tagged, /^NO \[TRYCREATE\]/);
    assert.match((await c.command(`UID REPLACE 99 Drafts ${lit(draft(5))}`)).tagged, /^NO /);
    assert.match((await c.command(`REPLACE 9 Drafts ${lit(draft(5))}`)).tagged, /^BAD /);
    assert.match((await c.command(`REPLACE 1 Drafts ${lit(draft(5))} ${lit(draft(6))}`)).tagged, /^BAD /);
    assert.deepEqual((await t.messages(USER, 'Drafts')).map((m) => m.uid), [3]);
    await c.ok('EXAMINE Drafts');
    assert.match((await c.command(`REPLACE 1 Drafts ${lit(draft(5))}`)).tagged, /^NO \[READ-ONLY\]/);
    assert.deepEqual((await t.messages(USER, 'Drafts')).map((m) => m.uid), [3]);
  });
});
