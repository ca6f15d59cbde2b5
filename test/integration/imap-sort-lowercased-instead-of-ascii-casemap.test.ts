// SORT compares with i;ascii-casemap (RFC 5256 §3, RFC 4790 §9.2), which folds a-z to A-Z: `[` and `_`
// sort after the letters, not before them as with lower-casing. An address field that starts with a group
// sorts by the group's name, its first "address" as the ENVELOPE shows it (RFC 5256 §3, RFC 9051 §7.5.2).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'sort@example.org';
const PASS = 'sort pass 1';
const HOST = 'mx.postamt.test';

const MESSAGES = [
  { subject: '_', cc: 'user2@domain2.org (foo bar)' },
  { subject: 'b', cc: 'user2: aaa@domain1.org;' },
  { subject: '[xyz]', cc: 'user1@domain1.org' },
  { subject: 'A', cc: 'zed@domain1.org' },
];

describe('SORT with i;ascii-casemap', () => {
  let t: TestServer;
  let c: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    await c.ok('CREATE box');
    for (const m of MESSAGES) {
      const raw = `From: a@example.org\r\nCc: ${m.cc}\r\nSubject: ${m.subject}\r\n\r\nbody\r\n`;
      await c.append('box', raw);
    }
    await c.ok('SELECT box');
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('sorts SUBJECT with [ and _ after the letters', async () => {
    assert.deepEqual(await c.ok('SORT (SUBJECT) US-ASCII ALL'), ['SORT 4 2 3 1']);
    assert.deepEqual(await c.ok('SORT (REVERSE SUBJECT) US-ASCII ALL'), ['SORT 1 3 2 4']);
  });

  it('sorts CC by the group name when the field starts with a group', async () => {
    // user1 < user2 (message 1) = user2 (the group of message 2, a tie kept in sequence order) < zed.
    assert.deepEqual(await c.ok('SORT (CC) US-ASCII ALL'), ['SORT 3 1 2 4']);
  });
});
