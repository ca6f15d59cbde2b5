// A keyword new to the selected mailbox is announced with untagged FLAGS and OK [PERMANENTFLAGS] before
// the first FETCH that shows it (RFC 9051 §7.3.5): set by this session's STORE, by another session, or
// carried by a message copied in. Clients (and imaptest) drop keywords they were not told of.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'keywords@example.org';
const PASS = 'keywords pass 1';
const HOST = 'mx.postamt.test';

describe('new keywords are announced in FLAGS', () => {
  let t: TestServer;
  let a: RawImapClient;
  let b: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    const login = { port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS };
    a = await RawImapClient.login(login);
    b = await RawImapClient.login(login);
    await a.ok('CREATE box');
    await a.ok('CREATE other');
    for (const box of ['box', 'box', 'other']) {
      const raw = 'Subject: k\r\n\r\nbody\r\n';
      await a.append(box, raw);
    }
    await a.ok('ENABLE IMAP4rev2');
    await b.ok('ENABLE IMAP4rev2');
    await a.ok('SELECT box');
    await b.ok('SELECT box');
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await t?.stop();
  });

  const permanent = (keywords: string): string => `OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft${keywords} \\*)] Flags permitted`;

  it("announces this session's new keyword before the STORE's FETCH, and only once", async () => {
    const r = await a.ok('STORE 1 +FLAGS ($Hello)');
    assert.deepEqual(r, ['FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft $Hello)', permanent(' $Hello'), '1 FETCH (FLAGS ($Hello))']);
    assert.deepEqual(await a.ok('STORE 2 +FLAGS ($hello)'), ['2 FETCH (FLAGS ($hello))']);
  });

  it("announces another session's new keyword before the FETCH that reports it", async () => {
    await a.ok('STORE 1 +FLAGS ($World)');
    const noop = await b.ok('NOOP');
    const flagsAt = noop.findIndex((l) => l.startsWith('FLAGS ') && l.includes('$World'));
    const fetchAt = noop.findIndex((l) => l.includes('FETCH') && l.includes('$World'));
    assert.ok(flagsAt >= 0 && fetchAt > flagsAt, noop.join('\n'));
  });

  it("announces another session's new keyword when a FETCH shows it before any NOOP", async () => {
    await a.ok('STORE 2 +FLAGS ($Raced)');
    for (const cmd of ['FETCH 2 FLAGS', 'FETCH 2 (FLAGS BODY.PEEK[HEADER.FIELDS (SUBJECT)])']) {
      const lines = cmd.includes('BODY') ? await a.ok('STORE 2 +FLAGS ($Raced2)').then(() => b.ok(cmd)) : await b.ok(cmd);
      const flagsAt = lines.findIndex((l) => l.startsWith('FLAGS ') && l.includes('$Raced'));
      const fetchAt = lines.findIndex((l) => l.startsWith('2 FETCH') && l.includes('$Raced'));
      assert.ok(flagsAt >= 0 && fetchAt > flagsAt, `${cmd}:\n${lines.join('\n')}`);
    }
  });

  it("announces another session's new keyword before this session's STORE response shows it", async () => {
    await a.ok('STORE 2 +FLAGS ($Beside)');
    const lines = await b.ok('STORE 2 +FLAGS (\\Answered)');
    const flagsAt = lines.findIndex((l) => l.startsWith('FLAGS ') && l.includes('$Beside'));
    const fetchAt = lines.findIndex((l) => l.startsWith('2 FETCH') && l.includes('$Beside'));
    assert.ok(flagsAt >= 0 && fetchAt > flagsAt, lines.join('\n'));
  });

  it('announces the keyword of a message copied into the selected mailbox with its EXISTS', async () => {
    await b.ok('SELECT other');
    await b.ok('STORE 1 +FLAGS ($Copied)');
    await b.ok('COPY 1 box');
    const noop = await a.ok('NOOP');
    assert.ok(noop.some((l) => l.startsWith('FLAGS ') && l.includes('$Copied')), noop.join('\n'));
    assert.ok(noop.includes('3 EXISTS'));
  });
});
