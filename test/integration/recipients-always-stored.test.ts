/**
 * Property: over random alias graphs (loops, chains, catch-alls, remote targets, role addresses, disabled
 * and unknown users), an SMTP transaction on the MX listener never gets 250 for a recipient whose message is
 * stored nowhere, and never refuses a recipient that can reach a mailbox or a remote address. Runs the real
 * server (SQLite in a temp dir) through a socket; a reference model of alias expansion is the oracle.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawSmtp } from '../harness/smtp-raw.ts';
import { MAX_ALIAS_DEPTH } from '../../src/delivery/recipients.ts';

const ACCOUNTS = ['u0@d1.test', 'u1@d1.test', 'u2@d2.test', 'u3@d2.test']; // u0 is the oldest: the default postmaster
const ALIAS_NAMES = ['a0@d1.test', 'a1@d1.test', 'a2@d1.test', 'a0@d2.test', 'a1@d2.test', 'a2@d2.test'];
const TARGETS = [...ACCOUNTS, ...ALIAS_NAMES, 'g0@d1.test', 'g0@d2.test', 'x0@remote.test', 'x1@remote.test', 'postmaster@d1.test', 'abuse@d2.test'];
const RECIPIENTS = [...TARGETS, 'u0+tag@d1.test', 'a1+tag@d2.test', 'nobody@d2.test'];

interface Graph {
  aliases: Map<string, string[]>; // name (or "@domain" for a catch-all) → targets
  disabled: boolean[];
  recipients: string[];
  /** The aliases as changed between RCPT and the end of data (null: unchanged). */
  changed: Map<string, string[]> | null;
}

const targetList = fc.uniqueArray(fc.constantFrom(...TARGETS), { minLength: 1, maxLength: 3 });
const aliasesArb = fc.record({
  named: fc.tuple(...ALIAS_NAMES.map(() => fc.option(targetList, { freq: 2 }))),
  catchAll: fc.tuple(fc.option(targetList), fc.option(targetList)),
}).map(({ named, catchAll }) => {
  const aliases = new Map<string, string[]>();
  named.forEach((targets, i) => { if (targets) aliases.set(ALIAS_NAMES[i]!, targets); });
  if (catchAll[0]) aliases.set('@d1.test', catchAll[0]);
  if (catchAll[1]) aliases.set('@d2.test', catchAll[1]);
  return aliases;
});
const graphArb: fc.Arbitrary<Graph> = fc.record({
  aliases: aliasesArb,
  disabled: fc.array(fc.boolean(), { minLength: ACCOUNTS.length, maxLength: ACCOUNTS.length }),
  recipients: fc.uniqueArray(fc.constantFrom(...RECIPIENTS), { minLength: 1, maxLength: 3 }),
  changed: fc.option(aliasesArb, { freq: 3 }),
});

/** What delivery should reach from an address: accounts and remote addresses, and the longest simple path (in addresses). */
function reach(g: Pick<Graph, 'aliases'>, address: string): { accounts: Set<string>; remotes: Set<string>; longestPath: number } {
  const out = { accounts: new Set<string>(), remotes: new Set<string>(), longestPath: 0 };
  const onPath = new Set<string>();
  const visit = (addr: string, nodes: number): void => {
    const key = addr.toLowerCase();
    const [local, domain] = key.split('@') as [string, string];
    if (domain !== 'd1.test' && domain !== 'd2.test') {
      out.remotes.add(key);
      return;
    }
    if (onPath.has(key)) return;
    out.longestPath = Math.max(out.longestPath, nodes);
    onPath.add(key);
    const base = `${local.includes('+') ? local.slice(0, local.indexOf('+')) : local}@${domain}`;
    let targets: string[] | null = null;
    for (const candidate of [key, base]) {
      if (ACCOUNTS.includes(candidate)) {
        out.accounts.add(candidate); // disabled or not: it receives
        targets = [];
        break;
      }
      if (g.aliases.has(candidate)) {
        targets = g.aliases.get(candidate)!;
        break;
      }
    }
    if (targets === null && (base.startsWith('postmaster@') || base.startsWith('abuse@'))) {
      out.accounts.add(ACCOUNTS[0]!);
      targets = [];
    }
    targets ??= g.aliases.get(`@${domain}`) ?? [];
    for (const t of targets) visit(t, nodes + 1);
    onPath.delete(key);
  };
  visit(address, 1);
  return out;
}

let t: TestServer;

before(async () => {
  t = await startTestServer({ startQueue: false, config: { limits: { recipients: 10 } } });
  for (const a of ACCOUNTS) await t.addUser(a, `pw-${a}-123456`);
  await t.addDomain('d1.test');
  await t.addDomain('d2.test');
});

after(async () => {
  await t?.stop();
});

let run = 0;

test('no 250 without a stored copy or a queue entry for every accepted recipient, and no deliverable recipient refused', async () => {
  const store = t.server.services.store;
  await fc.assert(fc.asyncProperty(graphArb, async (g) => {
    // The graph as the store holds it (written directly: the CLI would refuse the loops).
    const install = async (aliases: Map<string, string[]>): Promise<void> => {
      for (const a of await store.listAliases()) await store.removeAlias(a.address);
      for (const [name, targets] of aliases) await store.addAlias(name, targets);
      t.server.services.planner.resolver.forget();
    };
    await install(g.aliases);
    for (let i = 0; i < ACCOUNTS.length; i++) await store.updateAccount(ACCOUNTS[i]!, { disabled: g.disabled[i]! });

    const countsBefore = await Promise.all(ACCOUNTS.map(async (a) => (await t.messages(a)).length));
    const queueBefore = new Set((await store.listQueue()).map((q) => q.id));
    const marker = `prop-${++run}`;
    const accepted: string[] = [];
    const { client } = await RawSmtp.connect(t.ports.smtp);
    try {
      await client.command('EHLO client.test');
      assert.equal((await client.command('MAIL FROM:<sender@elsewhere.test>')).code, 250);
      for (const r of g.recipients) {
        const reply = await client.command(`RCPT TO:<${r}>`);
        const expected = reach(g, r);
        const local = /@d[12]\.test$/.test(r);
        const deliverable = expected.accounts.size + expected.remotes.size > 0;
        if (reply.code === 250) {
          assert.ok(local && deliverable, `${r}: 250 at RCPT but the model reaches nothing`);
          accepted.push(r);
        } else if (!local) {
          assert.deepEqual([reply.code, reply.enhanced], [554, '5.7.1'], `${r}: relay must be denied`);
        } else {
          assert.equal(Math.floor(reply.code / 100), 5, `${r}: ${reply.code} ${reply.text}`);
          // A deliverable recipient is refused only when some path through the aliases is longer than the limit.
          if (deliverable) assert.ok(reply.enhanced === '5.4.6' && expected.longestPath > MAX_ALIAS_DEPTH + 1, `${r} wrongly refused: ${reply.code} ${reply.enhanced} ${reply.text}`);
        }
      }
      if (accepted.length === 0) return;
      assert.equal((await client.command('DATA')).code, 354);
      // The aliases may change before the end of data: the commit must then see the new graph.
      if (g.changed) await install(g.changed);
      const data = await client.command(`Subject: ${marker}\r\nMessage-ID: <${marker}@client.test>\r\n\r\nbody\r\n.`);
      const now = { aliases: g.changed ?? g.aliases };
      const blocked = accepted.filter((r) => {
        const e = reach(now, r);
        return e.accounts.size + e.remotes.size === 0 || e.longestPath > MAX_ALIAS_DEPTH + 1;
      });
      if (data.code !== 250) {
        // Refused at the commit: only a recipient that now reaches nothing may cause it, and it must be temporary.
        assert.deepEqual([data.code, data.enhanced], [451, '4.3.0'], `end of data: ${data.code} ${data.text}`);
        assert.ok(blocked.length > 0, `451 although every accepted recipient reaches a mailbox: ${accepted.join(', ')}`);
      } else {
        assert.ok(blocked.every((r) => reach(now, r).longestPath > MAX_ALIAS_DEPTH + 1), `250 although ${blocked.join(', ')} reaches nothing`);
      }
      accepted.splice(0, accepted.length, ...(data.code === 250 ? accepted : []));
    } finally {
      client.close();
    }
    const g2 = { aliases: g.changed ?? g.aliases };

    // Every accepted recipient has a copy in a mailbox it reaches, or a queue entry for a remote it reaches.
    const want = { accounts: new Set<string>(), remotes: new Set<string>() };
    for (const r of accepted) {
      const e = reach(g2, r);
      e.accounts.forEach((a) => want.accounts.add(a));
      e.remotes.forEach((a) => want.remotes.add(a));
    }
    const stored = new Set<string>();
    for (let i = 0; i < ACCOUNTS.length; i++) {
      const list = await t.messages(ACCOUNTS[i]!);
      const added = list.length - countsBefore[i]!;
      assert.ok(added <= 1, `${ACCOUNTS[i]} got ${added} copies`);
      if (added === 1) {
        assert.ok((await t.read(ACCOUNTS[i]!, list[list.length - 1]!.uid)).includes(marker));
        stored.add(ACCOUNTS[i]!);
      }
    }
    const newEntries = (await store.listQueue()).filter((q) => !queueBefore.has(q.id));
    assert.ok(newEntries.length <= 1);
    const queued = new Set(newEntries.flatMap((q) => q.recipients.map((r) => r.address.toLowerCase())));
    assert.deepEqual([...stored].sort(), [...want.accounts].sort(), 'mailbox copies are exactly those the accepted recipients reach');
    assert.deepEqual([...queued].sort(), [...want.remotes].sort(), 'queue entries are exactly the remote addresses the accepted recipients reach');
    for (const r of accepted) {
      const e = reach(g2, r);
      assert.ok([...e.accounts].some((a) => stored.has(a)) || [...e.remotes].some((a) => queued.has(a)), `${r} acknowledged but stored nowhere`);
    }
  }), { numRuns: Number(process.env.PROPERTY_RUNS ?? 60) });
});
