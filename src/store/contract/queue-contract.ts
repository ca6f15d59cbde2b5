/**
 * The outbound queue's part of the storage contract, for every `QueueStore`: the backends (through
 * `runStoreContract`) and the in-memory store the queue tests use (src/queue/testing/), so the fake
 * behaves as the real store does.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { QueueStore } from '../types.ts';

export interface FreshQueueStore {
  queue: QueueStore;
  cleanup: () => Promise<void>;
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

export function runQueueStoreContract(name: string, openFresh: () => Promise<FreshQueueStore>): void {
  async function withQueue(fn: (queue: QueueStore) => Promise<void>): Promise<void> {
    const { queue, cleanup } = await openFresh();
    try {
      await fn(queue);
    } finally {
      await cleanup();
    }
  }

  test(`${name}: an enqueued message keeps its envelope, RFC 3461 parameters and bytes`, () =>
    withQueue(async (queue) => {
      const body = Buffer.from('Subject: out\r\n\r\nbody\r\n');
      const id = await queue.enqueue({
        sender: 'alice@example.test',
        recipients: [{ address: 'Bob@Remote.TEST', orcpt: 'rfc822;bob@remote.test', notify: ['SUCCESS', 'FAILURE'] }, { address: 'carol@other.test' }],
        envid: 'env-1',
        ret: 'HDRS',
        origin: 'submission',
        submitter: 'alice@example.test',
      }, body);
      const m = await queue.getQueueMessage(id);
      assert.ok(m);
      assert.deepEqual(
        { id: m.id, sender: m.sender, envid: m.envid, ret: m.ret, origin: m.origin, submitter: m.submitter, size: m.size },
        { id, sender: 'alice@example.test', envid: 'env-1', ret: 'HDRS', origin: 'submission', submitter: 'alice@example.test', size: body.length },
      );
      assert.deepEqual(m.recipients.map((r) => [r.address, r.domain, r.orcpt, r.notify, r.state, r.attempts, r.lastResult, r.queueId]), [
        ['Bob@Remote.TEST', 'remote.test', 'rfc822;bob@remote.test', ['SUCCESS', 'FAILURE'], 'queued', 0, null, id],
        ['carol@other.test', 'other.test', null, null, 'queued', 0, null, id],
      ]);
      assert.notEqual(m.recipients[0]!.id, m.recipients[1]!.id);
      assert.deepEqual(await queue.readQueueMessage(id), body);
      assert.deepEqual(await collect(queue.streamQueueMessage(id)), body);
      assert.deepEqual((await queue.listQueue()).map((q) => q.id), [id]);
    }));

  test(`${name}: the queue id given is the one kept (the SMTP transaction id); without one each message gets its own`, () =>
    withQueue(async (queue) => {
      const given = await queue.enqueue({ id: 'TXN-given-1', sender: '', recipients: [{ address: 'x@remote.test' }] }, Buffer.from('x'));
      assert.equal(given, 'TXN-given-1');
      assert.equal((await queue.getQueueMessage('TXN-given-1'))?.id, 'TXN-given-1');
      const a = await queue.enqueue({ sender: '', recipients: [{ address: 'x@remote.test' }] }, Buffer.from('a'));
      const b = await queue.enqueue({ sender: '', recipients: [{ address: 'x@remote.test' }] }, Buffer.from('b'));
      assert.notEqual(a, b);
      assert.equal((await queue.readQueueMessage(b)).toString(), 'b');
    }));

  test(`${name}: queue stats count messages and pending recipients and give the oldest entry's time`, () =>
    withQueue(async (queue) => {
      assert.deepEqual(await queue.queueStats(), { messages: 0, pendingRecipients: 0, oldestCreatedAt: null });
      const before = Date.now();
      const first = await queue.enqueue({ sender: 's@x.test', recipients: [{ address: 'x@remote.test' }, { address: 'y@remote.test' }] }, Buffer.from('x'));
      await queue.enqueue({ sender: 's@x.test', recipients: [{ address: 'z@remote.test' }] }, Buffer.from('y'));
      const m = (await queue.getQueueMessage(first))!;
      await queue.updateRecipients([{ id: m.recipients[0]!.id, state: 'delivered' }]);
      const stats = await queue.queueStats();
      assert.equal(stats.messages, 2);
      assert.equal(stats.pendingRecipients, 2);
      assert.ok(stats.oldestCreatedAt && stats.oldestCreatedAt.getTime() >= before - 1000 && stats.oldestCreatedAt.getTime() <= m.createdAt.getTime());
    }));

  test(`${name}: an enqueue without origin is counted as SMTP's`, () =>
    withQueue(async (queue) => {
      const id = await queue.enqueue({ sender: 's@x.test', recipients: [{ address: 'x@remote.test' }] }, Buffer.from('x'));
      assert.equal((await queue.getQueueMessage(id))?.origin, 'smtp');
    }));

  test(`${name}: due recipients come oldest first, up to the limit, without those in flight`, () =>
    withQueue(async (queue) => {
      assert.equal(await queue.nextDueAt(), null, 'an empty queue has nothing due');
      await queue.enqueue({ sender: '', recipients: [{ address: 'a@r.test' }, { address: 'b@r.test' }, { address: 'c@r.test' }] }, Buffer.from('x'));
      const all = await queue.dueRecipients(new Date(Date.now() + 1000), 10);
      assert.deepEqual(all.map((r) => r.address), ['a@r.test', 'b@r.test', 'c@r.test']);
      assert.equal((await queue.dueRecipients(new Date(Date.now() + 1000), 2)).length, 2);
      assert.deepEqual((await queue.dueRecipients(new Date(Date.now() + 1000), 10, { excludeIds: [all[0]!.id] })).map((r) => r.address), ['b@r.test', 'c@r.test']);
      assert.equal((await queue.dueRecipients(new Date(Date.now() - 60_000), 10)).length, 0, 'nothing is due before it was queued');
      const later = new Date(Date.now() + 60_000);
      await queue.updateRecipients([{ id: all[0]!.id, state: 'deferred', attempts: 1, nextAttemptAt: later, lastResult: '451 4.3.0 later' }]);
      assert.deepEqual((await queue.dueRecipients(new Date(Date.now() + 1000), 10)).map((r) => r.address), ['b@r.test', 'c@r.test']);
      assert.deepEqual((await queue.dueRecipients(new Date(later.getTime() + 1), 10)).map((r) => r.address), ['b@r.test', 'c@r.test', 'a@r.test']);
    }));

  test(`${name}: queue recipients become due, are updated and the message is deleted`, () =>
    withQueue(async (queue) => {
      const id = await queue.enqueue({ sender: '', recipients: [{ address: 'x@remote.test' }, { address: 'y@remote.test' }], origin: 'dsn' }, Buffer.from('Subject: bounce\r\n\r\n'));
      const due = await queue.dueRecipients(new Date(Date.now() + 1000), 10);
      assert.equal(due.length, 2);
      const later = new Date(Date.now() + 60_000);
      await queue.updateRecipients([{ id: due[0]!.id, state: 'deferred', attempts: 1, nextAttemptAt: later, lastResult: '451 4.3.0 try later' }, { id: due[1]!.id, state: 'delivered', attempts: 1, lastResult: '250 ok' }]);
      assert.equal((await queue.dueRecipients(new Date(Date.now() + 1000), 10)).length, 0);
      assert.equal((await queue.nextDueAt())?.getTime(), later.getTime());
      const [deferred, delivered] = (await queue.getQueueMessage(id))!.recipients;
      assert.deepEqual([deferred!.state, deferred!.attempts, deferred!.lastResult], ['deferred', 1, '451 4.3.0 try later']);
      assert.deepEqual([delivered!.state, delivered!.attempts, delivered!.lastResult], ['delivered', 1, '250 ok']);
      assert.equal((await queue.readQueueMessage(id)).toString(), 'Subject: bounce\r\n\r\n');
      assert.equal(await queue.deleteQueueMessage(id), true);
      assert.equal(await queue.deleteQueueMessage(id), false, 'deleting again finds nothing');
      assert.equal(await queue.getQueueMessage(id), null);
      await assert.rejects(queue.readQueueMessage(id));
      assert.equal(await queue.nextDueAt(), null);
    }));

  test(`${name}: an attempt's results, its DSN and the removal of a finished message are recorded together`, () =>
    withQueue(async (queue) => {
      const id = await queue.enqueue({ sender: 's@x.test', recipients: [{ address: 'x@remote.test' }, { address: 'y@remote.test' }] }, Buffer.from('Subject: two\r\n\r\n'));
      const [x, y] = (await queue.getQueueMessage(id))!.recipients;
      const first = await queue.recordAttempt({ queueId: id, updates: [{ id: x!.id, state: 'delivered', attempts: 1, lastResult: '250 ok' }] });
      assert.deepEqual(first, { enqueued: [], removed: false }, 'a recipient is still to be delivered');
      assert.equal((await queue.getQueueMessage(id))!.recipients[0]!.state, 'delivered');
      const second = await queue.recordAttempt({
        queueId: id,
        updates: [{ id: y!.id, state: 'bounced', attempts: 1, lastResult: '550 5.1.1 no such user' }],
        enqueue: [{ input: { sender: '', recipients: [{ address: 's@x.test' }], origin: 'dsn' }, body: Buffer.from('Subject: failure\r\n\r\n') }],
      });
      assert.equal(second.removed, true, 'every recipient is final: the message goes');
      assert.equal(second.enqueued.length, 1);
      assert.equal(await queue.getQueueMessage(id), null);
      const dsn = (await queue.getQueueMessage(second.enqueued[0]!))!;
      assert.deepEqual([dsn.sender, dsn.origin, dsn.recipients.map((r) => r.address)], ['', 'dsn', ['s@x.test']]);
      assert.equal((await queue.readQueueMessage(dsn.id)).toString(), 'Subject: failure\r\n\r\n');
      const deferred = await queue.recordAttempt({ queueId: dsn.id, updates: [{ id: dsn.recipients[0]!.id, state: 'deferred', attempts: 1, nextAttemptAt: new Date(Date.now() + 60_000), lastResult: '451 later' }] });
      assert.equal(deferred.removed, false, 'a deferred recipient keeps its message');
    }));

  test(`${name}: a retry result recorded after an admin held the recipient leaves it held`, () =>
    withQueue(async (queue) => {
      await queue.enqueue({ sender: '', recipients: [{ address: 'x@remote.test' }, { address: 'y@remote.test' }], origin: 'dsn' }, Buffer.from('Subject: held\r\n\r\n'));
      const [x, y] = await queue.dueRecipients(new Date(Date.now() + 1000), 10);
      // an admin holds both while an attempt is in flight
      await queue.updateRecipients([{ id: x!.id, state: 'held' }, { id: y!.id, state: 'held' }]);
      const soon = new Date(Date.now() + 10);
      await queue.updateRecipients([
        { id: x!.id, state: 'deferred', attempts: 1, nextAttemptAt: soon, lastResult: '451 4.3.0 later', keepHeld: true },
        { id: y!.id, state: 'delivered', attempts: 1, lastResult: '250 ok', keepHeld: true },
      ]);
      const [message] = await queue.listQueue();
      const byAddress = new Map(message!.recipients.map((r) => [r.address, r]));
      assert.equal(byAddress.get('x@remote.test')!.state, 'held');
      assert.equal(byAddress.get('x@remote.test')!.attempts, 1);
      assert.equal(byAddress.get('y@remote.test')!.state, 'delivered');
      assert.equal((await queue.dueRecipients(new Date(Date.now() + 60_000), 10)).length, 0);
      assert.equal(await queue.nextDueAt(), null, 'a held recipient is not due');
    }));

  test(`${name}: an administrator's retry request is kept with the recipient and comes back with its claim`, () =>
    withQueue(async (queue) => {
      await queue.enqueue({ sender: '', recipients: [{ address: 'a@r.test' }, { address: 'b@r.test' }] }, Buffer.from('x'));
      const [a, b] = await queue.dueRecipients(new Date(Date.now() + 1000), 10);
      assert.equal(a!.retryRequestedAt, null, 'never asked');
      const later = new Date(Date.now() + 600_000);
      await queue.updateRecipients([{ id: a!.id, state: 'deferred', attempts: 1, nextAttemptAt: later, lastResult: '451 4.4.1 connection failed' }, { id: b!.id, state: 'queued', nextAttemptAt: later }]);
      const asked = new Date(Date.now() + 1);
      await queue.updateRecipients([{ id: a!.id, state: 'deferred', nextAttemptAt: asked, retryRequestedAt: asked }]);
      const claimed = await queue.claimRecipients(new Date(asked.getTime() + 1), 10, { owner: 'node-a', until: new Date(asked.getTime() + 30_000) });
      assert.deepEqual(claimed.map((r) => [r.address, r.retryRequestedAt?.getTime() ?? null, r.attempts]), [['a@r.test', asked.getTime(), 1]], 'only the retried recipient is due, with its request');
      // A result recorded later leaves the request as it was: its time, not a flag, tells the runner whether it is newer than a failure.
      await queue.updateRecipients([{ id: a!.id, state: 'deferred', attempts: 2, nextAttemptAt: later, lastResult: '451 again', leaseOwner: 'node-a' }]);
      const [ra, rb] = (await queue.listQueue())[0]!.recipients;
      assert.equal(ra!.retryRequestedAt?.getTime(), asked.getTime());
      assert.equal(rb!.retryRequestedAt, null);
      assert.equal((await queue.getQueueMessage(ra!.queueId))!.recipients[0]!.retryRequestedAt?.getTime(), asked.getTime());
    }));

  test(`${name}: a claimed recipient goes to one claimant until its lease expires or its owner records a result`, () =>
    withQueue(async (queue) => {
      await queue.enqueue({ sender: '', recipients: [{ address: 'a@r.test' }, { address: 'b@r.test' }, { address: 'c@r.test' }] }, Buffer.from('x'));
      const t0 = Date.now() + 1000;
      const at = (ms: number): Date => new Date(t0 + ms);
      const a = await queue.claimRecipients(at(0), 2, { owner: 'node-a', until: at(30_000) });
      assert.deepEqual(a.map((r) => r.address), ['a@r.test', 'b@r.test'], 'oldest first, up to the limit');
      const [ra, rb] = a;
      assert.deepEqual((await queue.claimRecipients(at(0), 10, { owner: 'node-b', until: at(600_000) })).map((r) => r.address), ['c@r.test'], 'what node A holds is not given to node B');
      assert.deepEqual(await queue.claimRecipients(at(0), 10, { owner: 'node-a', until: at(30_000) }), [], 'nothing is given twice, not even to its holder');
      assert.equal((await queue.nextDueAt())?.getTime(), at(30_000).getTime(), 'a leased recipient waits for its lease');

      // A renews what it holds; B cannot renew A's leases; a renewed lease outlives its first expiry.
      assert.deepEqual((await queue.renewLeases([ra!.id, rb!.id], { owner: 'node-a', until: at(60_000) })).sort(), [ra!.id, rb!.id].sort());
      assert.deepEqual(await queue.renewLeases([ra!.id, rb!.id], { owner: 'node-b', until: at(600_000) }), []);
      assert.deepEqual(await queue.claimRecipients(at(30_001), 10, { owner: 'node-b', until: at(600_000) }), []);

      // A records a result for a@ (its lease ends there), then dies holding b@: b@ goes to another node once the lease expired.
      await queue.updateRecipients([{ id: ra!.id, state: 'deferred', attempts: 1, nextAttemptAt: at(5_000), lastResult: '451 4.3.0 later', leaseOwner: 'node-a' }]);
      assert.deepEqual((await queue.claimRecipients(at(5_000), 10, { owner: 'node-b', until: at(600_000) })).map((r) => r.address), ['a@r.test'], 'a recorded result ends the lease');
      assert.deepEqual(await queue.claimRecipients(at(59_999), 10, { owner: 'node-c', until: at(700_000) }), [], 'not before the lease expired');
      assert.deepEqual((await queue.claimRecipients(at(60_001), 10, { owner: 'node-c', until: at(700_000) })).map((r) => r.address), ['b@r.test'], 'an expired lease is taken over');
      assert.deepEqual(await queue.renewLeases([rb!.id], { owner: 'node-a', until: at(90_000) }), [], 'the old owner has lost it');

      // A late result from the old owner does not end the new owner's lease.
      await queue.updateRecipients([{ id: rb!.id, state: 'deferred', attempts: 1, nextAttemptAt: at(5_000), lastResult: '451 late', leaseOwner: 'node-a' }]);
      assert.deepEqual(await queue.claimRecipients(at(60_002), 10, { owner: 'node-d', until: at(700_000) }), []);
    }));

  test(`${name}: concurrent claims never hand one recipient to two claimants`, () =>
    withQueue(async (queue) => {
      for (let i = 0; i < 10; i++) await queue.enqueue({ sender: '', recipients: Array.from({ length: 10 }, (_, j) => ({ address: `r${i}-${j}@r.test` })) }, Buffer.from(`m${i}`));
      const now = new Date(Date.now() + 1000);
      const until = new Date(now.getTime() + 30_000);
      const claims = await Promise.all(Array.from({ length: 8 }, (_, k) => queue.claimRecipients(now, 20, { owner: `node-${k}`, until })));
      const ids = claims.flat().map((r) => r.id);
      assert.equal(new Set(ids).size, ids.length, 'no recipient was claimed twice');
      assert.equal(ids.length, 100, 'every due recipient was claimed by someone');
    }));

  test(`${name}: a message held for a delayed send is due only at its release time, and can be canceled only before it`, () =>
    withQueue(async (queue) => {
      const now = new Date();
      const release = new Date(now.getTime() + 60_000);
      const id = await queue.enqueue({ sender: 'alice@example.test', recipients: [{ address: 'bob@remote.test' }], origin: 'submission', holdUntil: release }, Buffer.from('Subject: later\r\n\r\nx\r\n'));
      const held = await queue.getQueueMessage(id);
      assert.equal(held?.holdUntil?.getTime(), release.getTime());
      assert.equal(held?.recipients[0]?.nextAttemptAt.getTime(), release.getTime(), 'RFC 4865: due at the release time');
      assert.deepEqual(await queue.dueRecipients(now, 10), [], 'nothing due before it');
      assert.equal((await queue.nextDueAt())?.getTime(), release.getTime());
      assert.equal((await queue.dueRecipients(new Date(release.getTime() + 1), 10)).length, 1, 'due after it');
      assert.equal(await queue.cancelHeldMessage(id, new Date(release.getTime() + 1)), false, 'not after the release time');
      assert.equal(await queue.cancelHeldMessage(id, now), true, 'before it: taken out');
      assert.equal(await queue.getQueueMessage(id), null);
      assert.equal(await queue.cancelHeldMessage(id, now), false, 'gone');

      const plain = await queue.enqueue({ sender: 'alice@example.test', recipients: [{ address: 'bob@remote.test' }] }, Buffer.from('x\r\n'));
      assert.equal((await queue.getQueueMessage(plain))?.holdUntil, null);
      assert.equal(await queue.cancelHeldMessage(plain, now), false, 'mail sent at once is never canceled');

      const early = await queue.enqueue({ sender: 'alice@example.test', recipients: [{ address: 'bob@remote.test' }], holdUntil: release }, Buffer.from('x\r\n'));
      const [r] = (await queue.getQueueMessage(early))!.recipients;
      await queue.updateRecipients([{ id: r!.id, state: 'queued', nextAttemptAt: now }]);
      assert.equal(await queue.cancelHeldMessage(early, new Date(now.getTime() + 1)), false, 'released early (an admin\'s retry): it may be in flight');
    }));
}
