/**
 * The contract suite every storage backend must pass (SQLite and PostgreSQL), its queue part included
 * (queue-contract.ts): call `runStoreContract(name, openFresh)` from a backend's test file.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { isMailboxChange, type ChangeSource, type Store, type StoreChange } from '../types.ts';
import { runQueueStoreContract } from './queue-contract.ts';
import { runPushSubscriptionStoreContract } from './push-subscription-contract.ts';
import { runSubmissionStoreContract } from './submission-contract.ts';
import { runTraceStoreContract } from './trace-contract.ts';

/** Bigger than either backend's inline/first chunk (512 KB): a body kept in parts. */
const CHUNKED_SIZE = 600 * 1024;

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

export interface FreshStore {
  store: Store;
  /** A second store on the same storage, as another process or node opens it. */
  openSecond: () => Promise<Store>;
  cleanup: () => Promise<void>;
}

export function runStoreContract(name: string, openFresh: () => Promise<FreshStore>): void {
  runQueueStoreContract(name, async () => {
    const { store, cleanup } = await openFresh();
    return { queue: store, cleanup: async () => { await store.close(); await cleanup(); } };
  });

  async function withStore(fn: (store: Store, openSecond: () => Promise<Store>) => Promise<void>): Promise<void> {
    const { store, openSecond, cleanup } = await openFresh();
    const seconds: Store[] = [];
    try {
      await fn(store, async () => {
        const second = await openSecond();
        seconds.push(second);
        return second;
      });
    } finally {
      for (const second of seconds) await second.close();
      await store.close();
      await cleanup();
    }
  }

  runTraceStoreContract(name, (fn) => withStore((store) => fn(store)));

  /** Resolves with the first change `listener` accepts, or rejects after `ms`. */
  function nextChange(store: Store, accept: (change: StoreChange, source: ChangeSource) => boolean, ms = 2000): Promise<{ change: StoreChange; source: ChangeSource; afterMs: number }> {
    const began = Date.now();
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`no matching change within ${ms} ms`));
      }, ms);
      const off = store.subscribe((change, source) => {
        if (!accept(change, source)) return;
        clearTimeout(timer);
        off();
        resolve({ change, source, afterMs: Date.now() - began });
      });
    });
  }

  async function account(store: Store, address = 'alice@example.test') {
    if (!(await store.hasDomain('example.test'))) await store.addDomain('example.test');
    return store.addAccount({ address, passwordHash: 'x', scram: null });
  }

  runSubmissionStoreContract(name, { withStore, nextChange, account });
  runPushSubscriptionStoreContract(name, { withStore, account });

  test(`${name}: the start-up integrity check reads every body as whole, and counts what it checked`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const tx = store.beginDelivery();
      tx.write(Buffer.from('Subject: whole\r\n\r\n' + 'x'.repeat(600 * 1024) + '\r\n'));
      await tx.commit({ mailboxes: [{ mailboxId: inbox.id }], queue: { sender: 'a@example.test', recipients: [{ address: 'b@elsewhere.test' }] } });
      const report = await store.checkIntegrity({ mailboxes: true });
      assert.deepEqual(report.corrupt, []);
      assert.equal(report.checkedMessages, 1);
      assert.equal(report.checkedQueue, 1);
      assert.equal((await store.checkIntegrity({ mailboxes: false })).checkedMessages, null);
    }));

  test(`${name}: a new account gets INBOX and the RFC 6154 special-use mailboxes`, () =>
    withStore(async (store) => {
      const acct = await account(store, 'Alice@Example.test');
      assert.equal(acct.address, 'alice@example.test');
      const names = (await store.listMailboxes(acct.id)).map((m) => `${m.name}:${m.specialUse ?? ''}`).sort();
      assert.deepEqual(names, ['Archive:\\Archive', 'Drafts:\\Drafts', 'INBOX:', 'Junk:\\Junk', 'Sent:\\Sent', 'Trash:\\Trash']);
      const validities = new Set((await store.listMailboxes(acct.id)).map((m) => m.uidValidity));
      assert.equal(validities.size, 6, 'every mailbox has its own UIDVALIDITY');
    }));

  test(`${name}: METADATA entries of the server and of a mailbox; TOOMANY changes nothing; kept on rename, gone with the mailbox`, () =>
    withStore(async (store) => {
      const alice = await account(store, 'meta-a@example.test');
      const bob = await account(store, 'meta-b@example.test');
      const box = await store.createMailbox(alice.id, 'Notes');
      const v = (s: string): Buffer => Buffer.from(s);
      const heard: string[] = [];
      const off = store.subscribe((c) => {
        if (c.kind === 'metadata') heard.push(`${c.accountId === alice.id ? 'alice' : 'other'} ${c.mailbox === box.id ? 'Notes' : String(c.mailbox)} ${c.entries.join(',')}`);
      });
      assert.equal(await store.setMetadata(alice.id, null, [{ entry: '/private/comment', value: v('server') }], { maxEntries: 2 }), 'ok');
      assert.equal(await store.setMetadata(alice.id, box.id, [{ entry: '/shared/comment', value: v('a') }, { entry: '/private/x', value: Buffer.from([0, 1, 2]) }], { maxEntries: 2 }), 'ok');
      assert.equal(await store.setMetadata(alice.id, box.id, [{ entry: '/private/y', value: v('b') }], { maxEntries: 2 }), 'toomany');
      assert.equal(await store.setMetadata(alice.id, box.id, [{ entry: '/private/x', value: null }, { entry: '/private/y', value: v('b') }], { maxEntries: 2 }), 'ok', 'a removal makes room in the same call');
      assert.equal(await store.setMetadata(bob.id, box.id, [{ entry: '/private/z', value: v('c') }], { maxEntries: 2 }), 'nonexistent', 'another account\'s mailbox');
      assert.deepEqual((await store.listMetadata(bob.id, box.id)), []);
      off();
      // The change feed names the entries set or removed by each write that changed something (IMAP NOTIFY).
      assert.deepEqual(heard, ['alice null /private/comment', 'alice Notes /shared/comment,/private/x', 'alice Notes /private/x,/private/y']);
      assert.deepEqual((await store.listMetadata(alice.id, null)).map((e) => [e.entry, e.value.toString()]), [['/private/comment', 'server']]);
      assert.deepEqual((await store.listMetadata(bob.id, null)), []);
      await store.renameMailbox(alice.id, 'Notes', 'Old notes');
      assert.deepEqual((await store.listMetadata(alice.id, box.id)).map((e) => [e.entry, e.value.toString()]), [['/private/y', 'b'], ['/shared/comment', 'a']]);
      await store.deleteMailbox(box.id);
      assert.deepEqual(await store.listMetadata(alice.id, box.id), []);
    }));

  test(`${name}: commitDeliveries stores every message or none`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const batch = (mailboxIds: number[]) => mailboxIds.map((mailboxId, i) => {
        const tx = store.beginDelivery();
        tx.write(Buffer.from(`Subject: ${i}\r\n\r\nbody\r\n`));
        return { tx, plan: { mailboxes: [{ mailboxId }] } };
      });
      const results = await store.commitDeliveries(batch([inbox.id, inbox.id]));
      assert.deepEqual(results.map((r) => r.messages[0]!.uid), [1, 2]);
      // The second goes to a mailbox that does not exist: the first is rolled back with it.
      await assert.rejects(store.commitDeliveries(batch([inbox.id, 999_999])));
      assert.deepEqual((await store.listMessages(inbox.id)).map((m) => m.uid), [1, 2]);
    }));

  test(`${name}: commitDeliveries answers a plan that stores nothing, and stores a body over one chunk with small ones`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const big = Buffer.concat([Buffer.from('Subject: big\r\n\r\n'), Buffer.alloc(600 * 1024, 'x'), Buffer.from('\r\n')]);
      const bodies = [Buffer.from('Subject: one\r\n\r\nbody\r\n'), Buffer.from('Subject: none\r\n\r\nbody\r\n'), big, Buffer.from('Subject: two\r\n\r\nbody\r\n')];
      const results = await store.commitDeliveries(bodies.map((body, i) => {
        const tx = store.beginDelivery();
        tx.write(body);
        return { tx, plan: { mailboxes: i === 1 ? [] : [{ mailboxId: inbox.id }] } };
      }));
      assert.deepEqual(results.map((r) => r.messages.map((m) => m.uid)), [[1], [], [2], [3]]);
      assert.deepEqual(results.map((r) => [r.queueId, r.size]), bodies.map((b) => [null, b.length]));
      assert.ok((await collect(store.streamMessage(inbox.id, 2))).equals(big));
      assert.equal((await store.readMessage(inbox.id, 3)).toString(), bodies[3]!.toString());
    }));

  test(`${name}: one delivery stores the body once, in several mailboxes and the queue, byte for byte`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const b = await account(store, 'bob@example.test');
      const inboxA = (await store.getMailbox(a.id, 'INBOX'))!;
      const inboxB = (await store.getMailbox(b.id, 'INBOX'))!;
      const tx = store.beginDelivery();
      tx.write(Buffer.from('Subject: hi\r\n\r\n'));
      tx.write(Buffer.from('body\r\n'));
      const result = await tx.commit({
        localHeader: Buffer.from('Return-Path: <s@x.test>\r\n'),
        traceHeader: Buffer.from('Received: from x\r\n'),
        mailboxes: [{ mailboxId: inboxA.id }, { mailboxId: inboxB.id, flags: ['\\Seen'] }],
        queue: { sender: 's@x.test', recipients: [{ address: 'carol@remote.test', notify: ['FAILURE'] }] },
      });
      assert.equal(result.messages.length, 2);
      assert.ok(result.queueId);
      const stored = await store.readMessage(inboxA.id, result.messages[0]!.uid);
      assert.equal(stored.toString(), 'Return-Path: <s@x.test>\r\nReceived: from x\r\nSubject: hi\r\n\r\nbody\r\n');
      const queued = await store.readQueueMessage(result.queueId!);
      assert.equal(queued.toString(), 'Received: from x\r\nSubject: hi\r\n\r\nbody\r\n', 'the queue copy has no Return-Path');
      const msgB = await store.getMessage(inboxB.id, result.messages[1]!.uid);
      assert.deepEqual(msgB?.flags, ['\\Seen']);
      const q = await store.getQueueMessage(result.queueId!);
      assert.equal(q?.recipients[0]?.address, 'carol@remote.test');
      assert.equal(q?.recipients[0]?.domain, 'remote.test');
      assert.deepEqual(q?.recipients[0]?.notify, ['FAILURE']);
    }));

  test(`${name}: UIDs ascend and are never reused after expunge; modseq grows`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const uids: number[] = [];
      for (let i = 0; i < 3; i++) {
        const tx = store.beginDelivery();
        tx.write(Buffer.from(`Subject: ${i}\r\n\r\nx\r\n`));
        uids.push((await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] })).messages[0]!.uid);
      }
      assert.deepEqual(uids, [1, 2, 3]);
      const before = (await store.getMailboxById(inbox.id))!.highestModSeq;
      assert.deepEqual(await store.expunge(inbox.id, [3]), [3]);
      const tx = store.beginDelivery();
      tx.write(Buffer.from('Subject: 4\r\n\r\n'));
      assert.equal((await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] })).messages[0]!.uid, 4);
      const after = (await store.getMailboxById(inbox.id))!;
      assert.ok(after.highestModSeq > before);
      assert.deepEqual(await store.vanishedSince(inbox.id, before), [3]);
      assert.equal(after.uidNext, 5);
    }));

  test(`${name}: flags change with a new modseq; UNCHANGEDSINCE refuses modified messages`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const tx = store.beginDelivery();
      tx.write(Buffer.from('x\r\n'));
      const uid = (await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] })).messages[0]!.uid;
      const first = await store.storeFlags(inbox.id, [uid], 'add', ['\\Seen', '$Label1']);
      assert.deepEqual(first.changed[0]?.flags, ['\\Seen', '$Label1']);
      const again = await store.storeFlags(inbox.id, [uid], 'add', ['\\seen']);
      assert.equal(again.changed.length, 0, 'adding a flag already set changes nothing');
      const stale = await store.storeFlags(inbox.id, [uid], 'remove', ['\\Seen'], { unchangedSince: first.changed[0]!.modSeq - 1 });
      assert.deepEqual(stale.failedUnchangedSince, [uid]);
      const counts = await store.counts(inbox.id);
      assert.equal(counts.unseen, 0);
      await store.storeFlags(inbox.id, [uid], 'set', ['\\Deleted']);
      assert.deepEqual(await store.counts(inbox.id), { messages: 1, unseen: 1, deleted: 1, sizeBytes: 3 });
      const changed = await store.listMessages(inbox.id, { changedSinceModSeq: first.changed[0]!.modSeq });
      assert.equal(changed.length, 1);
    }));

  test(`${name}: select state and cheap metadata agree with listMessages`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const empty = (await store.selectState(inbox.id))!;
      assert.deepEqual([[...empty.uids], [...empty.unseenUids], empty.keywords], [[], [], []]);
      const uids: number[] = [];
      for (const flags of [['\\Seen'], ['$Zeta', '\\Flagged'], ['\\Seen', '$Alpha'], []]) {
        const tx = store.beginDelivery();
        tx.write(Buffer.from('abc\r\n'));
        uids.push((await tx.commit({ mailboxes: [{ mailboxId: inbox.id, flags, internalDate: new Date(1_700_000_000_000) }] })).messages[0]!.uid);
      }
      await store.expunge(inbox.id, [uids[3]!]);
      const state = (await store.selectState(inbox.id))!;
      assert.deepEqual([[...state.uids], [...state.unseenUids], state.keywords], [uids.slice(0, 3), [uids[1]], ['$Alpha', '$Zeta']]);
      const meta = await store.listMessageMeta(inbox.id, { uidFrom: uids[1]!, uidTo: 0xffffffff });
      const full = await store.listMessages(inbox.id, { uidFrom: uids[1]! });
      assert.deepEqual(
        meta,
        full.map((m) => ({ uid: m.uid, size: m.size, internalDate: m.internalDate.getTime(), flags: m.flags.join(' '), modSeq: m.modSeq })),
      );
      assert.equal(meta[0]!.internalDate, 1_700_000_000_000);
      // Columns: a dense range has no UID column; a range with holes lists the UIDs found.
      const dense = await store.listMetaColumns(inbox.id, { uidFrom: uids[0]!, uidTo: uids[2]!, fields: ['flags', 'modSeq'] });
      const first = (await store.getMessage(inbox.id, uids[0]!))!;
      assert.deepEqual(dense, { count: 3, uids: null, flags: ['\\Seen', '$Zeta \\Flagged', '\\Seen $Alpha'], modSeq: [first.modSeq, ...meta.map((m) => m.modSeq)] });
      const holes = await store.listMetaColumns(inbox.id, { uidFrom: uids[1]!, uidTo: uids[3]! + 5, fields: ['size', 'internalDate'] });
      assert.deepEqual(holes, { count: 2, uids: Uint32Array.from([uids[1]!, uids[2]!]), size: [5, 5], internalDate: [1_700_000_000_000, 1_700_000_000_000] });
      const none = await store.listMetaColumns(inbox.id, { uidFrom: uids[3]!, uidTo: uids[3]!, fields: [] });
      assert.deepEqual(none, { count: 0, uids: new Uint32Array(0) });
      const flagsOnly = await store.listMetaColumns(inbox.id, { uidFrom: 1, uidTo: 0xffffffff, fields: ['flags'] });
      assert.deepEqual(flagsOnly, { count: 3, uids: Uint32Array.from(uids.slice(0, 3)), flags: ['\\Seen', '$Zeta \\Flagged', '\\Seen $Alpha'] });
    }));

  test(`${name}: a mailbox deleted and created again gets a larger UIDVALIDITY (RFC 9051 §2.3.1.1)`, () =>
    withStore(async (store) => {
      const a = await account(store);
      let last = 0;
      for (let i = 0; i < 3; i++) {
        const box = await store.createMailbox(a.id, 'Projects', null);
        const highest = Math.max(...(await store.listMailboxes(a.id)).map((m) => m.uidValidity));
        assert.equal(box.uidValidity, highest, 'the newest mailbox has the largest UIDVALIDITY');
        assert.ok(box.uidValidity > last);
        last = box.uidValidity;
        await store.deleteMailbox(box.id);
      }
    }));

  test(`${name}: a deleted mailbox's id is never given to another mailbox`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const b = await account(store, 'other@example.test');
      const seen = new Set((await store.listMailboxes(b.id)).map((m) => m.id));
      for (const m of await store.listMailboxes(a.id)) seen.add(m.id);
      for (let i = 0; i < 3; i++) {
        const box = await store.createMailbox(i % 2 ? a.id : b.id, `Box${i}`, null);
        assert.ok(!seen.has(box.id), `mailbox id ${box.id} was given before`);
        seen.add(box.id);
        await store.deleteMailbox(box.id);
      }
    }));

  test(`${name}: SELECT state and the changes since a modseq`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const empty = (await store.selectState(inbox.id))!;
      assert.deepEqual({ ...empty, uids: [...empty.uids], unseenUids: [...empty.unseenUids] }, { mailbox: inbox, uids: [], unseenUids: [], keywords: [] });
      const uids: number[] = [];
      for (const flags of [['\\Seen'], ['$Zeta', '\\Flagged'], ['\\Seen', '$Alpha'], [], ['\\seen']]) {
        const tx = store.beginDelivery();
        tx.write(Buffer.from('abc\r\n'));
        uids.push((await tx.commit({ mailboxes: [{ mailboxId: inbox.id, flags }] })).messages[0]!.uid);
      }
      const state = (await store.selectState(inbox.id))!;
      assert.deepEqual(state.mailbox, await store.getMailboxById(inbox.id));
      assert.deepEqual([...state.uids], uids);
      // Only the exact spelling \Seen counts as seen, as IMAP stores it.
      assert.deepEqual([...state.unseenUids], [uids[1], uids[3], uids[4]]);
      assert.deepEqual(state.keywords, ['$Alpha', '$Zeta']);
      const since = state.mailbox.highestModSeq;
      await store.storeFlags(inbox.id, [uids[3]!], 'add', ['\\Seen', '$New']);
      await store.expunge(inbox.id, [uids[0]!, uids[4]!]);
      const tx = store.beginDelivery();
      tx.write(Buffer.from('abc\r\n'));
      const added = (await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] })).messages[0]!.uid;
      const delta = (await store.mailboxDelta(inbox.id, since, { maxChanges: 10 }))!;
      assert.deepEqual(delta.mailbox, await store.getMailboxById(inbox.id));
      assert.deepEqual(delta.changed, [[uids[3], '\\Seen $New'], [added, '']]);
      assert.deepEqual(delta.vanished, [uids[0], uids[4]]);
      assert.equal(await store.mailboxDelta(inbox.id, since, { maxChanges: 1 }), null, 'more changes than asked for');
      assert.deepEqual(await store.mailboxDelta(inbox.id, delta.mailbox.highestModSeq, { maxChanges: 1 }), { mailbox: delta.mailbox, changed: [], vanished: [] });
      await store.deleteMailbox(inbox.id);
      assert.equal(await store.selectState(inbox.id), null);
      assert.equal(await store.mailboxDelta(inbox.id, 0, { maxChanges: 10 }), null);
    }));

  test(`${name}: a large message is spooled, chunked, read by range and streamed exactly`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const big = Buffer.alloc(3 * 1024 * 1024 + 123);
      for (let i = 0; i < big.length; i++) big[i] = 32 + (i % 90);
      const tx = store.beginDelivery();
      for (let off = 0; off < big.length; off += 65536) tx.write(big.subarray(off, off + 65536));
      assert.equal(tx.size, big.length);
      const uid = (await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] })).messages[0]!.uid;
      assert.ok((await store.readMessage(inbox.id, uid)).equals(big));
      assert.ok((await collect(store.streamMessage(inbox.id, uid))).equals(big));
      const start = 524_000;
      const end = 2_100_000;
      assert.ok((await store.readMessage(inbox.id, uid, { start, end })).equals(big.subarray(start, end)));
    }));

  test(`${name}: the heads of a UID range come back in one read, a prefix of each message, expunged ones left out`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const big = Buffer.alloc(CHUNKED_SIZE, 'b');
      Buffer.from('Subject: big\r\n\r\n').copy(big);
      const bodies = [Buffer.from('Subject: one\r\n\r\nbody one\r\n'), Buffer.from('S: 2\r\n\r\n'), Buffer.from('Subject: three\r\n\r\nbody three\r\n'), big];
      const uids: number[] = [];
      for (const body of bodies) {
        const tx = store.beginDelivery();
        tx.write(body);
        uids.push((await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] })).messages[0]!.uid);
      }
      await store.expunge(inbox.id, [uids[2]!]);
      const read = await store.readMessageHeads(inbox.id, { uidFrom: uids[0]!, uidTo: uids[3]! }, 10);
      assert.deepEqual(read.uids, [uids[0], uids[1], uids[3]]);
      assert.equal(read.heads[0]!.toString(), 'Subject: o', 'at most maxBytes');
      assert.equal(read.heads[1]!.toString(), 'S: 2\r\n\r\n', 'a message shorter than maxBytes, whole');
      // A body kept in parts may come back short (the caller then reads it by itself), never wrong.
      assert.ok(read.heads[2]!.length <= 10 && big.subarray(0, read.heads[2]!.length).equals(read.heads[2]!));
      assert.deepEqual(await store.readMessageHeads(inbox.id, { uidFrom: uids[3]! + 1, uidTo: uids[3]! + 10 }, 12), { uids: [], heads: [] });
      // With room for it, a head may stop after the header's blank line; it is still a prefix that has it.
      const roomy = await store.readMessageHeads(inbox.id, { uidFrom: uids[0]!, uidTo: uids[0]! }, 100);
      assert.ok(roomy.heads[0]!.toString().startsWith('Subject: one\r\n\r\n') && bodies[0]!.toString().startsWith(roomy.heads[0]!.toString()), roomy.heads[0]!.toString());
    }));

  test(`${name}: copy and move keep the bytes and report COPYUID pairs`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const archive = (await store.getMailbox(a.id, 'Archive'))!;
      const tx = store.beginDelivery();
      tx.write(Buffer.from('Subject: keep\r\n\r\n'));
      const uid = (await tx.commit({ mailboxes: [{ mailboxId: inbox.id, flags: ['\\Flagged'] }] })).messages[0]!.uid;
      const copy = await store.copyMessages(inbox.id, [uid], archive.id);
      assert.equal(copy.uidValidity, archive.uidValidity);
      assert.deepEqual(copy.pairs, [[uid, 1]]);
      const moved = await store.copyMessages(inbox.id, [uid], archive.id, { move: true });
      assert.deepEqual(moved.pairs, [[uid, 2]]);
      assert.equal((await store.listMessages(inbox.id)).length, 0);
      const inArchive = await store.listMessages(archive.id);
      assert.deepEqual(inArchive.map((m) => m.flags), [['\\Flagged'], ['\\Flagged']]);
      assert.equal((await store.readMessage(archive.id, 2)).toString(), 'Subject: keep\r\n\r\n');
    }));

  test(`${name}: every stored copy has a save date of its own: delivery, copy and move set it, the internal date stays (RFC 8514)`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const archive = (await store.getMailbox(a.id, 'Archive'))!;
      const old = Date.UTC(2020, 4, 6, 7, 8, 9);
      const before = Date.now();
      const tx = store.beginDelivery();
      tx.write(Buffer.from('Subject: saved\r\n\r\n'));
      const uid = (await tx.commit({ mailboxes: [{ mailboxId: inbox.id, internalDate: new Date(old) }] })).messages[0]!.uid;
      const delivered = await store.listMetaColumns(inbox.id, { uidFrom: uid, uidTo: uid, fields: ['internalDate', 'saveDate'] });
      assert.equal(delivered.internalDate![0], old);
      const savedAt = Number(delivered.saveDate![0]);
      assert.ok(savedAt >= before - 1000 && savedAt <= Date.now() + 1000, `save date ${savedAt} not near ${before}`);
      await new Promise((r) => setTimeout(r, 20));
      const copied = (await store.copyMessages(inbox.id, [uid], archive.id)).pairs[0]![1];
      const moved = (await store.copyMessages(inbox.id, [uid], archive.id, { move: true })).pairs[0]![1];
      const cols = await store.listMetaColumns(archive.id, { uidFrom: copied, uidTo: moved, fields: ['internalDate', 'saveDate'] });
      assert.deepEqual(cols.internalDate, [old, old]);
      for (const at of cols.saveDate!) assert.ok(Number(at) > savedAt, `copy saved at ${at}, delivery at ${savedAt}`);
    }));

  test(`${name}: rename moves children; delete removes messages`, () =>
    withStore(async (store) => {
      const a = await account(store);
      await store.createMailbox(a.id, 'Projects');
      await store.createMailbox(a.id, 'Projects/2026');
      await store.createMailbox(a.id, 'ProjectsOther');
      await store.renameMailbox(a.id, 'Projects', 'Work');
      const names = (await store.listMailboxes(a.id)).map((m) => m.name);
      assert.ok(names.includes('Work') && names.includes('Work/2026') && names.includes('ProjectsOther'));
      const work = (await store.getMailbox(a.id, 'Work'))!;
      await store.deleteMailbox(work.id);
      assert.equal(await store.getMailbox(a.id, 'Work'), null);
    }));

  test(`${name}: change notifications reach subscribers`, () =>
    withStore(async (store) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const seen: string[] = [];
      const off = store.subscribe((c) => {
        if (isMailboxChange(c)) seen.push(`${c.kind}:${c.mailboxId}:${(c.uids ?? []).join(',')}`);
      });
      const tx = store.beginDelivery();
      tx.write(Buffer.from('x\r\n'));
      await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
      await store.storeFlags(inbox.id, [1], 'add', ['\\Seen']);
      await store.expunge(inbox.id, [1]);
      off();
      assert.deepEqual(seen, [`append:${inbox.id}:1`, `flags:${inbox.id}:1`, `expunge:${inbox.id}:1`]);
    }));

  test(`${name}: account ids and app password ids are never given again, even after the newest was removed`, () =>
    withStore(async (store) => {
      const mallory = await account(store, 'mallory@example.test');
      const app = await store.addAppPassword({ accountId: mallory.id, label: 'phone', passwordHash: 'x', scram: null });
      assert.equal(await store.removeAppPassword(mallory.id, app.id), true);
      const app2 = await store.addAppPassword({ accountId: mallory.id, label: 'phone', passwordHash: 'y', scram: null });
      assert.ok(app2.id > app.id, `app password id ${app2.id} was given before`);
      assert.equal(await store.removeAccount('mallory@example.test'), true);
      const carol = await account(store, 'carol@example.test');
      assert.ok(carol.id > mallory.id, `account id ${carol.id} was mallory's`);
      assert.equal(await store.getAccountById(mallory.id), null);
      assert.deepEqual(await store.listMailboxes(mallory.id), []);
    }));

  test(`${name}: account changes are on the feed with what happened`, () =>
    withStore(async (store) => {
      const seen: string[] = [];
      const off = store.subscribe((c, source) => {
        if (c.kind === 'account') seen.push(`${c.event}:${source.local}`);
        else if (c.kind === 'directory') seen.push('directory');
      });
      const a = await account(store, 'erin@example.test');
      await store.updateAccount(a.address, { passwordHash: 'new' });
      await store.updateAccount(a.address, { disabled: true });
      await store.updateAccount(a.address, { disabled: false });
      await store.updateAccount(a.address, { quotaBytes: 5 });
      await store.addAlias('info@example.test', [a.address]);
      await store.removeAccount(a.address);
      off();
      assert.deepEqual(seen, ['directory', 'added:true', 'credentials:true', 'disabled:true', 'enabled:true', 'settings:true', 'directory', 'removed:true']);
    }));

  test(`${name}: changes made through another instance on the same storage reach subscribers within 1 s, once`, () =>
    withStore(async (store, openSecond) => {
      const a = await account(store);
      const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
      const other = await openSecond();
      const heard: string[] = [];
      const off = store.subscribe((c, source) => heard.push(`${c.kind}:${source.local}`));
      // Another process's delivery: heard as not local.
      const appended = nextChange(store, (c) => c.kind === 'append');
      const tx = other.beginDelivery();
      tx.write(Buffer.from('Subject: from elsewhere\r\n\r\nx\r\n'));
      await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
      const got = await appended;
      assert.equal(got.source.local, false);
      assert.ok(got.afterMs < 1000, `heard after ${got.afterMs} ms`);
      assert.deepEqual(isMailboxChange(got.change) ? [got.change.mailboxId, got.change.uids] : null, [inbox.id, [1]]);
      // Account, queue and directory changes travel the same way.
      const removed = nextChange(store, (c) => c.kind === 'account' && c.event === 'disabled');
      await other.updateAccount(a.address, { disabled: true });
      assert.equal(((await removed).change as { accountId: number }).accountId, a.id);
      const queued = nextChange(store, (c) => c.kind === 'queue');
      await other.enqueue({ sender: '', recipients: [{ address: 'x@remote.test' }], origin: 'dsn' }, Buffer.from('x'));
      assert.equal((await queued).source.local, false);
      // This instance's own change is heard once, as local, and not again from the log.
      await store.storeFlags(inbox.id, [1], 'add', ['\\Seen']);
      await new Promise((r) => setTimeout(r, 400));
      off();
      assert.deepEqual(heard.filter((h) => h.startsWith('flags')), ['flags:true']);
      assert.equal(heard.filter((h) => h === 'append:false').length, 1);
    }));

  test(`${name}: admin roles are granted, listed and taken back, and go with their account and domain`, () =>
    withStore(async (store) => {
      const alice = await account(store, 'alice@example.test');
      const bob = await account(store, 'bob@example.test');
      await store.addDomain('other.test');
      await store.addDomain('third.test');
      assert.deepEqual(await store.getAdminRoles(alice.id), { serverAdmin: false, domains: [] });
      assert.deepEqual(await store.listAdmins(), []);
      assert.equal(await store.setServerAdmin(alice.id, true), true);
      assert.equal(await store.setServerAdmin(9999, true), false, 'no such account');
      assert.equal(await store.addDomainAdmin(bob.id, 'Third.test'), true);
      assert.equal(await store.addDomainAdmin(bob.id, 'other.test'), true);
      assert.equal(await store.addDomainAdmin(bob.id, 'other.test'), false, 'already granted');
      await assert.rejects(store.addDomainAdmin(bob.id, 'unknown.test'), 'only local domains');
      assert.deepEqual(await store.getAdminRoles(bob.id), { serverAdmin: false, domains: ['other.test', 'third.test'] });
      assert.deepEqual(await store.listAdmins(), [
        { accountId: alice.id, address: 'alice@example.test', serverAdmin: true, domains: [] },
        { accountId: bob.id, address: 'bob@example.test', serverAdmin: false, domains: ['other.test', 'third.test'] },
      ]);
      assert.equal(await store.removeDomainAdmin(bob.id, 'third.test'), true);
      assert.equal(await store.removeDomainAdmin(bob.id, 'third.test'), false);
      await store.removeDomain('other.test');
      assert.deepEqual(await store.getAdminRoles(bob.id), { serverAdmin: false, domains: [] }, 'a removed domain takes its grants along');
      assert.equal(await store.setServerAdmin(alice.id, false), true);
      assert.deepEqual(await store.listAdmins(), []);
      await store.setServerAdmin(bob.id, true);
      await store.addDomainAdmin(bob.id, 'third.test');
      await store.removeAccount('bob@example.test');
      assert.deepEqual(await store.getAdminRoles(bob.id), { serverAdmin: false, domains: [] });
      assert.deepEqual(await store.listAdmins(), []);
    }));

  test(`${name}: uploads belong to one account, expire, and go with their account`, () =>
    withStore(async (store) => {
      await store.addDomain('example.test');
      const alice = await store.addAccount({ address: 'alice@example.test', passwordHash: 'x', scram: null });
      const bob = await store.addAccount({ address: 'bob@example.test', passwordHash: 'x', scram: null });
      const data = Buffer.from('hello \u0000 bytes');
      const later = new Date(Date.now() + 60_000);
      const record = await store.addUpload({ accountId: alice.id, blobId: 'Uabc', type: 'text/plain', body: data, expiresAt: later });
      assert.equal(record.size, data.length);
      const back = await store.getUpload(alice.id, 'Uabc', new Date());
      assert.ok(back && (await collect(back.stream())).equals(data) && back.type === 'text/plain');
      assert.equal(await store.getUpload(bob.id, 'Uabc', new Date()), null, 'another account does not see it');
      assert.equal(await store.getUpload(alice.id, 'Uabc', new Date(later.getTime() + 1)), null, 'expired');
      assert.equal(await store.removeExpiredUploads(new Date(later.getTime() + 1)), 1);
      assert.equal(await store.getUpload(alice.id, 'Uabc', new Date()), null);
      await store.addUpload({ accountId: bob.id, blobId: 'Ubob', type: 'a/b', body: data, expiresAt: later });
      await store.removeAccount('bob@example.test');
      assert.equal(await store.removeExpiredUploads(new Date(later.getTime() + 1)), 0, 'went with the account');
    }));

  test(`${name}: an upload is stored from a stream in chunks, and one whose stream fails leaves nothing`, () =>
    withStore(async (store) => {
      await store.addDomain('example.test');
      const alice = await store.addAccount({ address: 'alice@example.test', passwordHash: 'x', scram: null });
      const later = new Date(Date.now() + 60_000);
      // 1.3 MiB in uneven pieces: three chunks, the last one short.
      const whole = Buffer.alloc(1_300_000 + 17, 0);
      for (let i = 0; i < whole.length; i++) whole[i] = (i * 31 + (i >> 9)) & 0xff;
      async function* pieces(upTo: number, fail: boolean): AsyncGenerator<Buffer> {
        for (let at = 0; at < upTo; at += 65_531) yield whole.subarray(at, Math.min(upTo, at + 65_531));
        if (fail) throw new Error('client went away');
      }
      const record = await store.addUpload({ accountId: alice.id, blobId: 'Ubig', type: 'application/x-test', body: pieces(whole.length, false), expiresAt: later });
      assert.equal(record.size, whole.length);
      const back = await store.getUpload(alice.id, 'Ubig', new Date());
      assert.ok(back);
      assert.equal(back.size, whole.length);
      assert.ok((await collect(back.stream())).equals(whole), 'the same bytes come back');
      const empty = await store.addUpload({ accountId: alice.id, blobId: 'Uempty', type: 'text/plain', body: pieces(0, false), expiresAt: later });
      assert.equal(empty.size, 0);
      assert.equal((await collect((await store.getUpload(alice.id, 'Uempty', new Date()))!.stream())).length, 0);
      await assert.rejects(store.addUpload({ accountId: alice.id, blobId: 'Uhalf', type: 'text/plain', body: pieces(1_200_000, true), expiresAt: later }), /client went away/);
      assert.equal(await store.getUpload(alice.id, 'Uhalf', new Date()), null, 'a failed upload is not there');
      assert.equal(await store.removeExpiredUploads(new Date(later.getTime() + 1)), 2, 'and left no row behind: only the two complete ones expire');
    }));

  test(`${name}: access tokens are found by hash, listed per account, removed one by one or when expired`, () =>
    withStore(async (store) => {
      await store.addDomain('example.test');
      const alice = await store.addAccount({ address: 'alice@example.test', passwordHash: 'x', scram: null });
      const now = Date.now();
      const token = { tokenHash: 'a'.repeat(64), accountId: alice.id, label: 'webmail', credential: 'stamp', appPasswordId: null, createdAt: new Date(now), expiresAt: new Date(now + 60_000), scope: 'session' as const };
      await store.addAccessToken(token);
      await store.addAccessToken({ ...token, tokenHash: 'b'.repeat(64), expiresAt: new Date(now - 1) });
      assert.deepEqual(await store.getAccessToken('a'.repeat(64)), token);
      assert.equal((await store.listAccessTokens(alice.id)).length, 2);
      assert.equal(await store.removeExpiredAccessTokens(new Date(now)), 1);
      assert.equal(await store.removeAccessToken(alice.id + 1, 'a'.repeat(64)), false, 'only by its own account');
      assert.equal(await store.removeAccessToken(alice.id, 'a'.repeat(64)), true);
      assert.equal(await store.getAccessToken('a'.repeat(64)), null);
      await store.addAccessToken({ ...token, tokenHash: 'c'.repeat(64), scope: 'admin' });
      assert.equal((await store.getAccessToken('c'.repeat(64)))?.scope, 'admin');
    }));

  test(`${name}: admin settings are kept by key; a second factor goes with its account and each time step is used once`, () =>
    withStore(async (store) => {
      assert.equal(await store.getSetting('policy'), null);
      await store.setSetting('policy', '{"greylisting":true}');
      await store.setSetting('policy', '{"greylisting":false}');
      assert.equal(await store.getSetting('policy'), '{"greylisting":false}');
      await store.setSetting('policy', null);
      assert.equal(await store.getSetting('policy'), null);
      await store.addDomain('example.test');
      const alice = await store.addAccount({ address: 'alice@example.test', passwordHash: 'x', scram: null });
      const factor = { accountId: alice.id, secret: 'JBSWY3DPEHPK3PXP', confirmed: false, lastStep: 0, createdAt: new Date(Math.floor(Date.now() / 1000) * 1000) };
      await store.putSecondFactor(factor);
      assert.deepEqual(await store.getSecondFactor(alice.id), factor);
      await store.putSecondFactor({ ...factor, confirmed: true });
      assert.equal((await store.getSecondFactor(alice.id))?.confirmed, true);
      assert.equal(await store.useSecondFactorStep(alice.id, 100), true);
      assert.equal(await store.useSecondFactorStep(alice.id, 100), false, 'a step is used once');
      assert.equal(await store.useSecondFactorStep(alice.id, 99), false, 'never an older one');
      assert.equal(await store.useSecondFactorStep(alice.id, 101), true);
      await store.removeAccount('alice@example.test');
      assert.equal(await store.getSecondFactor(alice.id), null, 'gone with the account');
      assert.equal(await store.removeSecondFactor(alice.id), false);
    }));

  test(`${name}: a vacation response is stored per account, its state grows, and the enabled ones are listed`, () =>
    withStore(async (store, openSecond) => {
      const alice = await account(store);
      const bob = await account(store, 'bob@example.test');
      assert.deepEqual(await store.getVacation(alice.id), { accountId: alice.id, isEnabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null, state: 0 });
      const heard = nextChange(store, (c) => c.kind === 'account' && c.event === 'vacation' && c.accountId === alice.id);
      const input = { isEnabled: true, fromDate: new Date(1_700_000_000_000), toDate: null, subject: 'Away', textBody: 'Back on Monday', htmlBody: null };
      const set = await store.setVacation(alice.id, input);
      assert.deepEqual(set, { accountId: alice.id, ...input, state: 1 });
      await heard;
      assert.deepEqual(await (await openSecond()).getVacation(alice.id), set, 'durable and seen by another instance');
      assert.deepEqual(await store.listEnabledVacations(), [alice.id]);
      assert.equal((await store.getVacation(bob.id)).isEnabled, false);
      const off = await store.setVacation(alice.id, { ...input, isEnabled: false });
      assert.equal(off.state, 2);
      assert.deepEqual(await store.listEnabledVacations(), []);
      await store.removeAccount('alice@example.test');
      assert.equal((await store.getVacation(alice.id)).state, 0, 'went with the account');
    }));

  test(`${name}: a sender is answered once per period, and a new vacation text answers again`, () =>
    withStore(async (store) => {
      const alice = await account(store);
      const input = { isEnabled: true, fromDate: null, toDate: null, subject: null, textBody: 'Away', htmlBody: null };
      await store.setVacation(alice.id, input);
      const day = 86_400_000;
      const t0 = new Date(1_800_000_000_000);
      const claim = (at: number, sender = 'Carol@Elsewhere.test') => store.claimVacationReply(alice.id, sender, new Date(at), new Date(at - 7 * day));
      assert.equal(await claim(t0.getTime()), true, 'first message: answer');
      const racing = await Promise.all([claim(t0.getTime() + 1), claim(t0.getTime() + 2, 'carol@elsewhere.test')]);
      assert.deepEqual(racing, [false, false], 'the same sender (any case) within the period: no answer');
      assert.equal(await claim(t0.getTime() + 1, 'dave@elsewhere.test'), true, 'another sender');
      assert.equal(await claim(t0.getTime() + 6 * day), false);
      assert.equal(await claim(t0.getTime() + 7 * day + 1), true, 'after the period: answer again');
      await store.setVacation(alice.id, { ...input, textBody: 'Away until June' });
      assert.equal(await claim(t0.getTime() + 7 * day + 2), true, 'a new text: answered again');
      await store.setVacation(alice.id, { ...input, textBody: 'Away until June', toDate: new Date(t0.getTime() + 30 * day) });
      assert.equal(await claim(t0.getTime() + 7 * day + 3), false, 'only the dates changed: still answered');
    }));
}
