// LIST-EXTENDED (RFC 5258) and LSUB (RFC 3501 §6.3.9) as a client relies on them: unknown selection or
// return options and RECURSIVEMATCH alone are BAD; a subscribed mailbox that was deleted is listed as
// \Subscribed \NonExistent; RECURSIVEMATCH names a parent whose subscribed child the pattern does not reach
// with CHILDINFO ("SUBSCRIBED"); LSUB with `%` returns such a parent as \Noselect. CREATE does not subscribe
// (RFC 9051 §6.3.4): subscribing is the client's choice.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'lists@example.org';
const PASS = 'lists pass 1';
const HOST = 'mx.postamt.test';

describe('LIST-EXTENDED and LSUB', () => {
  let t: TestServer;
  let c: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    for (const name of ['qx/a', 'qx/b/c', 'qx/gone', 'qx/d/e']) await c.ok(`CREATE ${name}`);
    for (const name of ['qx/a', 'qx/b/c', 'qx/gone', 'qx/d', 'qx/d/e']) await c.ok(`SUBSCRIBE ${name}`);
    await c.ok('DELETE qx/gone');
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('answers BAD to unknown options and to RECURSIVEMATCH alone', async () => {
    for (const cmd of ['LIST (IMAPTEST) "" ""', 'LIST (RECURSIVEMATCH) "" ""', 'LIST (RECURSIVEMATCH REMOTE) "" ""', 'LIST "" "" RETURN (IMAPTEST)']) {
      assert.match((await c.command(cmd)).tagged, /^BAD /, cmd);
    }
    assert.match((await c.command('LIST (REMOTE) "" %')).tagged, /^OK /);
  });

  it('lists a deleted but subscribed mailbox as \\Subscribed \\NonExistent', async () => {
    const lines = await c.ok('LIST (SUBSCRIBED) "" qx/*');
    assert.ok(lines.includes('LIST (\\NonExistent \\HasNoChildren \\Subscribed) "/" "qx/gone"'), lines.join('\n'));
    assert.ok(lines.includes('LIST (\\HasNoChildren \\Subscribed) "/" "qx/b/c"'), lines.join('\n'));
  });

  it('RECURSIVEMATCH names the parent of a subscribed child with CHILDINFO', async () => {
    const lines = await c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" qx/%');
    assert.ok(lines.includes('LIST (\\HasChildren) "/" "qx/b" ("CHILDINFO" ("SUBSCRIBED"))'), lines.join('\n'));
    assert.ok(lines.includes('LIST (\\HasChildren \\Subscribed) "/" "qx/d" ("CHILDINFO" ("SUBSCRIBED"))'), lines.join('\n'));
    assert.ok(lines.includes('LIST (\\HasNoChildren \\Subscribed) "/" "qx/a"'));
    assert.ok(!lines.some((l) => l.includes('qx/b/c')), 'the child itself does not match qx/%');
    // The child matches this pattern itself: no CHILDINFO for its parent.
    const both = await c.ok('LIST (SUBSCRIBED RECURSIVEMATCH) "" (qx/b qx/b/c)');
    assert.deepEqual(both, ['LIST (\\HasNoChildren \\Subscribed) "/" "qx/b/c"']);
  });

  it('LSUB with % returns the unsubscribed parent of a subscribed child as \\Noselect', async () => {
    const lines = await c.ok('LSUB "" qx/%');
    assert.deepEqual(lines.sort(), ['LSUB () "/" "qx/a"', 'LSUB () "/" "qx/d"', 'LSUB () "/" "qx/gone"', 'LSUB (\\Noselect) "/" "qx/b"'].sort());
    assert.deepEqual(await c.ok('LSUB "" qx/b*'), ['LSUB () "/" "qx/b/c"'], 'with * the child itself is listed, not its parent');
  });

  it('CREATE does not subscribe', async () => {
    await c.ok('CREATE fresh');
    assert.deepEqual(await c.ok('LSUB "" fresh'), []);
    assert.deepEqual(await c.ok('LIST "" fresh RETURN (SUBSCRIBED)'), ['LIST (\\HasNoChildren) "/" "fresh"']);
  });
});
