// SEARCH FROM/TO/CC/BCC look for the string in the addresses, not the raw header (RFC 9051 §6.4.4): an
// address written with comments inside it (`<user (c)@ (c) domain.org>`) is found by its plain form, a
// display name or a comment standing for one is found, a group by its name; and the ENVELOPE gives such
// an address no personal name, as a comment inside the angle brackets is not a name (RFC 5322 §3.2.2).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'addresses@example.org';
const PASS = 'addresses pass 1';
const HOST = 'mx.postamt.test';

const FROMS = [
  'user-from@domain.org',
  'RealFrom <user-from@domain.org>',
  '<user-from (comment)@ (comment) domain.org>',
  'user-from@domain.org (RealFrom)',
  'user-from1@domain.org, user-from2@domain.org',
];

describe('SEARCH by address', () => {
  let t: TestServer;
  let c: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    await c.ok('CREATE box');
    for (const from of FROMS) {
      const raw = `From: ${from}\r\nTo: team: one@domain.org, two@domain.org;\r\nSubject: s\r\n\r\nbody\r\n`;
      await c.append('box', raw);
    }
    await c.ok('SELECT box');
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('finds an address however the header writes it', async () => {
    assert.deepEqual(await c.ok('SEARCH FROM user-from@domain.org'), ['SEARCH 1 2 3 4']);
    assert.deepEqual(await c.ok('SEARCH FROM realfrom'), ['SEARCH 2 4']);
    assert.deepEqual(await c.ok('SEARCH FROM user-from2'), ['SEARCH 5']);
    assert.deepEqual(await c.ok('SEARCH FROM comment'), ['SEARCH'], 'a comment inside the address is not searched');
    assert.deepEqual(await c.ok('SEARCH TO team'), ['SEARCH 1 2 3 4 5'], 'a group is found by its name');
    assert.deepEqual(await c.ok('SEARCH HEADER FROM "(comment)"'), ['SEARCH 3'], 'HEADER still searches the raw field');
  });

  it('gives a commented address no personal name in the ENVELOPE', async () => {
    const [line] = await c.ok('FETCH 3 ENVELOPE');
    assert.match(line!, /ENVELOPE \(NIL "s" \(\(NIL NIL "user-from" "domain.org"\)\)/);
  });
});
