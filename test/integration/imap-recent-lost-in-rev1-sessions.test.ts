// \Recent for IMAP4rev1 sessions (RFC 3501 §2.3.2, §6.3.1, §6.3.10, §6.4.4): a session that did not
// ENABLE IMAP4rev2 is told how many messages are new (`* n RECENT`, STATUS RECENT, SEARCH NEW/OLD/RECENT,
// FLAGS \Recent), and each message is recent in exactly one session: the first to see it read-write.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'recent@example.org';
const PASS = 'recent pass 1';
const HOST = 'mx.postamt.test';

function message(subject: string): string {
  const raw = `From: a@example.net\r\nTo: ${USER}\r\nSubject: ${subject}\r\n\r\nbody\r\n`;
  return `{${Buffer.byteLength(raw)}+}\r\n${raw}`;
}

describe('\\Recent in IMAP4rev1 sessions', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
  });
  after(async () => {
    await t?.stop();
  });

  async function login(): Promise<RawImapClient> {
    const c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    return c;
  }

  it('EXAMINE and STATUS show recent messages without taking them; SELECT takes them, once', async () => {
    const a = await login();
    const b = await login();
    try {
      await a.ok('CREATE fresh');
      await a.ok(`APPEND fresh ${message('one')}`);
      await a.ok(`APPEND fresh ${message('two')}`);
      const examined = await a.ok('EXAMINE fresh');
      assert.ok(examined.includes('2 EXISTS'));
      assert.ok(examined.includes('2 RECENT'), examined.join('\n'));
      assert.deepEqual(await a.ok('FETCH 1:2 FLAGS'), ['1 FETCH (FLAGS (\\Recent))', '2 FETCH (FLAGS (\\Recent))']);
      await a.ok('CLOSE');
      assert.deepEqual(await a.ok('STATUS fresh (MESSAGES RECENT)'), ['STATUS "fresh" (MESSAGES 2 RECENT 2)']);
      assert.ok((await a.ok('SELECT fresh')).includes('2 RECENT'));
      assert.deepEqual(await a.ok('SEARCH RECENT'), ['SEARCH 1 2']);
      assert.deepEqual(await a.ok('SEARCH NEW'), ['SEARCH 1 2']);
      assert.deepEqual(await a.ok('SEARCH OLD'), ['SEARCH']);
      await a.ok('STORE 1 +FLAGS (\\Seen)');
      assert.deepEqual(await a.ok('SEARCH NEW'), ['SEARCH 2']);
      // The other session comes second: nothing is recent for it, and STATUS counts nothing unseen-by-all.
      assert.deepEqual(await b.ok('STATUS fresh (RECENT)'), ['STATUS "fresh" (RECENT 0)']);
      assert.ok((await b.ok('SELECT fresh')).includes('0 RECENT'));
      assert.deepEqual(await b.ok('SEARCH OLD'), ['SEARCH 1 2']);
      assert.deepEqual(await b.ok('FETCH 2 FLAGS'), ['2 FETCH (FLAGS ())']);
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('a message arriving in a selected mailbox is recent for the first session told of it', async () => {
    const a = await login();
    const b = await login();
    try {
      await a.ok('CREATE arrivals');
      await a.ok('SELECT arrivals');
      await b.ok(`APPEND arrivals ${message('three')}`);
      const noop = await a.ok('NOOP');
      assert.deepEqual(noop, ['1 EXISTS', '1 RECENT']);
      assert.deepEqual(await a.ok('FETCH 1 FLAGS'), ['1 FETCH (FLAGS (\\Recent))']);
      assert.ok((await b.ok('SELECT arrivals')).includes('0 RECENT'));
    } finally {
      await a.close();
      await b.close();
    }
  });

  it('IMAP4rev2 sessions see no \\Recent (RFC 9051 §2.3.2)', async () => {
    const a = await login();
    try {
      await a.ok('ENABLE IMAP4rev2');
      await a.ok('CREATE rev2');
      await a.ok(`APPEND rev2 ${message('four')}`);
      const selected = await a.ok('SELECT rev2');
      assert.ok(!selected.some((l) => / RECENT$/.test(l)), selected.join('\n'));
      assert.deepEqual(await a.ok('FETCH 1 FLAGS'), ['1 FETCH (FLAGS ())']);
    } finally {
      await a.close();
    }
  });
});
