/**
 * The message trace part of the storage contract: events added on their own and with a delivery's commit,
 * search by every criterion (each must match some event of a message), counts, and pruning.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store, TraceEventInput } from '../types.ts';

export function runTraceStoreContract(name: string, withStore: (fn: (store: Store) => Promise<void>) => Promise<void>): void {
  const t0 = Date.parse('2026-12-01T10:00:00Z');
  const at = (minutes: number): Date => new Date(t0 + minutes * 60_000);
  const received = (queueId: string, minutes: number, sender: string, recipients: string[], messageId: string): TraceEventInput => ({
    at: at(minutes), queueId, event: 'received', result: 'accepted', messageId, sender, recipients, data: { ip: '192.0.2.1', helo: 'client.example' },
  });

  test(`${name}: trace events are found by queue id, Message-ID, sender, recipient, result and time, every event of the message`, () =>
    withStore(async (store) => {
      await store.appendTrace([
        received('Q1', 0, 'Bob@Example.net', ['alice@example.test', 'carol@example.test'], 'one@example.net'),
        received('Q2', 5, 'dave@example.net', ['alice@example.test'], 'two@example.net'),
        { at: at(1), queueId: 'Q1', event: 'deferred', result: 'deferred', recipients: ['carol@example.test'], sender: 'bob@example.net', data: { reply: '451 4.3.0 later' } },
        { at: at(2), queueId: 'Q1', event: 'delivered', recipients: ['carol@example.test'], data: { mx: 'mx.example.test' } },
        { at: at(6), queueId: 'Q3', event: 'rejected', result: 'rejected', reason: 'relay_denied', sender: 'eve@example.org', recipients: ['x@else.test'], data: { command: 'RCPT', code: 554 } },
      ]);
      const q1 = await store.searchTrace({ queueId: 'Q1' });
      assert.deepEqual(q1.map((e) => e.event), ['received', 'deferred', 'delivered'], 'oldest first');
      assert.equal(q1[0]!.sender, 'bob@example.net', 'addresses kept in lower case');
      assert.deepEqual(q1[0]!.recipients, ['alice@example.test', 'carol@example.test']);
      assert.deepEqual(q1[0]!.data, { ip: '192.0.2.1', helo: 'client.example' });
      assert.equal(q1[2]!.result, 'delivered', 'the result defaults to the event');
      assert.deepEqual([...new Set((await store.searchTrace({ messageId: '<two@example.net>' })).map((e) => e.queueId))], ['Q2']);
      assert.deepEqual([...new Set((await store.searchTrace({ recipient: 'ALICE@example.test' })).map((e) => e.queueId))], ['Q2', 'Q1'], 'newest message first');
      assert.deepEqual([...new Set((await store.searchTrace({ recipient: 'lice@example.test' })).map((e) => e.queueId))], [], 'a whole address only');
      assert.deepEqual([...new Set((await store.searchTrace({ sender: 'bob@example.net', result: 'deferred' })).map((e) => e.queueId))], ['Q1']);
      assert.deepEqual([...new Set((await store.searchTrace({ sender: 'dave@example.net', result: 'deferred' })).map((e) => e.queueId))], [], 'every criterion must match');
      assert.deepEqual([...new Set((await store.searchTrace({ since: at(4), until: at(7) })).map((e) => e.queueId))], ['Q3', 'Q2']);
      const rejected = await store.searchTrace({ result: 'rejected' });
      assert.equal(rejected[0]!.reason, 'relay_denied');
      assert.equal((await store.searchTrace({ limit: 1 })).every((e) => e.queueId === 'Q3'), true);
      const counts = await store.traceCounts(at(-1));
      const count = (event: string, result: string) => counts.filter((c) => c.event === event && c.result === result).reduce((n, c) => n + c.count, 0);
      assert.equal(count('received', 'accepted'), 2);
      assert.equal(counts.find((c) => c.event === 'rejected')?.reason, 'relay_denied');
      assert.equal(await store.pruneTrace(at(3), 2), 2, 'at most the limit');
      assert.equal(await store.pruneTrace(at(3), 100), 1);
      assert.deepEqual([...new Set((await store.searchTrace({})).map((e) => e.queueId))], ['Q3', 'Q2']);
    }));

  test(`${name}: the reader's domains and own submissions are criteria of the search, so the limit counts only what they may see`, () =>
    withStore(async (store) => {
      const mine = received('OWN', 0, 'alice@a.test', ['x@far.test'], 'own@a.test');
      mine.data = { ...mine.data, user: 'alice@a.test', role: 'submission' };
      const events: TraceEventInput[] = [mine, received('TO-A', 1, 'x@far.test', ['Bob@A.test'], 'to-a@far.test')];
      // Newer messages of other domains, many more than the limit; one names a.test only in a local part.
      for (let i = 0; i < 30; i++) events.push(received(`B${i}`, 10 + i, `u${i}@b.test`, [`v${i}@c.test`], `b${i}@b.test`));
      events.push(received('LOOKALIKE', 50, 'a.test@b.test', ['x@sub.a.test', 'y@a.test.evil'], 'look@b.test'));
      events.push({ ...received('SPOOF', 51, 'alice@a.test', ['z@c.test'], 'spoof@c.test'), data: { user: null, role: 'mx' } });
      events.push({ at: at(52), queueId: 'OWN', event: 'delivered', recipients: ['x@far.test'], sender: 'alice@a.test', data: { mx: 'mx.far.test' } });
      // Submitted by a user of a.test with a sender address of another domain.
      events.push({ ...received('BYUSER', -1, 'alice@elsewhere.test', ['y@far.test'], 'byuser@a.test'), data: { user: 'alice@a.test', role: 'submission' } });
      await store.appendTrace(events);
      const ids = async (q: Parameters<typeof store.searchTrace>[0]) => [...new Set((await store.searchTrace(q)).map((e) => e.queueId))];
      assert.deepEqual(await ids({ domains: ['a.test'], limit: 2 }), ['OWN', 'SPOOF'], 'sender at a.test; limit 2 counts only those');
      assert.deepEqual(await ids({ domains: ['a.test'], limit: 5 }), ['OWN', 'SPOOF', 'TO-A', 'BYUSER'], 'and a recipient at a.test (any case), and what a.test users submitted; not sub.a.test, a.test.evil or a local part');
      assert.deepEqual(await ids({ domains: ['A.test'], sender: 'x@far.test' }), ['TO-A'], 'with the other criteria');
      assert.deepEqual(await ids({ domains: [] }), [], 'no domains, nothing');
      assert.deepEqual(await ids({ domains: ['b%'] }), [], 'a LIKE wildcard is a character');
      assert.deepEqual(await ids({ submitter: 'alice@a.test', limit: 1 }), ['OWN'], 'submitted by the user: not the newer one with her address as sender');
      assert.deepEqual((await store.searchTrace({ submitter: 'alice@a.test', limit: 1 })).map((e) => e.event), ['received', 'delivered'], 'every event of the message');
      assert.deepEqual(await ids({ submitter: 'alice@a.test' }), ['OWN', 'BYUSER'], 'whatever sender address she used');
      assert.deepEqual(await ids({ submitter: 'bob@a.test' }), []);
    }));

  test(`${name}: trace events given with a delivery are stored in its transaction, and not when it fails`, () =>
    withStore(async (store) => {
      await store.addDomain('example.test');
      const a = await store.addAccount({ address: 'alice@example.test', passwordHash: 'x', scram: null });
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const tx = store.beginDelivery();
      tx.write(Buffer.from('Subject: traced\r\n\r\nbody\r\n'));
      const accepted = received('Q9', 0, 'bob@example.net', ['alice@example.test', 'carol@far.test'], 'nine@example.net');
      accepted.data = { ...accepted.data, stored: ['alice@example.test/INBOX', 'alice@example.test/Junk'], folder: 'inbox', queued: ['carol@far.test'] };
      await tx.commit({ mailboxes: [{ mailboxId: inbox.id }], trace: [accepted] });
      // One row; read back as the steps received, stored, queued.
      const steps = await store.searchTrace({ queueId: 'Q9' });
      assert.deepEqual(steps.map((e) => [e.event, e.recipients, e.data]), [
        ['received', ['alice@example.test', 'carol@far.test'], { ip: '192.0.2.1', helo: 'client.example' }],
        ['stored', ['alice@example.test'], { mailboxes: ['alice@example.test/INBOX', 'alice@example.test/Junk'], folder: 'inbox' }],
        ['queued', ['carol@far.test'], {}],
      ]);
      assert.equal((await store.traceCounts(at(-1))).reduce((n, c) => n + c.count, 0), 1);
      const failing = store.beginDelivery();
      failing.write(Buffer.from('Subject: lost\r\n\r\nbody\r\n'));
      await assert.rejects(failing.commit({ mailboxes: [{ mailboxId: 999_999 }], trace: [received('Q10', 0, 'bob@example.net', ['alice@example.test'], 'ten@example.net')] }));
      assert.deepEqual(await store.searchTrace({ queueId: 'Q10' }), []);
    }));
}
