/**
 * Every IMAP write, not only STORE and EXPUNGE, lets the command pipelined behind it run once it is
 * committed, and is answered only once durable: APPEND (MULTIAPPEND, CATENATE), COPY, MOVE and their UID
 * forms, and the \Seen a FETCH of a body sets (RFC 9051 §6.4.5). A write whose sync fails is answered
 * NO [UNAVAILABLE] and the session ends, nothing after it answered; other sessions hear of a write only once
 * it is durable. Real server (SQLite store), raw pipelining client, imapflow and python imaplib; the
 * store's WAL syncs are slowed down, held, or made to fail by the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';
import { Pipelining } from '../harness/imap-pipelining.ts';
import { storeCommits, type StoreCommits, type WalSync } from '../harness/store-commits.ts';
import { havePython, spawnPythonImap } from '../harness/python-imap.ts';

const HOST = 'mx.postamt.test';
const PASS = 'durable writes pass 1';
/** How long each WAL sync is made to take in the pipelining test. */
const SYNC_MS = 300;

const message = (subject: string): string => `Subject: ${subject}\r\nFrom: a@example.org\r\n\r\nbody of ${subject}\r\n`;
const literal = (text: string): string => `{${Buffer.byteLength(text)}+}\r\n${text}`;

describe('IMAP writes answered once durable', () => {
  let t: TestServer;
  let commits: StoreCommits;
  let users = 0;

  /** A new account with INBOX holding `count` unseen messages (UIDs 1..count) and an empty Kept. */
  async function freshUser(count = 4): Promise<string> {
    const user = `writer${++users}@example.org`;
    await t.addUser(user, PASS);
    const c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user, password: PASS });
    await c.ok('CREATE Kept');
    for (let i = 1; i <= count; i++) await c.append('INBOX', message(`m${i}`));
    await c.close();
    return user;
  }

  const open = (user: string): Promise<Pipelining> => Pipelining.open({ port: t.ports.imaps, ca: t.ca, servername: HOST, user, password: PASS });

  /** Wraps the store's WAL sync; returns the function that puts the original back. */
  function wrapSync(wrapper: (sync: WalSync) => WalSync): () => void {
    const original = commits.syncThread.fdatasync;
    const sync: WalSync = (fd, done) => original.call(commits.syncThread, fd, done);
    commits.syncThread.fdatasync = wrapper(sync);
    return () => {
      commits.syncThread.fdatasync = original;
    };
  }

  before(async () => {
    t = await startTestServer({ hostname: HOST });
    commits = storeCommits(t);
  });
  after(async () => {
    await t?.stop();
  });

  it('runs the commands behind APPEND, COPY, MOVE and a body FETCH while they sync, answering each once durable', async () => {
    const user = await freshUser();
    const c = await open(user);
    let synced = 0;
    c.counter = () => synced;
    const restore = wrapSync((sync) => (fd, done) => {
      setTimeout(() => sync(fd, (err) => {
        synced++;
        done(err);
      }), SYNC_MS);
    });
    try {
      await c.send('a1 SELECT INBOX', 'a1 OK');
      const before = synced;
      c.write([
        `w1 APPEND INBOX ${literal(message('m5'))}\r\n`,
        // RFC 3502: two messages, all or none.
        `w2 APPEND INBOX (\\Flagged) ${literal(message('m6'))} ${literal(message('m7'))}\r\n`,
        // RFC 4469: one message from two pieces.
        `w3 APPEND INBOX CATENATE (TEXT ${literal('Subject: m8\r\n\r\n')} TEXT ${literal('body of m8\r\n')})\r\n`,
        'w4 COPY 1 Kept\r\n',
        'w5 UID COPY 2 Kept\r\n',
        'w6 MOVE 3 Kept\r\n',
        'w7 UID MOVE 4 Kept\r\n',
        'w8 FETCH 1 BODY[]\r\n',
        'w9 UID FETCH 5 BODY[TEXT]\r\n',
        'f1 STATUS Kept (MESSAGES)\r\n',
        'f2 UID FETCH 1:* (FLAGS)\r\n',
      ].join(''));
      await c.until('f2 OK');
      const tags = ['w1', 'w2', 'w3', 'w4', 'w5', 'w6', 'w7', 'w8', 'w9'];
      for (const tag of tags) assert.ok(c.received.includes(`${tag} OK`), `${tag} answered OK: ${c.received}`);
      // In order, each after the sync that covers it: the first write's sync, then (the writes behind it
      // commit while that one runs) the next.
      const at = (text: string): number => c.received.indexOf(text);
      for (let i = 1; i < tags.length; i++) assert.ok(at(`${tags[i - 1]} OK`) < at(`${tags[i]} OK`), c.received);
      assert.ok(c.syncsAt('w1 OK') - before >= 1, JSON.stringify(c.seen));
      for (const tag of tags.slice(1)) assert.ok(c.syncsAt(`${tag} OK`) - before >= 2, `${tag}: ${JSON.stringify(c.seen)}`);
      // One sync each would be nine at least; run while the one before synced, they share them.
      assert.ok(c.syncsAt('w9 OK') - before <= 4, `nine writes took ${c.syncsAt('w9 OK') - before} syncs: ${JSON.stringify(c.seen)}`);
      // The session's own arrivals are reported by the command that stored them.
      assert.match(c.received, /\* 5 EXISTS\r\n(?:\* \d+ RECENT\r\n)?w1 OK \[APPENDUID \d+ 5\]/);
      assert.match(c.received, /\* 7 EXISTS\r\n(?:\* \d+ RECENT\r\n)?w2 OK \[APPENDUID \d+ 6:7\]/);
      assert.match(c.received, /\* 8 EXISTS\r\n(?:\* \d+ RECENT\r\n)?w3 OK \[APPENDUID \d+ 8\]/);
      assert.match(c.received, /w4 OK \[COPYUID \d+ 1 1\]/);
      assert.match(c.received, /w5 OK \[COPYUID \d+ 2 2\]/);
      assert.match(c.received, /\* OK \[COPYUID \d+ 3 3\] Moved\r\n\* 3 EXPUNGE\r\nw6 OK/);
      assert.match(c.received, /\* OK \[COPYUID \d+ 4 4\] Moved\r\n\* 3 EXPUNGE\r\nw7 OK/);
      assert.match(c.received, /\* 1 FETCH \(BODY\[\] \{\d+\}\r\nSubject: m1\r\n[^]*FLAGS \((\\Recent )?\\Seen\)\)\r\n(?:\* \d+ FETCH \(UID [1-4] FLAGS [^\r]*\r\n)*w8 OK/);
      assert.match(c.received, /\* 3 FETCH \(UID 5 BODY\[TEXT\] \{12\}\r\nbody of m5\r\n FLAGS \((\\Recent )?\\Seen\)\)\r\nw9 OK/);
      // The commands behind the writes saw their effects.
      assert.match(c.received, /\* STATUS "?Kept"? \(MESSAGES 4\)\r\nf1 OK/);
      assert.match(c.received, /UID 1 FLAGS \((\\Recent )?\\Seen\)/);
      assert.match(c.received, /UID 6 FLAGS \((\\Recent )?\\Flagged\)/);
    } finally {
      restore();
      c.close();
    }
  });

  // One family each: the write's sync fails; the write is answered NO, the session ends, and neither the
  // write's own untagged responses nor anything pipelined behind it is sent.
  const families: { name: string; command: string; notSent: RegExp }[] = [
    { name: 'APPEND', command: `w1 APPEND INBOX ${literal(message('new'))}`, notSent: /EXISTS|APPENDUID/ },
    { name: 'MULTIAPPEND', command: `w1 APPEND INBOX ${literal(message('a'))} ${literal(message('b'))}`, notSent: /EXISTS|APPENDUID/ },
    { name: 'CATENATE', command: `w1 APPEND Kept CATENATE (TEXT ${literal(message('c'))})`, notSent: /APPENDUID/ },
    { name: 'COPY', command: 'w1 UID COPY 1:2 Kept', notSent: /COPYUID/ },
    { name: 'MOVE', command: 'w1 MOVE 1 Kept', notSent: /COPYUID|EXPUNGE/ },
    { name: 'FETCH BODY[]', command: 'w1 FETCH 1 (BODY[])', notSent: /FETCH/ },
  ];
  for (const f of families) {
    it(`answers NO [UNAVAILABLE] and ends the session when the sync of ${f.name} fails`, async () => {
      const user = await freshUser(2);
      const c = await open(user);
      try {
        await c.send('a1 SELECT INBOX', 'a1 OK');
        const mark = c.received.length;
        commits.faultInjector = (stage) => {
          if (stage === 'fsync') throw new Error('EIO: i/o error, fdatasync (injected)');
        };
        c.write(`${f.command}\r\nn1 NOOP\r\nf1 FETCH 1 (FLAGS)\r\n`);
        await c.until('w1 NO');
        const closed = await c.closedWithin();
        commits.faultInjector = null;
        assert.ok(closed, `the server closes the connection; got: ${c.received}`);
        const after = c.received.slice(mark);
        assert.match(after, /^w1 NO \[UNAVAILABLE\] .*\r\n\* BYE .*\r\n$/m);
        assert.doesNotMatch(after, /^(n1|f1) /m, 'nothing after the failed write is answered');
        assert.doesNotMatch(after, f.notSent, 'the failed write\'s own responses are not sent');
      } finally {
        commits.faultInjector = null;
        c.close();
      }
    });
  }

  it('tells other sessions of a real client\'s writes only once durable (imapflow writes, python imaplib FETCH, a watcher in IDLE)', async () => {
    const user = await freshUser(3);
    // Syncs are held until the test lets them go: what happens meanwhile is what a client sees before durability.
    let open_ = true;
    const held: (() => void)[] = [];
    const restore = wrapSync((sync) => (fd, done) => {
      if (open_) sync(fd, done);
      else held.push(() => sync(fd, done));
    });
    const release = (): void => {
      open_ = true;
      for (const run of held.splice(0)) run();
    };
    const watcher = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user, password: PASS });
    await watcher.ok('SELECT Kept');
    await watcher.idle();
    const flow = new ImapFlow({ host: '127.0.0.1', port: t.ports.imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user, pass: PASS }, logger: false, disableAutoIdle: true });
    try {
      await flow.connect();
      await flow.mailboxOpen('INBOX');
      /** Runs a write with syncs held: it commits, but neither it nor the watcher hears back before the sync. */
      const whileHeld = async <T>(write: () => Promise<T>, archived: number): Promise<T> => {
        open_ = false;
        let answered = false;
        const pending = write().finally(() => (answered = true));
        // Committed (another reader sees it) while its sync is held.
        for (let i = 0; (await t.messages(user, 'Kept')).length < archived; i++) {
          assert.ok(i < 400, 'the write committed');
          await new Promise((r) => setTimeout(r, 25));
        }
        await new Promise((r) => setTimeout(r, 150));
        assert.equal(answered, false, 'the client is not answered before the sync returned');
        assert.doesNotMatch(watcher.pending(), /EXISTS/, 'the watcher is not told before the sync returned');
        release();
        const value = await pending;
        await watcher.unsolicited(new RegExp(`${archived} EXISTS`), 20_000);
        return value;
      };
      const appended = await whileHeld(() => flow.append('Kept', message('from imapflow'), ['\\Seen']), 1);
      assert.ok(appended !== false && appended.uid === 1);
      const copied = await whileHeld(() => flow.messageCopy('1', 'Kept', { uid: true }), 2);
      assert.ok(copied !== false && copied.uidMap?.get(1) === 2);
      const moved = await whileHeld(() => flow.messageMove('2', 'Kept', { uid: true }), 3);
      assert.ok(moved !== false && moved.uidMap?.get(2) === 3);
      assert.deepEqual((await t.messages(user)).map((m) => m.uid), [1, 3]);
    } finally {
      release();
      restore();
      await flow.logout().catch(() => undefined);
      await watcher.close();
    }
    if (!havePython) return;
    // python imaplib: FETCH of RFC822 (not PEEK) sets \Seen; UID COPY, then the flags as another session sees them.
    const py = spawnPythonImap(`
m = connect()
m.select('INBOX')
typ, data = m.fetch('1', '(RFC822)')
out = {'fetch': typ, 'body': data[0][1].decode('latin1')}
typ, data = m.uid('COPY', '3', 'Kept')
out['copy'] = typ
m2 = connect()
m2.select('INBOX', readonly=True)
typ, data = m2.uid('FETCH', '1', '(FLAGS)')
out['flags'] = data[0].decode('latin1')
m2.logout()
m.logout()
print(json.dumps(out))
`, { host: HOST, port: t.ports.imaps, ca: t.ca, user, password: PASS });
    try {
      assert.equal(await py.exited, 0, py.stderr());
      const out = JSON.parse(py.stdout()) as { fetch: string; body: string; copy: string; flags: string };
      assert.equal(out.fetch, 'OK');
      assert.match(out.body, /^Subject: m1\r\n/);
      assert.equal(out.copy, 'OK');
      assert.match(out.flags, /FLAGS \(\\Seen\)/);
      assert.equal((await t.messages(user, 'Kept')).length, 4);
    } finally {
      await py.stop();
    }
  });
});
