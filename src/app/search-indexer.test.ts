import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { silentLogger } from '../core/log.ts';
import { openStore, type OpenedStore } from '../store/open.ts';
import { SearchIndexer } from './search-indexer.ts';

let dir: string;
let store: OpenedStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postamt-indexer-'));
  store = await openStore({ dataDir: dir });
  await store.addDomain('example.test');
  const account = (await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null })).id;
  const inbox = (await store.getMailbox(account, 'INBOX'))!.id;
  for (let i = 0; i < 6; i++) {
    const tx = store.beginDelivery();
    tx.write(Buffer.from(`Subject: message ${i}\r\nMessage-ID: <m${i}@example.test>\r\n\r\nbody ${i}\r\n`));
    await tx.commit({ mailboxes: [{ mailboxId: inbox }] });
  }
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

/** An indexer at `busyUtilization` on a fresh account, started and done with the mail already there. */
async function idleIndexerOnNewAccount(address: string, busyUtilization: number): Promise<{ indexer: SearchIndexer; inbox: number; before: number }> {
  const account = (await store.addAccount({ address, passwordHash: 'x', scram: null })).id;
  const inbox = (await store.getMailbox(account, 'INBOX'))!.id;
  const indexer = new SearchIndexer({ store, logger: silentLogger(), delayMs: 10, batchSize: 50, busyUtilization, busyWaitMs: 3_600_000 });
  indexer.start();
  await until(() => indexer.stats.indexed > 0 && (indexer as unknown as { running: unknown }).running === null, 5000);
  return { indexer, inbox, before: indexer.stats.indexed };
}

/** A message every 150 ms for 1.5 s: never a pause of a second. */
async function deliverBurst(inbox: number): Promise<void> {
  for (let i = 0; i < 10; i++) {
    const tx = store.beginDelivery();
    tx.write(Buffer.from(`Subject: burst ${i}\r\n\r\nbody\r\n`));
    await tx.commit({ mailboxes: [{ mailboxId: inbox }] });
    await sleep(150);
  }
}

async function until(check: () => boolean, ms: number): Promise<boolean> {
  for (const end = Date.now() + ms; Date.now() < end; await sleep(20)) if (check()) return true;
  return check();
}

it('while the server is busy the indexer waits, indexing nothing before its longest wait', async () => {
  // A utilization threshold below zero: the event loop always counts as busy.
  const indexer = new SearchIndexer({ store, logger: silentLogger(), delayMs: 10, batchSize: 2, busyUtilization: -1, busyWaitMs: 3_600_000 });
  indexer.start();
  assert.ok(await until(() => indexer.stats.deferred >= 2, 3000), 'it looked and waited, more than once');
  assert.equal(indexer.stats.indexed, 0);
  assert.equal((await store.unindexedEmails({ afterEmailId: 0, limit: 100 })).length, 6);
  await indexer.stop();
});

it('under a long busy spell it still indexes a batch each longest wait, and everything in the end', async () => {
  const indexer = new SearchIndexer({ store, logger: silentLogger(), delayMs: 10, batchSize: 2, busyUtilization: -1, busyWaitMs: 100 });
  indexer.start();
  assert.ok(await until(() => indexer.stats.indexed === 6, 10_000), `indexed ${indexer.stats.indexed} of 6`);
  assert.ok(indexer.stats.batches >= 3 && indexer.stats.deferred >= 1, 'one batch at a time, with waits between');
  assert.deepEqual(await store.unindexedEmails({ afterEmailId: 0, limit: 100 }), []);
  await indexer.stop();
});

it('while mail keeps arriving the indexer waits for a pause, even with the event loop idle', async () => {
  const { indexer, inbox, before } = await idleIndexerOnNewAccount('b@example.test', 0.99);
  await deliverBurst(inbox);
  assert.equal(indexer.stats.indexed, before, 'nothing indexed while mail kept arriving');
  assert.ok(await until(() => indexer.stats.indexed === before + 10, 5000), 'indexed after the pause');
  await indexer.stop();
});

it('with a threshold of 1 the indexer never waits, not even while mail keeps arriving', async () => {
  const { indexer, inbox, before } = await idleIndexerOnNewAccount('c@example.test', 1);
  // The same burst: each message is indexed without waiting for a pause.
  await deliverBurst(inbox);
  assert.ok(indexer.stats.indexed > before, 'indexed while mail kept arriving');
  assert.equal(indexer.stats.deferred, 0);
  assert.ok(await until(() => indexer.stats.indexed === before + 10, 5000), 'all of them in the end');
  await indexer.stop();
});
