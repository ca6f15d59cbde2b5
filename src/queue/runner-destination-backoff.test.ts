// The per-destination backoff: a destination none of whose hosts could be reached is left alone for
// destinationBackoffMs, also for mail queued after the failure, until an administrator's retry made after the
// failure lifts it. The destination is a real loopback port: closed at first, then a real SMTP sink on it.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { startDnsServer } from '../../test/harness/dns-server.ts';
import { freePort } from '../../test/harness/free-port.ts';
import { startSmtpSink } from '../../test/harness/smtp-sink.ts';
import { createLogger } from '../core/log.ts';
import { retryQueue } from './admin.ts';
import { QueueRunner } from './runner.ts';
import { loopbackRunnerOptions } from './testing/loopback-runner-options.ts';
import { MemoryQueueStore } from './testing/memory-queue-store.ts';

const BACKOFF_MS = 10 * 60_000;
const MESSAGE = 'From: bob@sender.example\r\nTo: alice@example.org\r\nSubject: backoff\r\n\r\nbody\r\n';

async function runUntilIdle(runner: QueueRunner): Promise<void> {
  await runner.runOnce();
  await new Promise((r) => setTimeout(r, 20));
  await runner.idle();
}

test('a dead destination is left alone for the backoff, also for later mail, until a retry made after the failure', async () => {
  const dns = await startDnsServer({ 'example.org': { MX: [{ preference: 10, exchange: 'mx.example.org' }] }, 'mx.example.org': { A: ['127.0.0.1'] } });
  const port = await freePort();
  const logs: { event?: string; destination?: string; queueId?: string; reason?: string }[] = [];
  const logSink = new Writable({ write(chunk, _enc, done) { for (const line of String(chunk).split('\n').filter(Boolean)) logs.push(JSON.parse(line)); done(); } });
  const store = new MemoryQueueStore();
  const base = loopbackRunnerOptions(dns.server, port);
  const runner = new QueueRunner({ ...base, store, logger: createLogger({ destination: logSink }), destinationBackoffMs: BACKOFF_MS, retry: { ...base.retry, scheduleMs: [BACKOFF_MS] } });
  try {
    // Nothing listens on the port yet: every host of the destination refuses.
    const first = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, Buffer.from(MESSAGE));
    const beforeFailure = new Date();
    await runUntilIdle(runner);
    const failed = (await store.getQueueMessage(first))!.recipients[0]!;
    assert.deepEqual([failed.state, failed.attempts], ['deferred', 1], 'the message that found the destination dead counts an attempt');

    const peer = await startSmtpSink({ port });
    try {
      // Mail queued after the failure is not tried while the mark lasts, and no attempt is counted for it.
      const second = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'carol@example.org' }] }, Buffer.from(MESSAGE));
      await runUntilIdle(runner);
      const waiting = (await store.getQueueMessage(second))!.recipients[0]!;
      assert.deepEqual([waiting.state, waiting.attempts], ['queued', 0]);
      assert.ok(waiting.nextAttemptAt.getTime() >= beforeFailure.getTime() + BACKOFF_MS, 'it keeps its place until the mark ends');
      assert.equal(peer.messages.length, 0);

      // A retry asked before the failure was found does not lift it.
      await store.updateRecipients([{ id: waiting.id, state: 'queued', nextAttemptAt: new Date(), retryRequestedAt: new Date(beforeFailure.getTime() - 1000) }]);
      await runUntilIdle(runner);
      assert.equal(peer.messages.length, 0);
      assert.equal(logs.filter((l) => l.event === 'queue.backoff_lifted').length, 0);

      // `postamt queue retry --all`: both go now, and the log says which destination's backoff was lifted and why.
      assert.equal(await retryQueue(store, 'all'), 2);
      await runUntilIdle(runner);
      assert.deepEqual(peer.messages.map((m) => m.recipients[0]).sort(), ['alice@example.org', 'carol@example.org']);
      assert.deepEqual(await store.listQueue(), []);
      const lifted = logs.filter((l) => l.event === 'queue.backoff_lifted');
      assert.equal(lifted.length, 1, 'one lift: the mark is gone for the rest of the retried mail');
      assert.equal(lifted[0]!.destination, 'example.org');
      assert.equal(lifted[0]!.reason, 'retry requested');
    } finally {
      await peer.stop();
    }
  } finally {
    await runner.stop();
    await dns.stop();
  }
});

test('after a retry that finds the destination still dead, the rest of the retried mail waits again', async () => {
  const dns = await startDnsServer({ 'example.org': { MX: [{ preference: 10, exchange: 'mx.example.org' }] }, 'mx.example.org': { A: ['127.0.0.1'] } });
  const port = await freePort();
  const store = new MemoryQueueStore();
  const base = loopbackRunnerOptions(dns.server, port);
  let attempts = 0;
  const runner = new QueueRunner({
    ...base, store, destinationBackoffMs: BACKOFF_MS, retry: { ...base.retry, scheduleMs: [BACKOFF_MS] },
    maxConnectionsPerDestination: 1,
    logger: createLogger({ destination: new Writable({ write(chunk, _enc, done) { attempts += String(chunk).split('\n').filter((l) => l.includes('"event":"queue.attempt"')).length; done(); } }) }),
  });
  try {
    for (let i = 0; i < 3; i++) await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: `r${i}@example.org` }] }, Buffer.from(MESSAGE));
    await runUntilIdle(runner);
    assert.equal(attempts, 1, 'one message tried; the others wait without an attempt');
    assert.equal(await retryQueue(store, 'all'), 3);
    await runUntilIdle(runner);
    assert.equal(attempts, 2, 'the retry tried once more; the destination is dead again, so the others wait');
    const counted = (await store.listQueue()).flatMap((m) => m.recipients.map((r) => r.attempts));
    assert.equal(counted.reduce((a, b) => a + b, 0), 2, 'two attempts counted in all');
  } finally {
    await runner.stop();
    await dns.stop();
  }
});
