// THREAD=REFERENCES and THREAD=ORDEREDSUBJECT (RFC 5256) over a real socket: replies nest under the
// message they reference (also when a message in between is missing, and whatever order they arrived
// in), a reply whose parent is absent joins the thread of its base subject, ORDEREDSUBJECT groups by
// base subject under the earliest message, and UID THREAD answers UIDs.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'thread@example.org';
const PASS = 'thread pass 1';
const HOST = 'mx.postamt.test';

function message(o: { id: string; subject: string; day: number; refs?: string; inReplyTo?: string }): string {
  return [
    `Message-ID: <${o.id}@example.net>`,
    `Subject: ${o.subject}`,
    `Date: ${o.day} Jan 2024 10:00:00 +0000`,
    ...(o.refs !== undefined ? [`References: ${o.refs}`] : []),
    ...(o.inReplyTo !== undefined ? [`In-Reply-To: ${o.inReplyTo}`] : []),
    '',
    `body of ${o.id}`,
    '',
  ].join('\r\n');
}

describe('THREAD', () => {
  let t: TestServer;
  let c: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    // 1: a reply that arrived before its parent; 2: the parent; 3: a reply to a message never received
    // (its parent is a missing message that referenced 2); 4: unrelated; 5: "Re: lunch" without
    // references, joined to 4 by subject; 6: answers 1 through In-Reply-To only.
    await c.append('INBOX', message({ id: 'r1', subject: 'Re: plan', day: 3, refs: '<p@example.net>' }));
    await c.append('INBOX', message({ id: 'p', subject: 'plan', day: 2 }));
    await c.append('INBOX', message({ id: 'r2', subject: 'Re: plan', day: 5, refs: '<p@example.net> <lost@example.net>' }));
    await c.append('INBOX', message({ id: 'l', subject: 'lunch', day: 1 }));
    await c.append('INBOX', message({ id: 'l2', subject: 'Re: lunch', day: 4 }));
    await c.append('INBOX', message({ id: 'r3', subject: 'Re: Re: plan', day: 6, inReplyTo: '<r1@example.net>' }));
    await c.ok('SELECT INBOX');
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('advertises both algorithms', async () => {
    const caps = (await c.ok('CAPABILITY'))[0]!.split(' ');
    assert.ok(caps.includes('THREAD=REFERENCES'));
    assert.ok(caps.includes('THREAD=ORDEREDSUBJECT'));
  });

  it('threads by references, pruning missing messages and grouping roots by base subject (RFC 5256 §2.2)', async () => {
    // lunch (4) with its subject reply (5); plan (2) with replies 1 (answered by 6) and 3 (whose missing parent was pruned).
    assert.deepEqual(await c.ok('THREAD REFERENCES UTF-8 ALL'), ['THREAD (4 5)(2 (1 6)(3))']);
    assert.deepEqual(await c.ok('UID THREAD REFERENCES UTF-8 NOT 4'), ['THREAD (2 (1 6)(3))(5)']);
  });

  it('threads by ordered subject (RFC 5256 §2.1)', async () => {
    assert.deepEqual(await c.ok('THREAD ORDEREDSUBJECT US-ASCII ALL'), ['THREAD (4 5)(2 (1)(3)(6))']);
  });

  it('answers BAD to an unknown algorithm and NO [BADCHARSET] to an unknown charset', async () => {
    assert.match((await c.command('THREAD X-UNKNOWN UTF-8 ALL')).tagged, /^BAD /);
    assert.match((await c.command('THREAD REFERENCES KOI8-R ALL')).tagged, /^NO \[BADCHARSET/);
    assert.deepEqual(await c.ok('THREAD REFERENCES UTF-8 SUBJECT nothing-matches'), ['THREAD']);
  });
});
