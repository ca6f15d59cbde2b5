// NOTIFY's METADATA events (RFC 5465 §5.6, §5.7) and NOTIFICATIONOVERFLOW (§5.8) over real sockets: Python's
// imaplib, with NOTIFY SET for MailboxMetadataChange and ServerMetadataChange, hears of entries another
// session sets with SETMETADATA and of entries another store on the same data dir (another process) sets,
// as unsolicited METADATA responses naming the entries; a session that did not ask hears nothing; more
// notifications pending than limits.imap_notify_pending end NOTIFY with OK [NOTIFICATIONOVERFLOW].
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { openStore } from '../../src/store/open.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';
import { havePython, spawnPythonImap } from '../harness/python-imap.ts';

const HOST = 'mx.postamt.test';
const USER = 'notifymeta@example.org';
const PASS = 'notify meta pass 1';

// Sets NOTIFY, says "ready", then sends NOOP until it has heard `WANT` METADATA responses (10 s at most).
const SCRIPT = `
imaplib.Commands['NOTIFY'] = ('AUTH', 'SELECTED')
m = connect()
m.select('INBOX')
typ, data = m._simple_command('NOTIFY', 'SET (SELECTED (MessageNew MessageExpunge)) (PERSONAL (MailboxMetadataChange ServerMetadataChange))')
print(json.dumps({'notify': typ}), flush=True)
heard = []
deadline = time.time() + 10
while time.time() < deadline and len(heard) < int(os.environ['WANT']):
    m.noop()
    typ, data = m.response('METADATA')
    heard += [d.decode() for d in data if d is not None]
    time.sleep(0.1)
m.logout()
print(json.dumps({'heard': heard}), flush=True)
`;

describe('NOTIFY METADATA events', () => {
  let t: TestServer;
  let other: RawImapClient;
  const login = (): { port: number; ca: string; servername: string; user: string; password: string } => ({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
  before(async () => {
    t = await startTestServer({ hostname: HOST, config: { limits: { imapNotifyPending: 5 } } as never });
    await t.addUser(USER, PASS);
    other = await RawImapClient.login(login());
    await other.ok('CREATE Lists');
  });
  after(async () => {
    await other?.close();
    await t?.stop();
  });

  it('imaplib hears of entries set by another session and by another process, names only', { skip: havePython ? false : 'python3 is not installed', timeout: 60_000 }, async () => {
    const p = spawnPythonImap(SCRIPT, { host: HOST, port: t.ports.imaps, ca: t.ca, user: USER, password: PASS, env: { WANT: '3' } });
    try {
      await p.printed('"notify"');
      assert.match(p.stdout(), /"notify": "OK"/, p.stderr());

      // Another session: a mailbox entry, with a value the notification must not carry.
      await other.ok('SETMETADATA Lists (/shared/comment "secret value")');
      // Another process (its own store on the data dir): a server entry and one on the selected INBOX.
      const store = await openStore({ dataDir: t.dataDir });
      try {
        const account = (await store.getAccount(USER))!;
        const inbox = (await store.getMailbox(account.id, 'INBOX'))!;
        assert.equal(await store.setMetadata(account.id, null, [{ entry: '/private/vendor/postamt/motd', value: Buffer.from('hello') }], { maxEntries: 10 }), 'ok');
        assert.equal(await store.setMetadata(account.id, inbox.id, [{ entry: '/private/comment', value: Buffer.from('inbox note') }], { maxEntries: 10 }), 'ok');
      } finally {
        await store.close();
      }
      assert.equal(await p.exited, 0, p.stderr());
      const stdout = p.stdout();
      const heard = (JSON.parse(stdout.trim().split('\n').at(-1)!) as { heard: string[] }).heard;
      assert.deepEqual([...heard].sort(), ['"" /private/vendor/postamt/motd', '"INBOX" /private/comment', '"Lists" /shared/comment'], stdout);
      assert.ok(!stdout.includes('secret value'));
    } finally {
      await p.stop();
    }
  });

  it('only the events asked for: no server entries without ServerMetadataChange, nothing without MailboxMetadataChange', async () => {
    const c = await RawImapClient.login(login());
    try {
      await c.ok('NOTIFY SET (PERSONAL (MailboxMetadataChange))');
      await other.ok('SETMETADATA "" (/private/server-note "x")');
      await other.ok('SETMETADATA Lists (/private/a "1" /private/b NIL)');
      assert.deepEqual((await c.unsolicited(/METADATA/)).filter((l) => l.startsWith('METADATA')), ['METADATA "Lists" /private/a /private/b']);
      await c.ok('NOTIFY SET (PERSONAL (MessageNew))');
      await other.ok('SETMETADATA Lists (/private/a "2")');
      await new Promise((r) => setTimeout(r, 400));
      const noop = await c.command('NOOP');
      assert.ok(!noop.raw.includes('METADATA'), noop.raw);
    } finally {
      await c.close();
    }
  });

  it('AnnotationChange is refused with BADEVENT naming the events offered (ANNOTATE is not)', async () => {
    const c = await RawImapClient.login(login());
    try {
      const r = await c.command('NOTIFY SET (PERSONAL (AnnotationChange))');
      assert.match(r.tagged, /^NO \[BADEVENT \(MessageNew MessageExpunge FlagChange MailboxName SubscriptionChange MailboxMetadataChange ServerMetadataChange\)\]/);
    } finally {
      await c.close();
    }
  });

  it('more notifications pending than limits.imap_notify_pending: OK [NOTIFICATIONOVERFLOW], then as after NOTIFY NONE', async () => {
    const c = await RawImapClient.login(login());
    try {
      await c.ok('NOTIFY SET (PERSONAL (MessageNew MessageExpunge MailboxMetadataChange))');
      // Five entries at once are within the limit (5): reported.
      await other.ok('SETMETADATA Lists (/private/n1 "1" /private/n2 "1" /private/n3 "1" /private/n4 "1" /private/n5 "1")');
      assert.deepEqual((await c.unsolicited(/METADATA/)).filter((l) => l.startsWith('METADATA')), ['METADATA "Lists" /private/n1 /private/n2 /private/n3 /private/n4 /private/n5']);
      // Six pending at once are more than the session keeps.
      await other.ok('SETMETADATA Lists (/private/m1 "1" /private/m2 "1" /private/m3 "1" /private/m4 "1" /private/m5 "1" /private/m6 "1")');
      const overflow = await c.unsolicited(/OK \[NOTIFICATIONOVERFLOW\]/);
      assert.ok(!overflow.some((l) => l.startsWith('METADATA')), overflow.join('\n'));
      assert.ok(t.logs.some((l) => l.event === 'imap.notify_overflow' && l.account === USER && l.held === 6 && l.limit === 5));
      // RFC 5465 §5.8: as if NOTIFY NONE had been received.
      await other.append('Lists', 'Subject: after overflow\r\n\r\nx\r\n');
      await other.ok('SETMETADATA Lists (/private/n1 "2")');
      await new Promise((r) => setTimeout(r, 400));
      const noop = await c.command('NOOP');
      assert.ok(!noop.raw.includes('STATUS') && !noop.raw.includes('METADATA'), noop.raw);
    } finally {
      await c.close();
    }
  });
});
