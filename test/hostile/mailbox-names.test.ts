/**
 * Mailbox names as an attack surface: modified UTF-7 spellings that name nothing reachable (a lone
 * surrogate) or a second spelling of an existing name, CREATE floods with hundreds of implied parent
 * levels, and LIST patterns shaped to make a backtracking matcher run for ever. Real IMAP connections.
 */
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { Conn } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
let t: TestServer;
const PASSWORD = 'pw-mailbox-names-1';
const MAX_MAILBOXES = 300;

before(async () => {
  t = await startTestServer({ config: { limits: { mailboxesPerAccount: MAX_MAILBOXES } } });
  await t.addUser('victim@example.test', PASSWORD);
  await t.addUser('canary@example.test', PASSWORD);
});
after(async () => {
  await t?.stop();
});

async function login(user: string): Promise<Conn> {
  const c = await Conn.open(t.ports.imaps, { tls: { ca: t.ca }, timeoutMs: 30_000 });
  await c.expect(/^\* OK[^\n]*\n/);
  await c.cmd(`L LOGIN ${user} "${PASSWORD}"`, /L OK[^\n]*\n/);
  return c;
}

/**
 * Waits for the tagged answer by looking at the end of what arrived only: Conn.expect rescans everything
 * unread on each chunk, which for a 5 MB LIST answer would cost this process (and so the server) seconds.
 */
async function tagged(c: Conn, tag: string, timeoutMs = 120_000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  const done = new RegExp(`(?:^|\\n)${tag} (OK|NO|BAD)[^\\n]*\\n$`);
  for (;;) {
    const tail = c.text.slice(-300);
    const m = done.exec(tail);
    if (m) {
      c.mark = c.text.length;
      return m[0].trim();
    }
    if (c.closed || Date.now() > deadline) throw new Error(`no ${tag} answer; got ${JSON.stringify(tail)}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

async function mailboxNames(user: string): Promise<string[]> {
  const account = await t.server.services.store.getAccount(user);
  return (await t.server.services.store.listMailboxes(account!.id)).map((m) => m.name);
}

test('a lone surrogate or a second spelling of a name in modified UTF-7 is refused, and nothing is created', async () => {
  const c = await login('victim@example.test');
  const before = await mailboxNames('victim@example.test');
  const refused: string[] = [];
  for (const wire of ['&2D0-', '&3gA-', 'x/&2D0-/y', '&AGEAYgBj-', '&AOQ-&AOQ-', '&AOR-']) {
    const answer = await c.cmd(`C CREATE "${wire}"`, /C (OK|NO|BAD)[^\n]*\n/);
    if (/C (NO|BAD)/.test(answer)) refused.push(wire);
    else fig.record({ case: `CREATE "${wire}"`, figure: answer.trim(), limit: 'NO or BAD', pass: false });
  }
  // The same names stay unreachable for every other command too.
  for (const cmd of ['SELECT "&2D0-"', 'DELETE "&2D0-"', 'RENAME INBOX "&2D0-"', 'APPEND "&AGEAYgBj-" {3+}\r\nabc']) {
    assert.match(await c.cmd(`X ${cmd}`, /X (OK|NO|BAD)[^\n]*\n/), /X (NO|BAD)/, cmd);
  }
  // The canonical spelling still works, and LIST answers with that one spelling.
  await c.cmd('C CREATE "Entw&APw-rfe"', /C OK[^\n]*\n/);
  const list = await c.cmd('L LIST "" "*"', /L OK[^\n]*\n/);
  c.close();
  fig.record({ case: 'CREATE with a lone surrogate / non-canonical modified UTF-7 (6 spellings)', figure: `${refused.length} refused`, limit: 'all 6', pass: refused.length === 6 });
  assert.equal(refused.length, 6, `accepted: ${refused.join(' ')}`);
  assert.deepEqual((await mailboxNames('victim@example.test')).sort(), [...before, 'Entwürfe'].sort());
  assert.match(list, /"Entw&APw-rfe"\r\n/);
  assert.doesNotMatch(list, /&2D|&3g|&AGE|\uFFFD/);
});

test('CREATE with 255 levels, and more mailboxes than mailboxes_per_account, get NO [LIMIT]; LIST stays quick', async () => {
  const c = await login('victim@example.test');
  const deep = Array.from({ length: 255 }, () => 'a').join('/');
  const answer = await c.cmd(`D CREATE "${deep}"`, /D (OK|NO|BAD)[^\n]*\n/);
  const deepCount = (await mailboxNames('victim@example.test')).filter((n) => n.startsWith('a/') || n === 'a').length;
  fig.record({ case: 'CREATE of a name with 255 levels', figure: `${answer.trim()}; ${deepCount} mailboxes made`, limit: 'NO [LIMIT], none made', pass: /D NO \[LIMIT\]/.test(answer) && deepCount === 0 });
  assert.match(answer, /D NO \[LIMIT\]/);
  assert.equal(deepCount, 0);

  // 32 levels of long names: the deepest allowed, each CREATE making the next parent.
  const level = 'L'.repeat(13);
  const path = Array.from({ length: 32 }, (_, i) => `${level}${String(i).padStart(2, '0')}`);
  assert.match(await c.cmd(`P CREATE "${path.join('/')}"`, /P (OK|NO|BAD)[^\n]*\n/), /P OK/);
  // Then a flood of pipelined CREATEs until the account is full.
  const flood = 400;
  c.write(Array.from({ length: flood }, (_, i) => `F${i} CREATE "${path.slice(0, 16).join('/')}/n${i}"\r\n`).join(''));
  await c.expect(new RegExp(`F${flood - 1} (OK|NO|BAD)[^\\n]*\\n`), 60_000);
  const created = (await mailboxNames('victim@example.test')).length;
  const limited = (c.text.match(/F\d+ NO \[LIMIT\]/g) ?? []).length;
  fig.record({ case: `${flood} pipelined CREATEs, mailboxes_per_account ${MAX_MAILBOXES}`, figure: `${created} mailboxes, ${limited} NO [LIMIT]`, limit: `<= ${MAX_MAILBOXES}`, pass: created <= MAX_MAILBOXES && limited > 0 });
  assert.ok(created <= MAX_MAILBOXES, `${created} mailboxes`);
  assert.ok(limited > 0);

  // A pattern that takes a backtracking matcher exponential time against these long names, while another
  // client's NOOP measures how long the server stops answering.
  const canary = await login('canary@example.test');
  const pattern = '*L%'.repeat(100) + '*';
  const began = Date.now();
  c.write(`S LIST "" "${pattern}"\r\n`);
  let worst = 0;
  let done = false;
  void tagged(c, 'S').finally(() => (done = true));
  for (let i = 0; !done; i++) {
    const sent = Date.now();
    await canary.cmd(`N${i} NOOP`, new RegExp(`N${i} OK[^\\n]*\\n`), 60_000);
    worst = Math.max(worst, Date.now() - sent);
    await new Promise((r) => setTimeout(r, 20));
  }
  const listMs = Date.now() - began;
  const full = Date.now();
  await c.cmd('A LIST "" "*"', /A OK[^\n]*\n/);
  const fullMs = Date.now() - full;
  c.close();
  canary.close();
  fig.record({ case: `LIST "" "*L%"x100"*" over ${created} mailboxes of up to 32 levels`, figure: `${listMs} ms, canary NOOP worst ${worst} ms; LIST * ${fullMs} ms`, limit: '<= 2000 ms each', pass: listMs <= 2000 && worst <= 2000 && fullMs <= 2000 });
  // Unloaded these take tens of milliseconds; the bound leaves room for a machine busy with other tests.
  assert.ok(listMs <= 2000, `LIST took ${listMs} ms`);
  assert.ok(worst <= 2000, `canary waited ${worst} ms`);
  assert.ok(fullMs <= 2000, `LIST * took ${fullMs} ms`);
});

test('LIST over 10,000 deep mailboxes (the default cap) never stalls other clients, whatever the pattern', async () => {
  const store = t.server.services.store;
  const account = await store.getAccount('canary@example.test');
  const level = (i: number): string => `${'M'.repeat(13)}${String(i % 100).padStart(2, '0')}`;
  const seeded = 10_000;
  for (let i = 0; i < seeded; i++) {
    const name = [...Array.from({ length: 30 }, (_, j) => level(j + (j === 15 ? i : 0))), `n${i}`].join('/');
    await store.createMailbox(account!.id, name, null);
  }
  const c = await login('canary@example.test');
  const canary = await login('victim@example.test');
  const rows: string[] = [];
  let worstList = 0;
  let worstCanary = 0;
  for (const pattern of ['*', '*M%'.repeat(50) + '*x%', `*${'M'.repeat(400)}*x%`, '%/%/%/%']) {
    const began = Date.now();
    let done = false;
    c.write(`S LIST "" "${pattern}"\r\n`);
    const answered = tagged(c, 'S').finally(() => (done = true));
    for (let i = 0; !done; i++) {
      const sent = Date.now();
      await canary.cmd(`N${i} NOOP`, new RegExp(`N${i} OK[^\\n]*\\n`), 120_000);
      worstCanary = Math.max(worstCanary, Date.now() - sent);
      await new Promise((r) => setTimeout(r, 10));
    }
    await answered;
    const ms = Date.now() - began;
    worstList = Math.max(worstList, ms);
    rows.push(`${pattern.length > 12 ? `${pattern.slice(0, 9)}…` : pattern} ${ms} ms`);
  }
  c.close();
  canary.close();
  // Unloaded the server's longest stall here is ~60 ms (reading and sorting the 10,000 names); the bound
  // leaves room for a machine busy with other test files. A backtracking matcher never answers at all.
  fig.record({ case: `LIST over ${seeded} mailboxes of 31 levels, 4 patterns`, figure: `${rows.join(', ')}; canary NOOP worst ${worstCanary} ms`, limit: 'canary <= 2000 ms, LIST <= 10 s', pass: worstCanary <= 2000 && worstList <= 10_000 });
  assert.ok(worstCanary <= 2000, `canary waited ${worstCanary} ms`);
  assert.ok(worstList <= 10_000, `a LIST took ${worstList} ms`);
});
