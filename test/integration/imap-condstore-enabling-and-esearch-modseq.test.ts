// CONDSTORE details a client relies on: a CONDSTORE-enabling FETCH MODSEQ with a mailbox selected is
// answered with the mailbox's HIGHESTMODSEQ (RFC 7162 §3.1), and SEARCH RETURN (MIN) / (MAX) ... MODSEQ
// reports the mod-sequence of the message returned, not the highest of every match (RFC 4731 §3.2,
// RFC 7162 §3.1.5).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'condstore@example.org';
const PASS = 'condstore pass 1';
const HOST = 'mx.postamt.test';

describe('CONDSTORE enabling and ESEARCH MODSEQ', () => {
  let t: TestServer;
  let c: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
    await c.ok('CREATE box');
    for (let i = 1; i <= 4; i++) {
      const raw = `Subject: m${i}\r\n\r\nbody ${i}\r\n`;
      await c.append('box', raw);
    }
    await c.ok('SELECT box');
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('FETCH MODSEQ that enables CONDSTORE sends OK [HIGHESTMODSEQ] first, once', async () => {
    const first = await c.ok('FETCH 1 MODSEQ');
    assert.match(first[0]!, /^OK \[HIGHESTMODSEQ \d+\]/, first.join('\n'));
    assert.match(first[1]!, /^1 FETCH \(MODSEQ \(\d+\)\)$/);
    const again = await c.ok('FETCH 1 MODSEQ');
    assert.ok(!again.some((l) => l.includes('HIGHESTMODSEQ')), 'only when CONDSTORE gets enabled');
  });

  it('SEARCH RETURN (MIN) and (MAX) report the MODSEQ of the message returned', async () => {
    const modseq: Record<number, number> = {};
    for (const n of [1, 3, 2, 4]) {
      const [line] = await c.ok(`STORE ${n} +FLAGS.SILENT (\\Seen)`);
      modseq[n] = Number(/MODSEQ \((\d+)\)/.exec(line!)![1]);
    }
    const search = async (ret: string): Promise<string> => (await c.ok(`SEARCH RETURN (${ret}) 1:3 MODSEQ "/flags/\\\\seen" all 1`))[0]!.replace(/^ESEARCH \(TAG "[^"]+"\) /, '');
    assert.equal(await search('MIN'), `MIN 1 MODSEQ ${modseq[1]}`);
    assert.equal(await search('MAX'), `MAX 3 MODSEQ ${modseq[3]}`);
    assert.equal(await search('ALL'), `ALL 1:3 MODSEQ ${modseq[2]}`);
    assert.equal(await search('MIN MAX'), `MIN 1 MAX 3 MODSEQ ${Math.max(modseq[1]!, modseq[3]!)}`);
  });
});
