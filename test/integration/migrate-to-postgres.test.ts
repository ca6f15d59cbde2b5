// `postamt migrate --to postgres://...` on a small SQLite deployment made through the CLI: afterwards the
// PostgreSQL store holds the same accounts, aliases, mailboxes (UIDVALIDITY, UIDNEXT, HIGHESTMODSEQ),
// messages (UIDs, flags, MODSEQs, JMAP email ids, bytes), queue and DKIM keys; a second run into the same
// database is refused. A 100,000-message run is pinned by POSTAMT_MIGRATE_MESSAGES=100000 (not in npm test).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { cliHarness, type CliHarness } from '../../src/cli/test-harness.ts';
import { openStore } from '../../src/store/open.ts';
import type { Store } from '../../src/store/types.ts';
import { postgresUnavailable, testPostgres, type TestPostgres } from '../harness/postgres.ts';

const unavailable = postgresUnavailable();
let cluster: TestPostgres | null = null;
let url = '';
let h: CliHarness;

/** What a user and an admin can see of a store, in a form two backends can be compared by. */
async function snapshot(store: Store): Promise<unknown> {
  const accounts = [];
  for (const a of await store.listAccounts()) {
    const mailboxes = [];
    for (const m of await store.listMailboxes(a.id)) {
      const messages = [];
      const list = await store.listMessages(m.id);
      const ids = await store.objectIds(m.id, list.map((x) => x.uid));
      for (const msg of list) {
        messages.push({ uid: msg.uid, flags: msg.flags, modSeq: msg.modSeq, internalDate: msg.internalDate.getTime(), ids: ids.get(msg.uid), size: msg.size, body: (await store.readMessage(m.id, msg.uid)).toString('base64') });
      }
      mailboxes.push({ id: m.id, name: m.name, uidValidity: m.uidValidity, uidNext: m.uidNext, highestModSeq: m.highestModSeq, messages });
    }
    accounts.push({ id: a.id, address: a.address, mailboxes, modSeq: await store.accountModSeq(a.id), emails: await store.listEmailIndex(a.id) });
  }
  const queue = (await store.listQueue()).map((q) => ({ ...q, recipients: q.recipients.map((r) => ({ ...r, updatedAt: r.updatedAt.getTime(), nextAttemptAt: r.nextAttemptAt.getTime() })), createdAt: q.createdAt.getTime() }));
  const queueBodies = await Promise.all(queue.map((q) => store.readQueueMessage(q.id).then((b) => b.toString('base64'))));
  return { domains: (await store.listDomains()).map((d) => d.name), aliases: await store.listAliases(), accounts, queue, queueBodies };
}

if (unavailable) {
  it(`migrate to postgres: SKIPPED, ${unavailable}`, { skip: unavailable }, () => undefined);
} else {
  before(async () => {
    cluster = await testPostgres();
    url = await cluster.createDatabase();
    h = cliHarness();
  });
  after(async () => {
    h?.cleanup();
    if (cluster) {
      await cluster.dropDatabase(url);
      await cluster.stop();
    }
  });

  it('copies a SQLite deployment to PostgreSQL with UIDs, flags, MODSEQs, bodies, queue and DKIM keys, verified', { timeout: 120_000 }, async () => {
    const ok = async (args: string[], stdin?: string): Promise<string> => {
      const r = await h.run(args, stdin === undefined ? {} : { stdin });
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      return r.stdout;
    };
    await ok(['domain', 'add', 'example.test']);
    await ok(['user', 'add', 'alice@example.test', '--password-stdin'], 'migrate password 1\n');
    await ok(['user', 'add', 'bob@example.test', '--password-stdin'], 'migrate password 2\n');
    await ok(['alias', 'add', 'info@example.test', 'alice@example.test', 'bob@example.test']);
    for (let i = 0; i < 4; i++) await ok(['message', 'append', 'alice@example.test'], `Subject: message ${i}\r\nMessage-ID: <m${i}@example.test>\r\n\r\nbody ${i}\r\n`);
    await ok(['message', 'append', 'bob@example.test', '--seen'], `Subject: big\r\n\r\n${'x'.repeat(700_000)}\r\n`);
    await ok(['dkim', 'generate', 'example.test', '--active']);
    const dataDir = join(h.dir, 'data');
    const sqlite = await openStore({ dataDir });
    let before: unknown;
    try {
      const alice = (await sqlite.getAccount('alice@example.test'))!;
      const inbox = (await sqlite.getMailbox(alice.id, 'INBOX'))!;
      await sqlite.storeFlags(inbox.id, [2], 'add', ['\\Flagged', '$Label']);
      await sqlite.expunge(inbox.id, [3]);
      await sqlite.enqueue({ sender: 'alice@example.test', recipients: [{ address: 'far@remote.test', notify: ['FAILURE'] }] }, Buffer.from('Subject: queued\r\n\r\nto be relayed\r\n'));
      before = await snapshot(sqlite);
    } finally {
      await sqlite.close();
    }

    const migrated = await h.run(['migrate', '--to', url]);
    assert.equal(migrated.code, 0, migrated.stderr);
    assert.match(migrated.stdout, /verified: every table's rows and checksum/);
    assert.match(migrated.stdout, /backend = "postgres"/);
    assert.match(migrated.stdout, /1 DKIM keys|2 DKIM keys/);

    const pg = await openStore({ dataDir, storage: { backend: 'postgres', url, poolSize: 2, statementTimeout: 30_000 } });
    try {
      assert.deepEqual(await snapshot(pg), before);
      // New ids continue after the copied ones: a new account and a new message do not collide.
      const carol = await pg.addAccount({ address: 'carol@example.test', passwordHash: 'x', scram: null });
      const ids = (await pg.listAccounts()).map((a) => a.id);
      assert.equal(new Set(ids).size, ids.length);
      assert.ok(carol.id > Math.max(...ids.filter((id) => id !== carol.id)));
      assert.ok(((await pg.shared!.listShared('dkim')).length) >= 1, 'the DKIM keys are in the database');
    } finally {
      await pg.close();
    }
    const again = await h.run(['migrate', '--to', url]);
    assert.notEqual(again.code, 0);
    assert.match(again.stderr, /not empty/);
  });

  const big = Number(process.env.POSTAMT_MIGRATE_MESSAGES ?? 0);
  it(`a store of ${big || 'N'} messages (POSTAMT_MIGRATE_MESSAGES) is copied and verified`, { skip: big > 0 ? false : 'set POSTAMT_MIGRATE_MESSAGES=100000 to run', timeout: 3_600_000 }, async () => {
    const bigUrl = await cluster!.createDatabase();
    const hb = cliHarness();
    try {
      const accounts = 10;
      assert.equal((await hb.run(['domain', 'add', 'big.test'])).code, 0);
      for (let a = 0; a < accounts; a++) assert.equal((await hb.run(['user', 'add', `u${a}@big.test`, '--password-stdin'], { stdin: 'big store password 1\n' })).code, 0);
      const dataDir = join(hb.dir, 'data');
      const store = await openStore({ dataDir });
      const seedStart = Date.now();
      let expected: unknown;
      try {
        const inboxes: number[] = [];
        for (let a = 0; a < accounts; a++) inboxes.push((await store.getMailbox((await store.getAccount(`u${a}@big.test`))!.id, 'INBOX'))!.id);
        let next = 0;
        const filler = 'Lorem ipsum dolor sit amet, consectetur adipiscing elit. '.repeat(30);
        const worker = async (): Promise<void> => {
          for (let i = next++; i < big; i = next++) {
            const tx = store.beginDelivery();
            tx.write(Buffer.from(`Subject: seeded ${i}\r\nMessage-ID: <seed${i}@big.test>\r\nFrom: s@elsewhere.test\r\n\r\n${filler}${i}\r\n`));
            await tx.commit({ mailboxes: [{ mailboxId: inboxes[i % accounts]!, flags: i % 3 === 0 ? ['\\Seen'] : [] }] });
          }
        };
        await Promise.all(Array.from({ length: 256 }, worker));
        const last = inboxes[accounts - 1]!;
        expected = { mailbox: await store.getMailboxById(last), tail: (await store.listMessages(last, { uidFrom: big / accounts - 5 })).map((m) => [m.uid, m.flags, m.modSeq]), body: (await store.readMessage(last, 7)).toString() };
      } finally {
        await store.close();
      }
      const seedMs = Date.now() - seedStart;
      const started = Date.now();
      const r = await hb.run(['migrate', '--to', bigUrl, '--json']);
      assert.equal(r.code, 0, r.stderr);
      const report = JSON.parse(r.stdout) as { messages: number; bodyBytes: number; ms: number };
      console.log(`migrate ${report.messages} messages (${(report.bodyBytes / 1e6).toFixed(0)} MB of bodies): copied and verified in ${((Date.now() - started) / 1000).toFixed(1)} s (seeding took ${(seedMs / 1000).toFixed(1)} s)`);
      assert.equal(report.messages, big);
      const pgStore = await openStore({ dataDir, storage: { backend: 'postgres', url: bigUrl, poolSize: 2, statementTimeout: 60_000 } });
      try {
        const last = (await pgStore.getMailbox((await pgStore.getAccount(`u${accounts - 1}@big.test`))!.id, 'INBOX'))!;
        assert.deepEqual({ mailbox: await pgStore.getMailboxById(last.id), tail: (await pgStore.listMessages(last.id, { uidFrom: big / accounts - 5 })).map((m) => [m.uid, m.flags, m.modSeq]), body: (await pgStore.readMessage(last.id, 7)).toString() }, expected);
      } finally {
        await pgStore.close();
      }
    } finally {
      hb.cleanup();
      await cluster!.dropDatabase(bigUrl);
    }
  });
}
