// MULTIAPPEND (RFC 3502): one APPEND carries several messages, each with its own flags and date; they are
// stored together or not at all, APPENDUID names every new UID (RFC 4315 §3), and one message more than
// limits.imap_append_messages is refused with NO [LIMIT] and nothing stored.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'multi@example.org';
const PASS = 'multi pass 1';
const HOST = 'mx.postamt.test';

function literal(subject: string): string {
  const raw = `From: a@example.net\r\nSubject: ${subject}\r\n\r\nbody of ${subject}\r\n`;
  return `{${raw.length}+}\r\n${raw}`;
}

describe('MULTIAPPEND', () => {
  let t: TestServer;
  let c: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST, config: { limits: { imapAppendMessages: 3 } } });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    await c.ok('CREATE box');
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('advertises MULTIAPPEND and stores every message with its own flags and date', async () => {
    const caps = (await c.ok('CAPABILITY'))[0]!;
    assert.match(caps, / MULTIAPPEND( |$)/);
    const r = await c.command(`APPEND box (\\Seen) ${literal('one')} (\\Flagged $Work) "01-Feb-2024 10:00:00 +0000" ${literal('two')} ${literal('three')}`);
    assert.match(r.tagged, /^OK \[APPENDUID \d+ 1:3\] /);
    const stored = await t.messages(USER, 'box');
    assert.equal(stored.length, 3);
    assert.deepEqual(stored.map((m) => m.flags), [['\\Seen'], ['\\Flagged', '$Work'], []]);
    assert.equal(stored[1]!.internalDate.toISOString(), '2024-02-01T10:00:00.000Z');
    assert.match((await t.read(USER, stored[2]!.uid, 'box')).toString(), /Subject: three\r\n/);
  });

  it('stores none when one of them cannot be stored', async () => {
    const r = await c.command(`APPEND nosuchbox ${literal('a')} ${literal('b')}`);
    assert.match(r.tagged, /^NO \[TRYCREATE\] /);
    const empty = await c.command(`APPEND box ${literal('c')} {0+}\r\n`);
    assert.match(empty.tagged, /^NO /);
    assert.equal((await t.messages(USER, 'box')).length, 3, 'nothing added');
  });

  it('refuses one message more than the limit with NO [LIMIT], storing nothing', async () => {
    const r = await c.command(`APPEND box ${literal('1')} ${literal('2')} ${literal('3')} ${literal('4')}`);
    assert.match(r.tagged, /^NO \[LIMIT\] /);
    assert.equal((await t.messages(USER, 'box')).length, 3);
    assert.match((await c.command('NOOP')).tagged, /^OK/, 'the connection goes on');
  });
});
