/**
 * A client that pipelines writes (imaptest sends STORE, STORE \Deleted, EXPUNGE, then a FETCH) has the
 * commands behind a write run as soon as the write is committed, not once it is durable: the three writes
 * share the disk syncs instead of waiting for one each. Nothing is answered before the sync that covers it
 * returned, and a write whose sync fails is answered NO and ends the session, the answers of what followed
 * it never sent. Real server (SQLite store), raw client over implicit TLS; the store's WAL syncs are slowed
 * down (or made to fail) by the test.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';
import { Pipelining } from '../harness/imap-pipelining.ts';
import { storeCommits, type StoreCommits } from '../harness/store-commits.ts';

const USER = 'pipeline@example.org';
const PASS = 'pipeline pass 1';
const HOST = 'mx.postamt.test';
/** How long each WAL sync is made to take: long enough that the order of events is not left to chance. */
const SYNC_MS = 500;

describe('IMAP pipelined writes', () => {
  let t: TestServer;
  let commits: StoreCommits;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    const c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    for (let i = 1; i <= 4; i++) await c.append('INBOX', `Subject: m${i}\r\n\r\nbody ${i}\r\n`);
    await c.close();
    commits = storeCommits(t);
  });
  after(async () => {
    await t?.stop();
  });

  it('runs the commands behind a write while it is synced, and answers each only once durable', async () => {
    const c = await Pipelining.open({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    const sync = commits.syncThread.fdatasync;
    let synced = 0;
    c.counter = () => synced;
    commits.syncThread.fdatasync = (fd, done) => {
      setTimeout(() => sync.call(commits.syncThread, fd, (err) => {
        synced++;
        done(err);
      }), SYNC_MS);
    };
    try {
      await c.send('a1 SELECT INBOX', 'a1 OK');
      const startedAt = Date.now();
      c.write('s1 STORE 1 +FLAGS (\\Seen)\r\ns2 STORE 2 +FLAGS (\\Deleted)\r\ns3 EXPUNGE\r\nf1 FETCH 1:* (FLAGS)\r\n');
      await new Promise((r) => setTimeout(r, SYNC_MS / 2));
      assert.doesNotMatch(c.received, /^(s1|s2|s3|f1) /m, 'nothing is answered before the first sync returned');
      await c.until('f1 OK');
      const elapsed = Date.now() - startedAt;
      // One after the other, the three writes cost three whole syncs at least; sharing them, two and the work.
      // Counted in syncs, not in milliseconds, so that a loaded machine's slower work cannot fail it.
      assert.ok(c.syncsAt('f1 OK') <= 2, `the pipeline was answered after ${c.syncsAt('f1 OK')} syncs (${elapsed} ms with ${SYNC_MS} ms syncs)`);
      const at = (text: string): number => c.received.indexOf(text);
      assert.ok(at('s1 OK') < at('s2 OK') && at('s2 OK') < at('* 2 EXPUNGE') && at('* 2 EXPUNGE') < at('s3 OK') && at('s3 OK') < at('f1 OK'), c.received);
      assert.match(c.received, /^\* 1 FETCH \(FLAGS \((\\Recent )?\\Seen\)\)\r\n/m);
      // Each answer came after the sync that covers its write: the first write's, then the one after.
      assert.ok(c.syncsAt('s1 OK') >= 1 && c.syncsAt('s2 OK') >= 2 && c.syncsAt('s3 OK') >= 2, JSON.stringify(c.seen));
    } finally {
      commits.syncThread.fdatasync = sync;
      c.close();
    }
  });

  it('answers NO to a write whose sync failed and ends the session without answering what followed', async () => {
    const c = await Pipelining.open({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    try {
      await c.send('a1 SELECT INBOX', 'a1 OK');
      commits.faultInjector = (stage) => {
        if (stage === 'fsync') throw new Error('EIO: i/o error, fdatasync (injected)');
      };
      c.write('s1 STORE 1 +FLAGS (\\Flagged)\r\nn1 NOOP\r\nf1 FETCH 1 (FLAGS)\r\n');
      await c.until('s1 NO');
      const closed = await Promise.race([c.closed.then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 5000))]);
      commits.faultInjector = null;
      assert.ok(closed, `the server closes the connection; got: ${c.received}`);
      assert.match(c.received, /^s1 NO \[UNAVAILABLE\] .*\r\n\* BYE .*\r\n$/m);
      assert.doesNotMatch(c.received, /^(n1|f1) /m, 'nothing after the failed write is answered');
      assert.doesNotMatch(c.received, /FETCH/, 'the failed write\'s own FETCH is not sent');
    } finally {
      commits.faultInjector = null;
      c.close();
    }
  });
});
