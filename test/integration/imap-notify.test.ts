// NOTIFY (RFC 5465) over real sockets: a session that asked for notifications hears, without sending a
// command, of messages another session appends to or expunges from other mailboxes (STATUS), of new
// messages in its selected mailbox (EXISTS and the FETCH attributes it asked for), of mailboxes another
// session creates, renames, deletes or (un)subscribes (LIST), and of nothing after NOTIFY NONE.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'notify@example.org';
const PASS = 'notify pass 1';
const HOST = 'mx.postamt.test';

describe('NOTIFY', () => {
  let t: TestServer;
  let c: RawImapClient;
  let other: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    const login = { port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS };
    c = await RawImapClient.login(login);
    other = await RawImapClient.login(login);
    await c.ok('ENABLE IMAP4rev2');
    await other.ok('CREATE Lists');
    await other.append('Lists', 'Subject: one\r\n\r\nx\r\n');
    await c.ok('SELECT INBOX');
  });
  after(async () => {
    await c?.close();
    await other?.close();
    await t?.stop();
  });

  it('advertises NOTIFY and answers NOTIFY SET STATUS with the STATUS of the covered mailboxes', async () => {
    assert.ok((await c.ok('CAPABILITY'))[0]!.split(' ').includes('NOTIFY'));
    const r = await c.ok('NOTIFY SET STATUS (SELECTED (MessageNew (UID BODY.PEEK[HEADER.FIELDS (Subject)]) MessageExpunge)) (SUBTREE Lists (MessageNew MessageExpunge MailboxName SubscriptionChange))');
    assert.equal(r.length, 1);
    assert.match(r[0]!, /^STATUS "Lists" \(MESSAGES 1 UIDNEXT 2 UIDVALIDITY \d+\)$/);
  });

  it('pushes STATUS for another mailbox\'s new and expunged messages', async () => {
    await other.append('Lists', 'Subject: two\r\n\r\nx\r\n');
    assert.deepEqual((await c.unsolicited(/STATUS/)).at(-1)!.replace(/UIDVALIDITY \d+/, 'UIDVALIDITY v'), 'STATUS "Lists" (MESSAGES 2 UIDNEXT 3 UIDVALIDITY v)');
    await other.ok('SELECT Lists');
    await other.ok('STORE 1 +FLAGS.SILENT (\\Deleted)');
    await other.ok('EXPUNGE');
    // RFC 5465 §5.3: MessageExpunge alone asks for MESSAGES.
    assert.equal((await c.unsolicited(/STATUS/)).at(-1), 'STATUS "Lists" (MESSAGES 1)');
  });

  it('pushes EXISTS and the asked FETCH attributes for a new message in the selected mailbox', async () => {
    await other.append('INBOX', 'Subject: hello notify\r\nFrom: a@example.net\r\n\r\nbody\r\n');
    const lines = await c.unsolicited(/\d+ FETCH/);
    assert.ok(lines.includes('1 EXISTS'), lines.join('\n'));
    assert.match(lines.at(-1)!, /^1 FETCH \(UID 1 BODY\[HEADER\.FIELDS \(Subject\)\] \{\d+\}$/);
  });

  it('pushes LIST for mailboxes created, subscribed, renamed and deleted by another session', async () => {
    await other.ok('CREATE Lists/new');
    assert.deepEqual((await c.unsolicited(/LIST/)).at(-1), 'LIST () "/" "Lists/new"');
    await other.ok('SUBSCRIBE Lists/new');
    assert.deepEqual((await c.unsolicited(/LIST/)).at(-1), 'LIST (\\Subscribed) "/" "Lists/new"');
    await other.ok('RENAME Lists/new Lists/renamed');
    // A rename is the new name and the old one gone (the subscription stays with the old name, RFC 9051 §6.3.6).
    const renamed = await c.unsolicited(/LIST \(\\NonExistent\)/);
    assert.deepEqual(renamed.filter((l) => l.startsWith('LIST')).sort(), ['LIST () "/" "Lists/renamed"', 'LIST (\\NonExistent) "/" "Lists/new"']);
    await other.ok('DELETE Lists/renamed');
    assert.match((await c.unsolicited(/LIST \(\\NonExistent\) "\/" "Lists\/renamed"/)).at(-1)!, /NonExistent/);
  });

  it('stops after NOTIFY NONE', async () => {
    await c.ok('NOTIFY NONE');
    await other.append('Lists', 'Subject: three\r\n\r\nx\r\n');
    await new Promise((r) => setTimeout(r, 500));
    const noop = await c.command('NOOP');
    assert.ok(!noop.raw.includes('STATUS'), noop.raw);
  });
});
