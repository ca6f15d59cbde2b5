// METADATA (RFC 5464) over a real socket: server ("") and mailbox entries set and read back in another
// session, NIL removes, DEPTH and MAXSIZE (LONGENTRIES), binary values as literals, entry names checked,
// the value size and entry count limits (MAXSIZE, TOOMANY), entries kept on RENAME and gone with the mailbox.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const HOST = 'mx.postamt.test';
const USER = 'metadata@example.org';
const PASS = 'metadata pass';

describe('METADATA', () => {
  let t: TestServer;
  let c: RawImapClient;
  const login = (): Promise<RawImapClient> => RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });

  before(async () => {
    t = await startTestServer({ hostname: HOST, config: { limits: { imapMetadataEntries: 3, imapMetadataSize: 100 } } as never });
    await t.addUser(USER, PASS);
    c = await login();
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('advertises METADATA and METADATA-SERVER', async () => {
    const caps = (await c.ok('CAPABILITY'))[0]!.split(' ');
    assert.ok(caps.includes('METADATA') && caps.includes('METADATA-SERVER'));
  });

  it('stores server and mailbox entries; another session reads them; NIL for what is not set (RFC 5464 §4.2, §4.3)', async () => {
    await c.ok('SETMETADATA "" (/private/comment "my server")');
    await c.ok('SETMETADATA INBOX (/shared/comment "Inbox notes" /private/vendor/x/colour "blue")');
    const other = await login();
    try {
      assert.deepEqual(await other.ok('GETMETADATA "" /private/comment'), ['METADATA "" (/private/comment "my server")']);
      assert.deepEqual(await other.ok('GETMETADATA INBOX (/shared/comment /private/comment)'), ['METADATA "INBOX" (/shared/comment "Inbox notes" /private/comment NIL)']);
      assert.deepEqual(await other.ok('GETMETADATA (DEPTH infinity) INBOX /private'), ['METADATA "INBOX" (/private/vendor/x/colour "blue")']);
      assert.deepEqual(await other.ok('GETMETADATA (DEPTH 1) INBOX /private'), []);
    } finally {
      await other.close();
    }
    await c.ok('SETMETADATA INBOX (/private/vendor/x/colour NIL)');
    assert.deepEqual(await c.ok('GETMETADATA INBOX /private/vendor/x/colour'), ['METADATA "INBOX" (/private/vendor/x/colour NIL)']);
  });

  it('leaves out values over MAXSIZE and says how long the longest was (RFC 5464 §4.2.1)', async () => {
    await c.ok('SETMETADATA "" (/private/long "0123456789")');
    const r = await c.command('GETMETADATA (MAXSIZE 5) "" (/private/comment /private/long)');
    assert.deepEqual(r.untagged, []);
    assert.match(r.tagged, /^OK \[METADATA LONGENTRIES 10\] /);
  });

  it('keeps binary values byte for byte, sent back as a literal8', async () => {
    await c.ok('SETMETADATA "" (/private/bin ~{3+}\r\na\0b)');
    const r = await c.command('GETMETADATA "" /private/bin');
    assert.equal(r.raw, '* METADATA "" (/private/bin ~{3}\r\na\0b)\r\n');
  });

  it('refuses bad entry names with BAD, a long value with MAXSIZE and one entry too many with TOOMANY (RFC 5464 §4.3)', async () => {
    for (const name of ['/comment', '/private/a*', '/private//a', '/shared/']) {
      assert.match((await c.command(`SETMETADATA "" (${name} "x")`)).tagged, /^BAD /, name);
    }
    assert.match((await c.command(`SETMETADATA "" (/private/big "${'x'.repeat(101)}")`)).tagged, /^NO \[METADATA MAXSIZE 100\] /);
    // Three entries on the server already (comment, long, bin): the limit is 3.
    assert.match((await c.command('SETMETADATA "" (/private/four "4")')).tagged, /^NO \[METADATA TOOMANY\] /);
    assert.match((await c.command('GETMETADATA Nowhere /private/comment')).tagged, /^NO \[NONEXISTENT\] /);
    assert.match((await c.command('SETMETADATA Nowhere (/private/comment "x")')).tagged, /^NO \[NONEXISTENT\] /);
  });

  it('keeps a mailbox\'s entries when it is renamed; a mailbox made again under the old name has none', async () => {
    await c.ok('CREATE Projects');
    await c.ok('SETMETADATA Projects (/private/comment "work")');
    await c.ok('RENAME Projects Work');
    assert.deepEqual(await c.ok('GETMETADATA Work /private/comment'), ['METADATA "Work" (/private/comment "work")']);
    await c.ok('DELETE Work');
    await c.ok('CREATE Work');
    assert.deepEqual(await c.ok('GETMETADATA Work /private/comment'), ['METADATA "Work" (/private/comment NIL)']);
  });
});
