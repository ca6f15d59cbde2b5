import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from '../contract/store-contract.ts';
import { runEmailStoreContract } from '../contract/email-contract.ts';
import { runSearchIndexContract } from '../contract/search-contract.ts';
import { openPostgresStore, type PostgresStore } from './store.ts';
import { postgresUnavailable, testPostgres, type TestPostgres } from '../../../test/harness/postgres.ts';

const unavailable = postgresUnavailable();
let cluster: TestPostgres | null = null;

if (unavailable) {
  test(`postgres store: SKIPPED, ${unavailable}`, { skip: unavailable }, () => undefined);
} else {
  before(async () => {
    cluster = await testPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });

  async function fresh() {
    const url = await cluster!.createDatabase();
    const dataDir = mkdtempSync(join(tmpdir(), 'postamt-pgstore-'));
    const open = () => openPostgresStore({ url, dataDir, poolSize: 4 });
    return {
      url,
      store: await open(),
      openSecond: open,
      cleanup: async () => {
        await cluster!.dropDatabase(url);
        rmSync(dataDir, { recursive: true, force: true });
      },
    };
  }

  runStoreContract('postgres', fresh);
  runEmailStoreContract('postgres', fresh);
  runSearchIndexContract('postgres', fresh);

  async function inboxOf(store: PostgresStore, address: string): Promise<number> {
    if (!(await store.hasDomain('example.test'))) await store.addDomain('example.test');
    const a = await store.addAccount({ address, passwordHash: 'x', scram: null });
    return (await store.getMailbox(a.id, 'INBOX'))!.id;
  }

  test('postgres: concurrent commits share one transaction (group commit)', async () => {
    const { store, cleanup } = await fresh();
    try {
      const inbox = await inboxOf(store, 'a@example.test');
      const before = store.commits.stats.batches;
      await Promise.all(Array.from({ length: 50 }, (_, i) => {
        const tx = store.beginDelivery();
        tx.write(Buffer.from(`Subject: ${i}\r\n\r\n`));
        return tx.commit({ mailboxes: [{ mailboxId: inbox }] });
      }));
      assert.equal(store.commits.stats.batches - before, 1, '50 concurrent commits, one transaction');
      assert.deepEqual((await store.listMessages(inbox)).map((m) => m.uid), Array.from({ length: 50 }, (_, i) => i + 1));
    } finally {
      await store.close();
      await cleanup();
    }
  });

  test('postgres: waiting deliveries are one statement; one that fails leaves the others stored', async () => {
    const { store, cleanup } = await fresh();
    try {
      const a = await inboxOf(store, 'a@example.test');
      const b = await inboxOf(store, 'b@example.test');
      const before = { ...store.commits.stats };
      const deliver = (i: number, mailboxes: { mailboxId: number }[]) => {
        const tx = store.beginDelivery();
        tx.write(Buffer.from(`Message-ID: <m${i}@example.test>\r\nSubject: ${i}\r\n\r\nbody ${i}\r\n`));
        return tx.commit({ mailboxes, trace: [{ at: new Date(), queueId: `q${i}`, event: 'received', recipients: ['a@example.test'] }] });
      };
      const results = await Promise.allSettled(Array.from({ length: 20 }, (_, i) => deliver(i, i === 7 ? [{ mailboxId: 999_999 }] : i % 5 === 0 ? [{ mailboxId: a }, { mailboxId: b }] : [{ mailboxId: a }])));
      assert.equal(results[7]!.status, 'rejected', 'the delivery to a missing mailbox fails');
      assert.deepEqual(results.filter((r) => r.status === 'fulfilled').length, 19);
      assert.deepEqual((await store.listMessages(a)).map((m) => m.uid), Array.from({ length: 19 }, (_, i) => i + 1), 'the others stored, UIDs without a gap');
      assert.equal((await store.listMessages(b)).length, 4);
      // The first statement failed as a whole (nothing of it stored); each caller's delivery was run alone.
      assert.equal(store.commits.stats.deliveryBatches - before.deliveryBatches, 19);
      const count = async (sql: string) => (await store.pool.query<{ n: number }>(sql)).rows[0]!.n;
      assert.equal(await count('SELECT count(*) AS n FROM blobs'), 19, 'a body stored once for its two copies');
      assert.equal(await count("SELECT count(*) AS n FROM message_trace WHERE queue_id <> 'q7'"), 19);
      assert.equal(await count("SELECT count(*) AS n FROM message_trace WHERE queue_id = 'q7'"), 0);
      const again = await Promise.all(Array.from({ length: 30 }, (_, i) => deliver(100 + i, [{ mailboxId: a }])));
      assert.equal(store.commits.stats.deliveryBatches - before.deliveryBatches, 20, '30 waiting deliveries, one statement');
      assert.deepEqual(again.map((r) => r.messages[0]!.uid), Array.from({ length: 30 }, (_, i) => 20 + i));
    } finally {
      await store.close();
      await cleanup();
    }
  });

  test('postgres: waiting deliveries of large bodies are split so one statement carries at most a few MiB', async () => {
    const { store, cleanup } = await fresh();
    try {
      const inbox = await inboxOf(store, 'a@example.test');
      const before = store.commits.stats.deliveryBatches;
      // A write holding the group commit lets every delivery below wait for the same next batch.
      const busy = store.commits.run(async (c) => { await c.query('SELECT pg_sleep(0.5)'); });
      const body = Buffer.alloc(500 * 1024, 'x');
      const results = await Promise.all(Array.from({ length: 20 }, (_, i) => {
        const tx = store.beginDelivery();
        tx.write(Buffer.concat([Buffer.from(`Subject: ${i}\r\n\r\n`), body]));
        return tx.commit({ mailboxes: [{ mailboxId: inbox }] });
      }));
      await busy;
      // 20 bodies of 500 KiB are 10 MB: two statements under the 8 MiB budget, not one.
      assert.equal(store.commits.stats.deliveryBatches - before, 2);
      assert.deepEqual(results.map((r) => r.messages[0]!.uid).sort((x, y) => x - y), Array.from({ length: 20 }, (_, i) => i + 1));
    } finally {
      await store.close();
      await cleanup();
    }
  });

  test('postgres: two stores recording attempts on the same two queue messages in opposite order do not deadlock', async () => {
    const { store, openSecond, cleanup } = await fresh();
    const other = await openSecond();
    const blocker = await store.pool.connect();
    try {
      const enqueue = (subject: string) => store.enqueue({ sender: 's@example.test', recipients: [{ address: 'r@far.test' }] }, Buffer.from(`Subject: ${subject}\r\n\r\nx\r\n`));
      const a = await enqueue('a');
      const b = await enqueue('b');
      const recipient = async (id: string) => (await store.getQueueMessage(id))!.recipients[0]!.id;
      const ra = await recipient(a);
      const rb = await recipient(b);
      // Another session holds both recipients' rows, so each store's batch stops inside its first attempt
      // (after whatever it locked before) until both batches have begun.
      await blocker.query('BEGIN');
      await blocker.query('SELECT 1 FROM queue_recipients WHERE id = ANY($1::bigint[]) FOR UPDATE', [[ra, rb]]);
      const attempt = (queueId: string, id: number) => ({ queueId, updates: [{ id, state: 'deferred' as const, attempts: 1, nextAttemptAt: new Date(Date.now() + 60_000), lastResult: '451 4.4.1 later' }] });
      const retriesBefore = store.commits.stats.retries + other.commits.stats.retries;
      const one = Promise.all([store.recordAttempt(attempt(a, ra)), store.recordAttempt(attempt(b, rb))]);
      const two = Promise.all([other.recordAttempt(attempt(b, rb)), other.recordAttempt(attempt(a, ra))]);
      await new Promise((r) => setTimeout(r, 300));
      await blocker.query('COMMIT');
      await Promise.all([one, two]);
      // A deadlock (40P01) would have been detected after deadlock_timeout and its batch run again.
      assert.equal(store.commits.stats.retries + other.commits.stats.retries - retriesBefore, 0, 'no batch run again after a deadlock');
      assert.deepEqual((await store.getQueueMessage(a))!.recipients.map((r) => [r.state, r.attempts]), [['deferred', 1]]);
    } finally {
      blocker.release();
      await other.close();
      await store.close();
      await cleanup();
    }
  });

  test('postgres: two stores on one database delivering into the same mailboxes at once get unique, increasing UIDs', async () => {
    const { store, openSecond, cleanup } = await fresh();
    const other = await openSecond();
    try {
      const a = await inboxOf(store, 'a@example.test');
      const b = await inboxOf(store, 'b@example.test');
      const deliver = (s: PostgresStore, i: number) => {
        const tx = s.beginDelivery();
        tx.write(Buffer.from(`Subject: ${i}\r\n\r\n`));
        // Half in a then b, half in b then a: the two writers lock the rows in opposite plan order.
        return tx.commit({ mailboxes: i % 2 === 0 ? [{ mailboxId: a }, { mailboxId: b }] : [{ mailboxId: b }, { mailboxId: a }] });
      };
      const results = await Promise.all(Array.from({ length: 120 }, (_, i) => deliver(i % 3 === 0 ? store : other, i)));
      for (const mailbox of [a, b]) {
        const uids = results.map((r) => r.messages.find((m) => m.mailboxId === mailbox)!.uid).sort((x, y) => x - y);
        assert.deepEqual(uids, Array.from({ length: 120 }, (_, i) => i + 1), 'every UID given once');
        const stored = (await store.listMessages(mailbox)).map((m) => [m.uid, m.modSeq]);
        assert.equal(stored.length, 120);
        for (let i = 1; i < stored.length; i++) assert.ok(stored[i]![1]! > stored[i - 1]![1]!, 'modseq ascends with the UID');
        assert.equal((await store.getMailboxById(mailbox))!.uidNext, 121);
      }
    } finally {
      await other.close();
      await store.close();
      await cleanup();
    }
  });

  test('postgres: a body is stored once however many copies, and goes with the last one', async () => {
    const { store, url, cleanup } = await fresh();
    try {
      const a = await inboxOf(store, 'a@example.test');
      const b = await inboxOf(store, 'b@example.test');
      const tx = store.beginDelivery();
      tx.write(Buffer.alloc(1_300_000, 'x'));
      const r = await tx.commit({ mailboxes: [{ mailboxId: a }, { mailboxId: b }] });
      await store.copyMessages(a, [r.messages[0]!.uid], b);
      const count = async (sql: string) => (await store.pool.query<{ n: number }>(sql)).rows[0]!.n;
      assert.equal(await count('SELECT count(*) AS n FROM blobs'), 1);
      assert.equal(await count('SELECT count(*) AS n FROM blob_chunks'), 3, '1.3 MB in 512 KiB chunks');
      assert.equal(await count('SELECT refs AS n FROM blobs'), 3);
      await store.expunge(a, [1]);
      await store.expunge(b, [1, 2]);
      assert.equal(await count('SELECT count(*) AS n FROM blobs'), 0, `no body left in ${url}`);
      assert.equal(await count('SELECT count(*) AS n FROM blob_chunks'), 0);
    } finally {
      await store.close();
      await cleanup();
    }
  });
}
