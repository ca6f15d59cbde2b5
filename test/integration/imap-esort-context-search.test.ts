// ESORT and CONTEXT=SEARCH (RFC 5267) and SORT=DISPLAY (RFC 5957) over a real socket: SORT answers in
// ESEARCH form in sort order, SEARCH and SORT return PARTIAL ranges, a SEARCH with RETURN (UPDATE) is
// kept up to date with ADDTO/REMOVEFROM (for this session's and another session's changes) until
// CANCELUPDATE, so is a SORT with RETURN (UPDATE) with positions in sort order (CONTEXT=SORT), and
// DISPLAYFROM sorts by display name.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const USER = 'context@example.org';
const PASS = 'context pass 1';
const HOST = 'mx.postamt.test';

function message(from: string, subject: string): string {
  return `From: ${from}\r\nSubject: ${subject}\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\n\r\nbody of ${subject}\r\n`;
}

describe('ESORT, CONTEXT=SEARCH and SORT=DISPLAY', () => {
  let t: TestServer;
  let c: RawImapClient;
  let other: RawImapClient;
  before(async () => {
    t = await startTestServer({ hostname: HOST });
    await t.addUser(USER, PASS);
    const login = { port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS };
    c = await RawImapClient.login(login);
    other = await RawImapClient.login(login);
    await c.append('INBOX', message('Zoe <a@example.net>', 'charlie'));
    await c.append('INBOX', message('b@example.net', 'alpha'));
    await c.append('INBOX', message('"Adam" <z@example.net>', 'echo'));
    await c.append('INBOX', message('=?UTF-8?Q?Bea?= <y@example.net>', 'bravo'));
    await c.append('INBOX', message('Carl <x@example.net>', 'delta'));
    await c.ok('SELECT INBOX');
    await other.ok('SELECT INBOX');
  });
  after(async () => {
    await c?.close();
    await other?.close();
    await t?.stop();
  });

  it('advertises ESORT, CONTEXT=SEARCH, CONTEXT=SORT and SORT=DISPLAY', async () => {
    const caps = (await c.ok('CAPABILITY'))[0]!.split(' ');
    for (const cap of ['ESORT', 'CONTEXT=SEARCH', 'CONTEXT=SORT', 'SORT=DISPLAY']) assert.ok(caps.includes(cap), cap);
  });

  it('answers SORT RETURN with ESEARCH in sort order (RFC 5267 §3.1)', async () => {
    const r = await c.command('SORT RETURN (MIN MAX COUNT ALL) (SUBJECT) UTF-8 ALL');
    assert.match(r.tagged, /^OK/);
    // alpha(2) bravo(4) charlie(1) delta(5) echo(3)
    assert.match(r.untagged[0]!, /^ESEARCH \(TAG "t\d+"\) MIN 2 MAX 3 COUNT 5 ALL 2,4,1,5,3$/);
    const uid = await c.command('UID SORT RETURN (ALL) (REVERSE SUBJECT) UTF-8 1:4');
    assert.match(uid.untagged[0]!, /^ESEARCH \(TAG "t\d+"\) UID ALL 3,1,4,2$/);
    assert.deepEqual((await c.command('SORT RETURN () (SUBJECT) UTF-8 ALL')).untagged.map((l) => l.replace(/"t\d+"/, 'T')), ['ESEARCH (TAG T) ALL 2,4,1,5,3']);
  });

  it('returns PARTIAL ranges of SEARCH and SORT results (RFC 5267 §4.4)', async () => {
    const partial = async (cmd: string): Promise<string> => (await c.command(cmd)).untagged[0]!.replace(/^ESEARCH \(TAG "t\d+"\) /, '');
    assert.equal(await partial('SEARCH RETURN (PARTIAL 2:3) ALL'), 'PARTIAL (2:3 2:3)');
    assert.equal(await partial('SEARCH RETURN (PARTIAL 4:2) NOT 3'), 'PARTIAL (2:4 2,4:5)');
    assert.equal(await partial('SEARCH RETURN (PARTIAL 6:9) ALL'), 'PARTIAL (6:9 NIL)');
    assert.equal(await partial('SORT RETURN (PARTIAL 1:3) (REVERSE SUBJECT) UTF-8 ALL'), 'PARTIAL (1:3 3,5,1)');
    for (const bad of ['SEARCH RETURN (PARTIAL 1) ALL', 'SEARCH RETURN (PARTIAL 1:*) ALL', 'SEARCH RETURN (PARTIAL 0:2) ALL', 'SORT RETURN (PARTIAL *:1) (SUBJECT) UTF-8 ALL']) {
      assert.match((await c.command(bad)).tagged, /^BAD /, bad);
    }
  });

  it('sorts by display name with DISPLAYFROM (RFC 5957 §3)', async () => {
    // Adam(3) b@example.net(2) Bea(4) Carl(5) Zoe(1)
    assert.deepEqual((await c.command('SORT (DISPLAYFROM) UTF-8 ALL')).untagged, ['SORT 3 2 4 5 1']);
    assert.deepEqual((await c.command('SORT (REVERSE DISPLAYFROM) UTF-8 ALL')).untagged, ['SORT 1 5 4 2 3']);
  });

  it('keeps a SEARCH RETURN (UPDATE) result up to date until CANCELUPDATE (RFC 5267 §4.2, §4.3)', async () => {
    const start = await c.command('SEARCH RETURN (UPDATE ALL) FLAGGED');
    const tag = /^ESEARCH \(TAG "(t\d+)"\)$/.exec(start.untagged[0]!)?.[1];
    assert.ok(tag, start.untagged[0]);
    // This session's own change is reported with the STORE.
    const store = await c.command('STORE 1,2,4 +FLAGS (\\Flagged)');
    assert.ok(store.untagged.includes(`ESEARCH (TAG "${tag}") ADDTO (0 1:2,4)`), store.untagged.join('\n'));
    // Another session's change at this session's next command.
    await other.ok('STORE 2 -FLAGS (\\Flagged)');
    const noop = await c.command('NOOP');
    assert.ok(noop.untagged.includes(`ESEARCH (TAG "${tag}") REMOVEFROM (0 2)`), noop.untagged.join('\n'));
    // An expunged message leaves the result before its EXPUNGE, with the number it had.
    await c.ok('STORE 4 +FLAGS.SILENT (\\Deleted)');
    const expunge = await c.command('EXPUNGE');
    assert.deepEqual(expunge.untagged, [`ESEARCH (TAG "${tag}") REMOVEFROM (0 4)`, '4 EXPUNGE']);
    // A new message that matches joins after the EXISTS that announces it.
    await other.append('INBOX', message('n@example.net', 'new'));
    await other.ok('STORE 5 +FLAGS (\\Flagged)');
    const after = await c.command('NOOP');
    const exists = after.untagged.indexOf('5 EXISTS');
    const addto = after.untagged.indexOf(`ESEARCH (TAG "${tag}") ADDTO (0 5)`);
    assert.ok(exists >= 0 && addto > exists, after.untagged.join('\n'));
    assert.match((await c.command(`CANCELUPDATE "${tag}"`)).tagged, /^OK/);
    const quiet = await c.command('STORE 3 +FLAGS (\\Flagged)');
    assert.ok(!quiet.untagged.some((l) => l.startsWith('ESEARCH')), quiet.untagged.join('\n'));
    assert.match((await c.command(`CANCELUPDATE "${tag}"`)).tagged, /^NO /);
  });

  it('keeps a SORT RETURN (UPDATE) result up to date with positions in sort order (RFC 5267 §4.2, §4.3 CONTEXT=SORT)', async () => {
    const sub = async (s: string): Promise<void> => {
      await other.append('INBOX', message('s@example.net', s));
    };
    const start = await c.command('UID SORT RETURN (UPDATE COUNT) (SUBJECT) UTF-8 UNDELETED');
    const tag = /^ESEARCH \(TAG "(t\d+)"\) UID COUNT (\d+)$/.exec(start.untagged[0]!);
    assert.ok(tag, start.untagged[0]);
    const count = Number(tag[2]);
    // Another session adds messages: each joins at its place in subject order.
    await sub('aaa first');
    await sub('zzz last');
    // Reported at this session's next command, after the EXISTS.
    const noop = await c.command('NOOP');
    const update = noop.untagged.findIndex((l) => l.startsWith(`ESEARCH (TAG "${tag[1]}")`));
    const added = new RegExp(`^ESEARCH \\(TAG "${tag[1]}"\\) UID ADDTO \\(1 (\\d+) ${count + 2} (\\d+)\\)$`).exec(noop.untagged[update] ?? '');
    assert.ok(added, noop.untagged.join('\n'));
    const [first, last] = [Number(added[1]), Number(added[2])];
    assert.equal(last, first + 1);
    assert.ok(update > noop.untagged.findIndex((l) => l.endsWith(' EXISTS')), noop.untagged.join('\n'));
    // The first one deleted by the other session leaves from position 1.
    await other.ok(`UID STORE ${first} +FLAGS (\\Deleted)`);
    const gone = await c.command('NOOP');
    assert.ok(gone.untagged.includes(`ESEARCH (TAG "${tag[1]}") UID REMOVEFROM (1 ${first})`), gone.untagged.join('\n'));
    assert.match((await c.command(`CANCELUPDATE "${tag[1]}"`)).tagged, /^OK/);
  });
});
