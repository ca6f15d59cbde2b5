import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { PassThrough } from 'node:stream';
import Database from 'better-sqlite3';
import { startDnsServer, type DnsServerHandle } from '../../test/harness/dns-server.ts';
import { startSmtpSink, type ReceivedMessage, type SmtpSinkHandle } from '../../test/harness/smtp-sink.ts';
import { tempDir } from '../../test/harness/temp-dir.ts';
import { createLogger } from '../core/log.ts';
import { openStore } from '../store/open.ts';
import { QueueRunner, type QueueRunnerOptions } from './runner.ts';
import { loopbackRunnerOptions } from './testing/loopback-runner-options.ts';

let dns: DnsServerHandle;
let sink: SmtpSinkHandle;

before(async () => {
  sink = await startSmtpSink();
  dns = await startDnsServer({
    'example.org': { MX: [{ preference: 10, exchange: 'mx.example.org' }] },
    'mx.example.org': { A: ['127.0.0.1'] },
    'sender.example': { MX: [{ preference: 10, exchange: 'mx.example.org' }] },
  });
});
after(async () => {
  await sink.stop();
  await dns.stop();
});

async function setup(overrides: Partial<QueueRunnerOptions> = {}) {
  const dataDir = tempDir('postamt-delivery-threads-');
  const store = await openStore({ dataDir });
  const lines: Record<string, unknown>[] = [];
  const out = new PassThrough();
  out.on('data', (chunk: Buffer) => chunk.toString().split('\n').filter(Boolean).forEach((l) => lines.push(JSON.parse(l) as Record<string, unknown>)));
  const runner = new QueueRunner({
    store,
    logger: createLogger({ destination: out, level: 'info' }),
    ...loopbackRunnerOptions(dns.server, sink.port),
    connectionCacheMs: 0,
    deliveryThreads: 1,
    ...overrides,
  });
  const attempts = (address: string) => lines.filter((l) => l.event === 'queue.attempt' && l.recipient === address);
  return { store, runner, attempts, lines, dataDir, close: async () => { await within('stop()', runner.stop()); await store.close(); } };
}

/** A stop or a close that never settles fails the test instead of hanging the suite. */
async function within<T>(what: string, promise: Promise<T>, ms = 15_000): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`${what} did not settle within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** Deletes a queued message's body behind the store's back, as disk damage would. */
function deleteBody(dataDir: string, queueId: string): void {
  const db = new Database(join(dataDir, 'postamt.db'));
  try {
    const row = db.prepare('SELECT blob_id AS blob FROM queue_messages WHERE id = ?').get(queueId) as { blob: number };
    assert.equal(db.prepare('DELETE FROM blobs WHERE id = ?').run(row.blob).changes, 1);
  } finally {
    db.close();
  }
}

async function until(what: string, check: () => boolean | Promise<boolean>, ms = 30_000): Promise<void> {
  for (const end = Date.now() + ms; Date.now() < end; await new Promise((r) => setTimeout(r, 20))) if (await check()) return;
  assert.fail(`timed out waiting for ${what}`);
}

test('a delivery thread sends queued bodies as stored (dot-stuffed, 8-bit, chunked) and the main thread records each result', async () => {
  sink.messages.length = 0;
  const { store, runner, attempts, close } = await setup();
  try {
    assert.ok(runner.deliveryThreads, 'outbound sessions run on a thread for a SQLite store');
    runner.start();
    await until('the thread to be ready', () => runner.deliveryThreads!.available());
    // The main thread never reads a body it hands to a thread.
    let mainReads = 0;
    const read = store.readQueueMessage.bind(store);
    store.readQueueMessage = (id) => (mainReads++, read(id));
    const small = Buffer.from('From: bob@sender.example\r\nSubject: dots\r\n\r\n.leading dot\r\nGr\u00fc\u00dfe\r\n', 'utf8');
    // Over one 512 KiB chunk: the thread reads a body stored in several blob_chunks rows.
    const large = Buffer.concat([Buffer.from('Subject: large\r\n\r\n'), Buffer.alloc(60_000 * 12, 'abcdefghij\r\n')]);
    const a = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, small);
    const b = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'carol@example.org' }, { address: 'dave@example.org' }] }, large);
    runner.kick();
    await sink.waitForMessages(2, 10_000);
    await until('both results recorded', async () => (await store.getQueueMessage(a)) === null && (await store.getQueueMessage(b)) === null);
    const bySubject = (s: string) => sink.messages.find((m) => m.data.toString('latin1').includes(`Subject: ${s}`))!;
    assert.deepEqual(bySubject('dots').data, small);
    assert.ok(bySubject('dots').raw.includes(Buffer.from('\r\n..leading dot\r\n')), 'dot-stuffed on the wire');
    assert.match(sink.sessions.flat().find((l) => l.startsWith('MAIL FROM:<bob@sender.example>') && l.includes(`SIZE=${small.length}`)) ?? '', /BODY=8BITMIME/);
    assert.deepEqual(bySubject('large').data, large);
    assert.deepEqual(bySubject('large').recipients, ['carol@example.org', 'dave@example.org']);
    for (const r of ['alice@example.org', 'carol@example.org', 'dave@example.org']) {
      assert.equal(attempts(r).length, 1, `one log line for the attempt to ${r}`);
      assert.equal(attempts(r)[0]!.result, 'delivered');
      assert.equal(attempts(r)[0]!.ip, '127.0.0.1');
    }
    assert.equal(mainReads, 0, 'bodies were read by the thread');
  } finally {
    await close();
  }
});

test('mail queued before the thread has loaded waits for it: the main thread sends none of it (it reads no body)', async () => {
  sink.messages.length = 0;
  const { store, runner, attempts, close } = await setup();
  try {
    let mainReads = 0;
    const read = store.readQueueMessage.bind(store);
    store.readQueueMessage = (id) => (mainReads++, read(id));
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) ids.push(await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: `early${i}@example.org` }] }, Buffer.from(`Subject: early ${i}\r\n\r\nbody\r\n`)));
    // The start's pass finds the mail at once; the thread is spawned by its first connection and loads meanwhile.
    runner.start();
    assert.equal(runner.deliveryThreads!.ready, false, 'no thread has loaded yet');
    await sink.waitForMessages(3, 20_000);
    await until('the results recorded', async () => (await Promise.all(ids.map((id) => store.getQueueMessage(id)))).every((m) => m === null));
    for (let i = 0; i < 3; i++) assert.equal(attempts(`early${i}@example.org`)[0]?.result, 'delivered');
    assert.equal(mainReads, 0, 'every session ran on the thread');
  } finally {
    await close();
  }
});

test('a loop found by the thread (too many Received fields) is bounced 5.4.6 without sending it', async () => {
  sink.messages.length = 0;
  const { store, runner, attempts, close } = await setup({ maxHops: 2 });
  try {
    const looped = Buffer.from('Received: from a\r\nReceived: from b\r\nReceived: from c\r\nSubject: looping\r\n\r\nbody\r\n');
    runner.start();
    await until('the thread to be ready', () => runner.deliveryThreads!.available());
    const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, looped);
    runner.kick();
    // The DSN to bob (via the same sink) carries the original's headers, read on the main thread for it.
    const [dsn] = await sink.waitForMessages(1, 10_000);
    assert.equal(attempts('alice@example.org')[0]!.result, 'bounced');
    assert.match(dsn!.data.toString(), /^Status: 5\.4\.6/m);
    assert.match(dsn!.data.toString(), /Subject: looping/);
    assert.deepEqual(dsn!.recipients, ['bob@sender.example']);
    assert.ok(!sink.messages.some((m) => m.recipients.includes('alice@example.org')), 'the looping message was not sent');
    assert.equal(await store.getQueueMessage(id), null);
  } finally {
    await close();
  }
});

test('a delivery thread that dies mid-transaction: its recipients are retried on a new thread, nothing is lost', async () => {
  sink.messages.length = 0;
  const held: ReceivedMessage[] = [];
  sink.setOptions({ data: (m) => (held.push(m), null) });
  const { store, runner, attempts, close } = await setup();
  try {
    runner.start();
    await until('the thread to be ready', () => runner.deliveryThreads!.available());
    const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, Buffer.from('Subject: crash\r\n\r\nbody\r\n'));
    runner.kick();
    await until('the peer to hold the final dot', () => held.length === 1);
    sink.setOptions({ data: undefined });
    await runner.deliveryThreads!.kill();
    // The transaction in flight counts as an internal error (an attempt, retried after the backoff).
    const [msg] = await sink.waitForMessages(1, 10_000);
    assert.equal(msg!.data.toString(), 'Subject: crash\r\n\r\nbody\r\n');
    await until('the result recorded', async () => (await store.getQueueMessage(id)) === null);
    assert.equal(attempts('alice@example.org').length, 1, 'one delivery attempt logged (the crash is logged as an internal error)');
    assert.equal(runner.deliveryThreads!.size, 1, 'a new thread took over');
  } finally {
    sink.setOptions({ data: undefined });
    await close();
  }
  assert.equal(runner.deliveryThreads!.size, 0, 'stop() ends the threads');
  await until('every session closed', () => sink.openConnections === 0);
});

test('deliveryThreads 0, or a store without a body source of its own, keeps the sessions on the main thread', async () => {
  const { runner, close } = await setup({ deliveryThreads: 0 });
  assert.equal(runner.deliveryThreads, null);
  await close();
  // With threads, none is spawned before a connection is wanted: a server that relays nothing pays nothing.
  const lazy = await setup();
  lazy.runner.start();
  await lazy.runner.idle();
  assert.equal(lazy.runner.deliveryThreads!.size, 0);
  await lazy.close();
});

test('a queue entry whose body cannot be read: the connection opened for it is closed (main thread or delivery thread), it is quarantined, and stop() returns', async () => {
  sink.messages.length = 0;
  const { store, runner, lines, dataDir, close } = await setup();
  try {
    await until('no session open at the sink', () => sink.openConnections === 0);
    const sessions = sink.sessions.length;
    const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, Buffer.from('Subject: gone\r\n\r\nbody\r\n'));
    deleteBody(dataDir, id);
    // Not started: no thread is spawned, so the connection opens on the main thread (as when none loads) and the
    // body read fails there, after the connect.
    await runner.runOnce();
    await within('idle()', runner.idle());
    assert.equal(sink.sessions.length, sessions + 1, 'one session was opened for it');
    await until('the main thread\'s session closed', () => sink.openConnections === 0);
    const first = (await store.getQueueMessage(id))!.recipients[0]!;
    assert.equal(first.state, 'deferred');
    assert.match(first.lastResult ?? '', /internal error/);
    // Started: the retries go to the thread, whose body read fails in the thread; each session is closed.
    runner.start();
    await until('the thread to be ready', () => runner.deliveryThreads!.available());
    runner.kick();
    await until('the entry quarantined', async () => (await store.getQueueMessage(id))!.recipients[0]!.state === 'held');
    assert.ok(lines.some((l) => l.event === 'queue.quarantined' && l.queueId === id));
    assert.ok(sink.sessions.length > sessions + 1, 'the thread opened sessions of its own');
    await until('every session closed', () => sink.openConnections === 0);
    assert.equal(sink.messages.length, 0);
  } finally {
    await close();
  }
  assert.equal(runner.deliveryThreads!.size, 0, 'stop() ended the thread');
});

test('stop() while a transaction is in flight on a thread waits for its reply, records it, and closes the cached connection', async () => {
  sink.messages.length = 0;
  let release!: (reply: string) => void;
  let held = false;
  sink.setOptions({ data: () => ((held = true), new Promise<string>((resolve) => (release = resolve))) });
  const { store, runner, attempts, close } = await setup({ connectionCacheMs: 60_000 });
  try {
    runner.start();
    await until('the thread to be ready', () => runner.deliveryThreads!.available());
    const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, Buffer.from('Subject: in flight\r\n\r\nbody\r\n'));
    runner.kick();
    await until('the peer to hold the final dot', () => held);
    let stopped = false;
    const stopping = runner.stop().then(() => (stopped = true));
    await new Promise((r) => setImmediate(r));
    assert.equal(stopped, false, 'stop() waits for the transaction in flight');
    release('250 2.0.0 queued');
    await within('stop()', stopping);
    assert.equal(await store.getQueueMessage(id), null, 'the reply was recorded before stop() returned');
    assert.equal(attempts('alice@example.org')[0]!.result, 'delivered');
    assert.equal(runner.deliveryThreads!.size, 0, 'stop() ended the thread');
    // The connection that would have waited 60 s for more mail was closed with QUIT.
    await until('the session closed', () => sink.openConnections === 0);
    assert.equal(sink.sessions.at(-1)!.at(-1), 'QUIT');
  } finally {
    sink.setOptions({ data: undefined });
    await close();
  }
});
