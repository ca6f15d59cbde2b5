import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { runStoreContract } from '../contract/store-contract.ts';
import { runEmailStoreContract } from '../contract/email-contract.ts';
import { runSearchIndexContract } from '../contract/search-contract.ts';
import { openSqliteStore } from './store.ts';
import { StorageError } from '../../core/errors.ts';
import Database from 'better-sqlite3';
import { migrations } from './migrations.ts';

function fresh() {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-store-'));
  return {
    dir,
    store: openSqliteStore({ dataDir: dir }),
    openSecond: async () => openSqliteStore({ dataDir: dir }),
    cleanup: async () => rmSync(dir, { recursive: true, force: true }),
  };
}

/**
 * A data dir left by an older version: its database migrated up to `version` (with foreign keys enforced while
 * migrating, when asked), holding the domain example.test and account 1 (a@example.test); the caller adds
 * the rows the upgrade under test must carry, closes `old`, then opens the store on `dir`.
 */
function databaseAt(version: number, options: { foreignKeys?: boolean } = {}): { dir: string; old: Database.Database } {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-store-'));
  const old = new Database(join(dir, 'postamt.db'));
  if (options.foreignKeys) old.pragma('foreign_keys = ON');
  for (const m of migrations.filter((m) => m.version <= version)) old.exec(m.sql);
  old.pragma(`user_version = ${version}`);
  old.exec("INSERT INTO domains VALUES ('example.test', 0); INSERT INTO accounts (id, address, domain, password_hash, created_at) VALUES (1, 'a@example.test', 'example.test', 'x', 0)");
  return { dir, old };
}

runStoreContract('sqlite', async () => fresh());
runEmailStoreContract('sqlite', async () => fresh());
runSearchIndexContract('sqlite', async () => fresh());

test('sqlite: concurrent commits share one transaction (group commit)', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  const before = store.commits.stats.batches;
  await Promise.all(Array.from({ length: 50 }, (_, i) => {
    const tx = store.beginDelivery();
    tx.write(Buffer.from(`Subject: ${i}\r\n\r\n`));
    return tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  }));
  assert.equal(store.commits.stats.batches - before, 1, '50 concurrent commits, one fsync');
  assert.equal((await store.listMessages(inbox.id)).length, 50);
  await store.close();
  await cleanup();
});

test('sqlite: a write that asks to hear of its COMMIT commits during a sync; deliveries still wait; listeners hear it once durable', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  const deliver = (i: number) => {
    const tx = store.beginDelivery();
    tx.write(Buffer.from(`Subject: ${i}\r\n\r\n`));
    return tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  };
  await deliver(1);
  // Every WAL sync waits until the test lets it go.
  type Sync = (fd: number, done: (err: NodeJS.ErrnoException | null) => void) => void;
  const thread = (store.commits as unknown as { syncThread: { fdatasync: Sync } }).syncThread;
  const sync = thread.fdatasync;
  const held: (() => void)[] = [];
  thread.fdatasync = (fd, done) => held.push(() => sync.call(thread, fd, done));
  const heard: string[] = [];
  store.subscribe((change) => {
    if ('kind' in change) heard.push(change.kind);
  });
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2));
    assert.ok(cond());
  };
  try {
    let delivered = false;
    const first = deliver(2).then(() => (delivered = true));
    await until(() => held.length === 1);
    let durable = null as Promise<void> | null;
    const second = deliver(3);
    const r = await store.storeFlags(inbox.id, [1], 'add', ['\\Seen'], { committed: (d) => (durable = d) });
    assert.equal(r.changed.length, 1);
    assert.ok(durable !== null, 'handed the promise of its sync');
    assert.deepEqual((await store.getMessage(inbox.id, 1))!.flags, ['\\Seen'], 'committed: visible');
    assert.equal(delivered, false, 'while the first sync still runs');
    assert.deepEqual((await store.listMessages(inbox.id)).map((m) => m.uid), [1, 2], 'the delivery queued meanwhile waits for the next batch');
    assert.deepEqual(heard, [], 'no listener hears of a write before it is durable');
    held.shift()!();
    await first;
    await until(() => held.length === 1);
    assert.deepEqual(heard, ['append'], 'the first delivery, once synced; the flags wait for their own sync');
    held.shift()!();
    await durable;
    await second;
    assert.deepEqual(heard.sort(), ['append', 'append', 'flags']);
    assert.equal(store.commits.stats.fsyncs >= 2, true);
  } finally {
    thread.fdatasync = sync;
    for (const go of held.splice(0)) go();
  }
  await store.close();
  await cleanup();
});

test('sqlite: a committed write whose sync fails has its durable promise rejected (its own promise resolved at COMMIT)', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  const tx = store.beginDelivery();
  tx.write(Buffer.from('Subject: 1\r\n\r\n'));
  await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  store.commits.faultInjector = (stage) => {
    if (stage === 'fsync') throw new Error('EIO: i/o error, fdatasync');
  };
  let durable = null as Promise<void> | null;
  try {
    const removed = await store.expunge(inbox.id, [1], { committed: (d) => (durable = d) });
    assert.deepEqual(removed, [1]);
    await assert.rejects(durable!, StorageError);
  } finally {
    store.commits.faultInjector = null;
  }
  await store.close();
  await cleanup();
});

test('sqlite: one failing delivery in a batch is rolled back alone; the others, their change log and their bodies stay', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  const heard: number[] = [];
  store.subscribe((change) => {
    if ('kind' in change && change.kind === 'append') heard.push(...(change.uids ?? []));
  });
  const logBefore = (store.db.prepare('SELECT count(*) AS n FROM change_log').get() as { n: number }).n;
  const deliver = (mailboxId: number, i: number) => {
    const tx = store.beginDelivery();
    tx.write(Buffer.from(`Message-ID: <m${i}@example.test>\r\nSubject: ${i}\r\n\r\n${'x'.repeat(i * 1000)}`));
    return tx.commit({ mailboxes: [{ mailboxId }], trace: [{ at: new Date(), queueId: `Q${i}`, event: 'received', sender: 'b@example.test', recipients: ['a@example.test'] }] });
  };
  // The fourth of seven names a mailbox that does not exist: its body and email are written before it fails.
  const results = await Promise.allSettled(Array.from({ length: 7 }, (_, i) => deliver(i === 3 ? 999_999 : inbox.id, i)));
  assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'fulfilled', 'rejected', 'fulfilled', 'fulfilled', 'fulfilled']);
  assert.equal(store.commits.stats.reruns, 1, 'the batch ran again, each write in its savepoint');
  const uids = (await store.listMessages(inbox.id)).map((m) => m.uid);
  assert.deepEqual(uids, [1, 2, 3, 4, 5, 6]);
  assert.deepEqual(results.flatMap((r) => (r.status === 'fulfilled' ? r.value.messages.map((m) => m.uid) : [])), [1, 2, 3, 4, 5, 6]);
  const count = (sql: string): number => (store.db.prepare(sql).get() as { n: number }).n;
  assert.equal(count('SELECT count(*) AS n FROM blobs'), 6, 'no body of the failed delivery');
  assert.equal(count('SELECT count(*) AS n FROM emails'), 6, 'no email of the failed delivery');
  assert.equal(count('SELECT count(*) AS n FROM message_trace_staged') + count('SELECT count(*) AS n FROM message_trace'), 6);
  const logged = (store.db.prepare('SELECT changes FROM change_log ORDER BY seq').all() as { changes: string }[]).slice(logBefore);
  assert.equal(logged.length, 1, 'one change-log row for the batch');
  assert.equal((JSON.parse(logged[0]!.changes) as unknown[]).length, 6, 'the changes of the six stored deliveries, once each');
  assert.deepEqual(heard, [1, 2, 3, 4, 5, 6]);
  // A write alone in its batch that fails leaves nothing either, and the next one works.
  await assert.rejects(deliver(999_999, 9));
  await deliver(inbox.id, 10);
  assert.equal(count('SELECT count(*) AS n FROM blobs'), 7);
  await store.close();
  await cleanup();
});

test('sqlite: a failing commit stores nothing and reports a StorageError', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  store.commits.faultInjector = (stage) => { if (stage === 'commit') throw new Error('SQLITE_FULL: database or disk is full'); };
  const tx = store.beginDelivery();
  tx.write(Buffer.from('Subject: lost?\r\n\r\n'));
  await assert.rejects(tx.commit({ mailboxes: [{ mailboxId: inbox.id }], queue: { sender: 'a@b.test', recipients: [{ address: 'c@d.test' }] } }), StorageError);
  store.commits.faultInjector = null;
  assert.equal((await store.listMessages(inbox.id)).length, 0);
  assert.equal((await store.listQueue()).length, 0);
  assert.equal((store.db.prepare('SELECT count(*) AS n FROM blobs').get() as { n: number }).n, 0, 'no orphan body');
  const tx2 = store.beginDelivery();
  tx2.write(Buffer.from('Subject: ok\r\n\r\n'));
  await tx2.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  assert.equal((await store.listMessages(inbox.id)).length, 1, 'the store works again after the fault');
  await store.close();
  await cleanup();
});

test('sqlite: bodies are freed when the last reference goes', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  const tx = store.beginDelivery();
  tx.write(Buffer.alloc(2 * 1024 * 1024, 'a'));
  const r = await tx.commit({ mailboxes: [{ mailboxId: inbox.id }], queue: { sender: '', recipients: [{ address: 'x@y.test' }] } });
  const count = () => (store.db.prepare('SELECT (SELECT count(*) FROM blobs) + (SELECT count(*) FROM blob_chunks) AS n').get() as { n: number }).n;
  assert.ok(count() > 1);
  await store.expunge(inbox.id, [r.messages[0]!.uid]);
  assert.ok(count() > 1, 'the queue still refers to the body');
  await store.deleteQueueMessage(r.queueId!);
  assert.equal(count(), 0);
  await store.close();
  await cleanup();
});

test('sqlite: a delivered body is written once, with the count of its copies and queue entry', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  const other = await store.createMailbox(a.id, 'Other');
  const refs = (id: number) => store.db.prepare('SELECT refs FROM blobs WHERE id = ?').pluck().get(id) as number | undefined;
  const blobOf = (mailboxId: number, uid: number) => store.db.prepare('SELECT blob_id FROM messages WHERE mailbox_id = ? AND uid = ?').pluck().get(mailboxId, uid) as number;
  const tx = store.beginDelivery();
  tx.write(Buffer.from('Subject: shared\r\n\r\nbody\r\n'));
  const r = await tx.commit({ mailboxes: [{ mailboxId: inbox.id }, { mailboxId: other.id }], queue: { sender: '', recipients: [{ address: 'x@y.test' }] } });
  const blob = blobOf(inbox.id, r.messages[0]!.uid);
  assert.equal(blobOf(other.id, r.messages[1]!.uid), blob);
  assert.equal(store.db.prepare('SELECT blob_id FROM queue_messages WHERE id = ?').pluck().get(r.queueId), blob);
  assert.equal(refs(blob), 3, 'two copies and a queue entry');
  assert.equal((await store.readMessage(other.id, r.messages[1]!.uid)).toString(), 'Subject: shared\r\n\r\nbody\r\n');
  await store.copyMessages(inbox.id, [r.messages[0]!.uid], other.id);
  assert.equal(refs(blob), 4, 'a copy counts too');
  await store.deleteQueueMessage(r.queueId!);
  await store.expunge(inbox.id, [r.messages[0]!.uid]);
  assert.equal(refs(blob), 2);
  await store.expunge(other.id, (await store.listMessages(other.id)).map((m) => m.uid));
  assert.equal(refs(blob), undefined, 'freed with the last copy');
  const tx2 = store.beginDelivery();
  tx2.write(Buffer.from('Subject: next\r\n\r\n'));
  const r2 = await tx2.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  assert.equal(refs(blobOf(inbox.id, r2.messages[0]!.uid)), 1);
  await store.close();
  await cleanup();
});

test('sqlite: migration 4 starts mailbox ids above every id an existing data dir used', async () => {
  const { dir, old } = databaseAt(3);
  old.exec("INSERT INTO mailboxes (id, account_id, name, uid_validity) VALUES (41, 1, 'INBOX', 1)");
  old.close();
  const store = openSqliteStore({ dataDir: dir });
  assert.equal((await store.createMailbox(1, 'New', null)).id, 42);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: migration 3 carries the largest UIDVALIDITY of an existing data dir forward', async () => {
  const { dir, old } = databaseAt(2);
  old.exec("INSERT INTO mailboxes (account_id, name, uid_validity) VALUES (1, 'INBOX', 4000000000)");
  old.close();
  const store = openSqliteStore({ dataDir: dir });
  const box = await store.createMailbox(1, 'New', null);
  assert.equal(box.uidValidity, 4000000001);
  assert.ok(store.db.prepare("SELECT 1 FROM sqlite_master WHERE name = 'expunged_modseq'").get(), 'expunged is indexed by modseq');
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: a thread of one email has no row; the row comes with a second email; rows from before migration 25 stay', async () => {
  const { dir, old } = databaseAt(24);
  old.exec("INSERT INTO mailboxes (id, account_id, name, uid_validity, uid_next, highest_mod_seq) VALUES (1, 1, 'INBOX', 1, 3, 4)");
  old.exec("INSERT INTO blobs (id, size, refs, data) VALUES (1, 4, 0, X'61626364')");
  old.exec('UPDATE account_seq SET value = 4 WHERE account_id = 1; UPDATE account_seq SET value = 2 WHERE account_id = 0');
  old.exec("INSERT INTO emails (id, account_id, thread_id, created_seq, mod_seq, message_id) VALUES (1, 1, 1, 3, 3, 'a@x'), (2, 1, 2, 4, 4, 'b@x')");
  old.exec("INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, mod_seq, email_id) VALUES (1, 1, 1, 4, 0, '', 3, 1), (1, 2, 1, 4, 0, '', 4, 2)");
  old.exec("INSERT INTO thread_keys (account_id, key, thread_id) VALUES (1, 'id:a@x', 1), (1, 'id:b@x', 2)");
  old.close();
  const store = openSqliteStore({ dataDir: dir });
  const rows = () => store.db.prepare('SELECT id, created_seq, mod_seq FROM threads ORDER BY id').raw().all();
  assert.deepEqual(rows(), [[1, 3, 3], [2, 4, 4]], 'the rows written before stay');
  const changes = async (since: number) => (await store.objectChanges(1, 'Thread', since, 100)).map((c) => `${c.id}:${c.modSeq}:${c.created ? 'c' : c.destroyed ? 'd' : 'u'}`);
  assert.deepEqual(await changes(0), ['1:3:c', '2:4:c']);
  const deliver = async (header: string) => {
    const tx = store.beginDelivery();
    tx.write(Buffer.from(`${header}\r\n\r\nbody\r\n`));
    return (await tx.commit({ mailboxes: [{ mailboxId: 1 }] })).messages[0]!;
  };
  const lone = await deliver('Message-ID: <c@x>\r\nSubject: c');
  assert.equal(lone.threadId, lone.emailId);
  assert.equal(rows().length, 2, 'no row for a thread of one email');
  assert.deepEqual(await changes(4), [`${lone.threadId}:5:c`]);
  const reply = await deliver('Message-ID: <d@x>\r\nIn-Reply-To: <c@x>\r\nSubject: Re: c');
  assert.equal(reply.threadId, lone.threadId);
  assert.deepEqual(rows(), [[1, 3, 3], [2, 4, 4], [lone.threadId, 5, 6]], 'the row, with the first email\'s created seq');
  const replyOld = await deliver('Message-ID: <e@x>\r\nIn-Reply-To: <a@x>\r\nSubject: Re: a');
  assert.equal(replyOld.threadId, 1, 'a thread from before the upgrade is found by its key');
  assert.deepEqual(await changes(4), [`${lone.threadId}:6:c`, '1:7:u']);
  await store.expunge(1, [2]);
  assert.deepEqual(await changes(7), ['2:8:d'], 'one tombstone for a thread whose row was written before');
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: an app password is found by its lookup tag; one without a tag gets it at its next use', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const tagged = await store.addAppPassword({ accountId: a.id, label: 'phone', passwordHash: 'h1', scram: null, lookupTag: 'tag-1' });
  const legacy = await store.addAppPassword({ accountId: a.id, label: 'old', passwordHash: 'h2', scram: null });
  assert.equal((await store.findAppPassword(a.id, 'tag-1'))?.id, tagged.id);
  assert.equal(await store.findAppPassword(a.id + 1, 'tag-1'), null, 'another account');
  assert.equal(legacy.lookupTag, null);
  await store.touchAppPassword(legacy.id, 'tag-2');
  await store.touchAppPassword(legacy.id, 'tag-3');
  assert.equal((await store.findAppPassword(a.id, 'tag-2'))?.id, legacy.id, 'the first tag stays');
  await store.touchAppPassword(tagged.id);
  assert.equal((await store.findAppPassword(a.id, 'tag-1'))?.lastUsedAt instanceof Date, true);
  await store.close();
  await cleanup();
});

test('sqlite: migration 8 gives messages stored before it an email and a thread each, and modseqs keep growing', async () => {
  const { dir, old } = databaseAt(7);
  old.exec("INSERT INTO mailboxes (id, account_id, name, uid_validity, uid_next, highest_mod_seq) VALUES (1, 1, 'INBOX', 1, 3, 9)");
  old.exec("INSERT INTO blobs (id, size, refs, data) VALUES (1, 4, 0, X'61626364')");
  old.exec("INSERT INTO messages (mailbox_id, uid, blob_id, size, internal_date, flags, mod_seq) VALUES (1, 1, 1, 4, 0, '', 5), (1, 2, 1, 4, 0, '\\Seen', 9)");
  old.close();
  const store = openSqliteStore({ dataDir: dir });
  const ids = await store.objectIds(1, [1, 2]);
  assert.equal(new Set([...ids.values()].map((v) => v.emailId)).size, 2);
  assert.equal(await store.accountModSeq(1), 9, 'the account modseq starts at the highest mailbox modseq');
  const changed = await store.storeFlags(1, [1], 'add', ['\\Flagged']);
  assert.equal(changed.changed[0]!.modSeq, 10);
  const tx = store.beginDelivery();
  tx.write(Buffer.from('Subject: new\r\n\r\n'));
  const result = await tx.commit({ mailboxes: [{ mailboxId: 1 }] });
  assert.ok(result.messages[0]!.emailId > Math.max(...[...ids.values()].map((v) => v.emailId)));
  await store.removeAccount('a@example.test');
  assert.equal(store.db.prepare('SELECT count(*) FROM tombstones').pluck().get(), 0, 'a removed account leaves no history behind');
  assert.equal(store.db.prepare('SELECT count(*) FROM emails').pluck().get(), 0);
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: trace rows are staged with the delivery and found by any process; a crash before the move loses none', async () => {
  const { dir, store, openSecond, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  const tx = store.beginDelivery();
  tx.write(Buffer.from('Message-ID: <staged@example.test>\r\nSubject: s\r\n\r\nbody\r\n'));
  await tx.commit({
    mailboxes: [{ mailboxId: inbox.id }],
    trace: [{ at: new Date(), queueId: 'QSTAGED1', event: 'received', messageId: 'staged@example.test', sender: 'b@example.org', recipients: ['a@example.test'], data: { stored: ['a@example.test/INBOX'] } }],
  });
  // Durable with the message, not yet in the indexed table.
  const raw = new Database(join(dir, 'postamt.db'), { readonly: true });
  assert.equal(raw.prepare('SELECT count(*) FROM message_trace_staged').pluck().get(), 1);
  assert.equal(raw.prepare('SELECT count(*) FROM message_trace').pluck().get(), 0);
  // Another process (the CLI's `postamt trace`) finds it: its read moves the staged rows first.
  const other = await openSecond();
  const found = await other.searchTrace({ messageId: '<staged@example.test>' });
  assert.deepEqual(found.map((e) => e.event), ['received', 'stored']);
  assert.equal(raw.prepare('SELECT count(*) FROM message_trace_staged').pluck().get(), 0);
  assert.equal(raw.prepare('SELECT count(*) FROM message_trace').pluck().get(), 1);
  raw.close();
  await other.close();
  await store.close();
  await cleanup();
});

test('sqlite: migration 20 keeps uploads made before it, their bytes now read as a chunk', async () => {
  const { dir, old } = databaseAt(19, { foreignKeys: true });
  const later = Date.now() + 60_000;
  old.prepare('INSERT INTO uploads (account_id, blob_id, type, size, data, created_at, expires_at) VALUES (1, ?, ?, ?, ?, 0, ?)').run('Uold', 'text/plain', 5, Buffer.from('hello'), later);
  old.prepare('INSERT INTO uploads (account_id, blob_id, type, size, data, created_at, expires_at) VALUES (1, ?, ?, 0, ?, 0, ?)').run('Uempty', 'text/plain', Buffer.alloc(0), later);
  old.close();
  const store = openSqliteStore({ dataDir: dir });
  const upload = await store.getUpload(1, 'Uold', new Date());
  assert.ok(upload);
  const parts: Buffer[] = [];
  for await (const part of upload.stream()) parts.push(part);
  assert.equal(Buffer.concat(parts).toString(), 'hello');
  assert.equal((await store.getUpload(1, 'Uempty', new Date()))?.size, 0);
  await store.removeAccount('a@example.test');
  assert.equal(store.db.prepare('SELECT count(*) FROM upload_chunks').pluck().get(), 0, 'the chunks went with the account');
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: migration 24 keeps the email id high-water mark and the change log sequence of an existing data dir', async () => {
  const { dir, old } = databaseAt(23);
  old.exec('UPDATE email_id_high SET value = 500');
  // Every logged change was pruned: only sqlite_sequence still knew the last seq.
  old.exec("INSERT INTO change_log (origin, at, changes) VALUES ('x', 0, '[]'); UPDATE sqlite_sequence SET seq = 900 WHERE name = 'change_log'; DELETE FROM change_log");
  old.close();
  const store = openSqliteStore({ dataDir: dir });
  const inbox = (await store.createMailbox(1, 'INBOX'))!;
  const tx = store.beginDelivery();
  tx.write(Buffer.from('Subject: after\r\n\r\nbody\r\n'));
  const result = await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  assert.ok(result.messages[0]!.emailId! > 500, 'no email id given before the migration is given again');
  assert.ok((store.db.prepare('SELECT max(seq) FROM change_log').pluck().get() as number) > 900, 'the change log goes on after the last seq readers saw');
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

test('sqlite: pruning the change log keeps its newest row, so a later change never reuses a seq another process has read', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  const deliver = async (): Promise<void> => {
    const tx = store.beginDelivery();
    tx.write(Buffer.from('Subject: s\r\n\r\nbody\r\n'));
    await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  };
  await deliver();
  await deliver();
  const seen = store.db.prepare('SELECT max(seq) FROM change_log').pluck().get() as number;
  // All of it older than the retention: the first poll of a listener prunes.
  store.db.prepare('UPDATE change_log SET at = 0').run();
  const off = store.subscribe(() => undefined);
  store.changes.poll();
  await store.commits.idle();
  assert.deepEqual(store.db.prepare('SELECT seq FROM change_log').pluck().all(), [seen], 'only the newest row is left');
  await deliver();
  assert.ok((store.db.prepare('SELECT max(seq) FROM change_log').pluck().get() as number) > seen);
  off();
  await store.close();
  await cleanup();
});

test('sqlite: a delivery writes no page of a counter table or of a change log index', async () => {
  const { store, cleanup } = fresh();
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: 'a@example.test', passwordHash: 'x', scram: null });
  const inbox = (await store.getMailbox(a.id, 'INBOX'))!;
  const names = store.db.prepare("SELECT name FROM sqlite_schema WHERE type IN ('table', 'index')").pluck().all() as string[];
  for (const gone of ['email_id_high', 'change_log_at', 'sqlite_sequence']) {
    if (gone === 'sqlite_sequence') {
      // Still there for other tables, but the change log has no row in it any more.
      assert.equal(store.db.prepare("SELECT count(*) FROM sqlite_sequence WHERE name = 'change_log'").pluck().get(), 0);
    } else assert.ok(!names.includes(gone), `${gone} is gone`);
  }
  const tx = store.beginDelivery();
  tx.write(Buffer.from('Message-ID: <one@example.test>\r\nSubject: s\r\n\r\nbody\r\n'));
  const first = await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  const tx2 = store.beginDelivery();
  tx2.write(Buffer.from('Message-ID: <two@example.test>\r\nSubject: s\r\n\r\nbody\r\n'));
  const second = await tx2.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  assert.equal(second.messages[0]!.emailId, first.messages[0]!.emailId! + 1, 'email ids still count up one by one');
  await store.close();
  await cleanup();
});
