import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import { startDnsServer, type DnsServerHandle } from '../../test/harness/dns-server.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../../test/harness/smtp-sink.ts';
import { silentLogger } from '../core/log.ts';
import { POISON_LIMIT, QueueRunner, type QueueRunnerOptions } from './runner.ts';
import { loopbackRunnerOptions } from './testing/loopback-runner-options.ts';
import { MemoryQueueStore } from './testing/memory-queue-store.ts';
import type { QueueAttemptRecord, QueueEnqueueInput } from '../store/types.ts';

let dns: DnsServerHandle;
const RECORDS = {
  'example.org': { MX: [{ preference: 10, exchange: 'mx.example.org' }] },
  'mx.example.org': { A: ['127.0.0.1'] },
  'backup.example': { MX: [{ preference: 5, exchange: 'dead.backup.example' }, { preference: 20, exchange: 'mx.example.org' }] },
  'dead.backup.example': { A: ['127.0.0.2'] },
  'nullmx.example': { MX: [{ preference: 0, exchange: '.' }] },
  'sender.example': { MX: [{ preference: 10, exchange: 'mx.example.org' }] },
};
let sink: SmtpSinkHandle;

before(async () => {
  sink = await startSmtpSink();
  dns = await startDnsServer(RECORDS);
});
after(async () => {
  await sink.stop();
  await dns.stop();
});

function setup(overrides: Partial<QueueRunnerOptions> = {}) {
  const store = new MemoryQueueStore();
  const runner = new QueueRunner({
    store,
    logger: silentLogger(),
    ...loopbackRunnerOptions(dns.server, sink.port),
    ...overrides,
  });
  return { store, runner };
}

async function runUntilIdle(runner: QueueRunner, passes = 1): Promise<void> {
  for (let i = 0; i < passes; i++) {
    await runner.runOnce();
    await new Promise((r) => setTimeout(r, 20));
    await runner.idle();
  }
}

const MESSAGE = 'From: bob@sender.example\r\nTo: alice@example.org\r\nSubject: hello\r\n\r\nline one\r\n.leading dot\r\nlast\r\n';

test('delivers a queued message byte for byte and removes it from the queue', async () => {
  sink.messages.length = 0;
  const { store, runner } = setup();
  const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }, { address: 'carol@example.org' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(runner);
  assert.equal(sink.messages.length, 1);
  const msg = sink.messages[0]!;
  assert.equal(msg.data.toString('latin1'), MESSAGE);
  assert.deepEqual(msg.recipients, ['alice@example.org', 'carol@example.org']);
  assert.equal(msg.reversePath, 'bob@sender.example');
  assert.ok(msg.raw.includes(Buffer.from('\r\n..leading dot\r\n')), 'dot-stuffed on the wire');
  assert.equal(await store.getQueueMessage(id), null);
});

test('a body with bare LF and bare CR is relayed with CRLF only', async () => {
  sink.messages.length = 0;
  const { store, runner } = setup();
  await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, Buffer.from('Subject: lf\n\nbare lf\nbare cr\rend'));
  await runUntilIdle(runner);
  const raw = sink.messages[0]!.raw.toString('latin1');
  assert.equal(raw, 'Subject: lf\r\n\r\nbare lf\r\nbare cr\r\nend\r\n.\r\n');
  assert.ok(!/[^\r]\n|\r[^\n]/.test(raw));
});

test('4xx for a recipient defers it; the retry delivers it', async () => {
  sink.messages.length = 0;
  let refusals = 1;
  sink.setOptions({ rcpt: (a) => (a === 'dave@example.org' && refusals-- > 0 ? '451 4.2.0 try later' : undefined) });
  const { store, runner } = setup();
  const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'dave@example.org' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(runner);
  const after1 = await store.getQueueMessage(id);
  assert.equal(after1!.recipients[0]!.state, 'deferred');
  assert.equal(after1!.recipients[0]!.attempts, 1);
  assert.match(after1!.recipients[0]!.lastResult!, /^451 4\.2\.0/);
  assert.equal(sink.messages.length, 0);
  await new Promise((r) => setTimeout(r, 50));
  await runUntilIdle(runner);
  assert.equal(sink.messages.length, 1);
  assert.equal(await store.getQueueMessage(id), null);
  sink.setOptions({ rcpt: undefined });
});

test('5xx bounces the recipient and queues an RFC 3464 DSN to the sender from <>', async () => {
  sink.messages.length = 0;
  sink.setOptions({ rcpt: (a) => (a === 'nobody@example.org' ? '550 5.1.1 no such user' : undefined) });
  const { store, runner } = setup();
  const id = await store.enqueue({ sender: 'bob@sender.example', envid: 'env-42', recipients: [{ address: 'nobody@example.org', orcpt: 'rfc822;Nobody@example.org' }, { address: 'alice@example.org' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(runner);
  sink.setOptions({ rcpt: undefined });
  assert.equal(await store.getQueueMessage(id), null);
  assert.deepEqual(sink.messages[0]!.recipients, ['alice@example.org']);
  const dsns = [...store.messages.values()].filter((m) => m.origin === 'dsn');
  assert.equal(dsns.length, 1);
  assert.equal(dsns[0]!.sender, '');
  assert.equal(dsns[0]!.recipients[0]!.address, 'bob@sender.example');
  const raw = store.bodies.get(dsns[0]!.id)!;
  assert.match(raw.toString(), /^Content-Type: multipart\/report; report-type=delivery-status;/m);
  const parsed = await PostalMime.parse(raw);
  assert.match(parsed.from?.address ?? '', /^MAILER-DAEMON@postamt\.test$/);
  assert.match(parsed.text ?? '', /nobody@example\.org/);
  const status = raw.toString();
  assert.match(status, /Reporting-MTA: dns; postamt\.test/);
  assert.match(status, /Original-Envelope-Id: env-42/);
  assert.match(status, /Original-Recipient: rfc822; Nobody@example\.org/);
  assert.match(status, /Final-Recipient: rfc822; nobody@example\.org\r\nAction: failed\r\nStatus: 5\.1\.1\r\nRemote-MTA: dns; mx\.example\.org\r\nDiagnostic-Code: smtp; 550 5\.1\.1 no such user/);
  assert.match(status, /Content-Type: text\/rfc822-headers[\s\S]*Subject: hello/);
  assert.doesNotMatch(status, /line one/, 'RET=HDRS by default: no body');
});

test('a bounce is never sent to the null sender', async () => {
  sink.setOptions({ rcpt: () => '550 5.1.1 no such user' });
  const { store, runner } = setup();
  const id = await store.enqueue({ sender: '', recipients: [{ address: 'nobody@example.org' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(runner);
  sink.setOptions({ rcpt: undefined });
  assert.equal(await store.getQueueMessage(id), null);
  assert.equal(store.messages.size, 0);
});

test('null MX (RFC 7505) bounces at once with 5.1.10 without connecting', async () => {
  const { store, runner } = setup();
  const before = sink.sessions.length;
  await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'x@nullmx.example' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(runner);
  assert.equal(sink.sessions.length, before);
  const dsn = [...store.messages.values()].find((m) => m.origin === 'dsn');
  assert.ok(dsn);
  assert.match(store.bodies.get(dsn.id)!.toString(), /Status: 5\.1\.10/);
});

test('a dead preferred MX falls back to the backup MX', async () => {
  sink.messages.length = 0;
  const { store, runner } = setup();
  const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'eve@backup.example' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(runner);
  assert.equal(sink.messages.length, 1);
  assert.deepEqual(sink.messages[0]!.recipients, ['eve@backup.example']);
  assert.equal(await store.getQueueMessage(id), null);
});

test('a message that stays deferred past its lifetime expires with a 4.4.7-based bounce', async () => {
  let now = Date.now();
  sink.setOptions({ rcpt: () => '451 4.3.0 busy' });
  const { store, runner } = setup({ now: () => new Date(now) });
  store.now = () => new Date(now);
  const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'slow@example.org' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(runner);
  assert.equal((await store.getQueueMessage(id))!.recipients[0]!.state, 'deferred');
  now += 61_000;
  await runUntilIdle(runner);
  sink.setOptions({ rcpt: undefined });
  assert.equal(await store.getQueueMessage(id), null);
  const dsn = [...store.messages.values()].find((m) => m.origin === 'dsn');
  assert.ok(dsn);
  assert.match(store.bodies.get(dsn.id)!.toString(), /Action: failed\r\nStatus: 5\.4\.7/);
});

test('a message that needs 8BITMIME is bounced 5.6.3 by a peer without it', async () => {
  sink.setOptions({ features: ['PIPELINING', 'SIZE 1000000'] });
  const { store, runner } = setup();
  await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, Buffer.from('Subject: x\r\n\r\nGrüße\r\n'));
  await runUntilIdle(runner);
  sink.setOptions({ features: undefined });
  const dsn = [...store.messages.values()].find((m) => m.origin === 'dsn');
  assert.ok(dsn);
  assert.match(store.bodies.get(dsn.id)!.toString(), /Status: 5\.6\.3/);
});

test('a message whose handling throws (poison) is retried with backoff, then quarantined (held); others flow', async () => {
  sink.messages.length = 0;
  const { store, runner } = setup();
  const poison = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, Buffer.from(MESSAGE));
  const good = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'carol@example.org' }] }, Buffer.from(MESSAGE));
  const read = store.readQueueMessage.bind(store);
  store.readQueueMessage = async (id: string) => {
    if (id === poison) throw new Error('blob 7 is truncated');
    return read(id);
  };
  for (let i = 0; i < POISON_LIMIT + 2; i++) {
    await runUntilIdle(runner);
    await new Promise((r) => setTimeout(r, 40)); // past the 30 ms retry delay
  }
  assert.equal(sink.messages.length, 1, 'the good message was delivered once');
  assert.equal(await store.getQueueMessage(good), null);
  const held = (await store.getQueueMessage(poison))!.recipients[0]!;
  assert.equal(held.state, 'held');
  assert.equal(held.attempts, POISON_LIMIT);
  assert.match(held.lastResult ?? '', /quarantined: internal error: blob 7 is truncated/);
});

test('a recipient still deferred past delay_warning gets one "delayed" DSN (RFC 3464 Action: delayed) and stays queued', async () => {
  sink.messages.length = 0;
  sink.setOptions({ rcpt: (a) => (a === 'erin@example.org' ? '451 4.2.0 mailbox busy' : undefined) });
  const { store, runner } = setup({ retry: { scheduleMs: [30], jitter: 0, maxAgeMs: 60_000, delayWarningMs: 60 } });
  const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'erin@example.org' }] }, Buffer.from(MESSAGE));
  for (let i = 0; i < 4; i++) {
    await runUntilIdle(runner);
    await new Promise((r) => setTimeout(r, 40));
  }
  // The notice is queued from <> to the sender and relayed (sender.example's MX is the sink too).
  const dsns = sink.messages.filter((m) => m.reversePath === '' && m.recipients.includes('bob@sender.example'));
  assert.equal(dsns.length, 1, 'exactly one delay notice');
  const text = dsns[0]!.data.toString('latin1');
  assert.match(text, /Action: delayed/i);
  assert.match(text, /Final-Recipient: rfc822; ?erin@example\.org/i);
  const original = await store.getQueueMessage(id);
  assert.ok(original && ['deferred', 'queued'].includes(original.recipients[0]!.state), 'the message is still being retried');
  sink.setOptions({ rcpt: undefined });
});

test('an MX with only an IPv6 address (AAAA) is reached over IPv6', async () => {
  const sink6 = await startSmtpSink({ host: '::1' });
  dns.setRecords({ ...RECORDS, 'v6only.example': { MX: [{ preference: 10, exchange: 'mx6.v6only.example' }] }, 'mx6.v6only.example': { AAAA: ['::1'] } });
  try {
    const { store, runner } = setup({ routing: { portOverride: sink6.port, ipv6: true } });
    const id = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'frank@v6only.example' }] }, Buffer.from(MESSAGE));
    await runUntilIdle(runner);
    assert.equal(sink6.messages.length, 1);
    assert.deepEqual(sink6.messages[0]!.recipients, ['frank@v6only.example']);
    assert.equal(await store.getQueueMessage(id), null);
  } finally {
    await sink6.stop();
  }
});

test('a new recipient that got the id of one whose result is still being written is delivered at once, not after its lease expired', async () => {
  sink.messages.length = 0;
  // SQLite reuses the row id of a deleted message's last recipient; the result that deleted it may still be
  // waiting for its fsync when the new recipient is claimed.
  let durable!: () => void;
  const fsync = new Promise<void>((r) => (durable = r));
  let recorded!: () => void;
  const recordedOnce = new Promise<void>((r) => (recorded = r));
  class SlowFsyncStore extends MemoryQueueStore {
    reuseId: number | null = null;
    override async recordAttempt(attempt: QueueAttemptRecord) {
      const result = await super.recordAttempt(attempt);
      recorded();
      await fsync;
      return result;
    }
    override async enqueue(input: QueueEnqueueInput, body: Buffer) {
      const id = await super.enqueue(input, body);
      if (this.reuseId !== null) this.messages.get(id)!.recipients[0]!.id = this.reuseId;
      return id;
    }
  }
  const store = new SlowFsyncStore();
  const { runner } = setup({ store });
  const first = await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'alice@example.org' }] }, Buffer.from('Subject: first\r\n\r\none\r\n'));
  store.reuseId = (await store.getQueueMessage(first))!.recipients[0]!.id;
  await runner.runOnce();
  await recordedOnce;
  assert.equal(await store.getQueueMessage(first), null, 'the first message is delivered and gone, its result not yet durable');
  await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'carol@example.org' }] }, Buffer.from('Subject: second\r\n\r\ntwo\r\n'));
  await runner.runOnce();
  durable();
  await new Promise((r) => setTimeout(r, 50));
  await runner.idle();
  assert.deepEqual(sink.messages.map((m) => m.recipients), [['alice@example.org'], ['carol@example.org']]);
});

test('a connection waits connectionCacheMs for the next message to its destination, then says QUIT', async () => {
  const { store, runner } = setup({ connectionCacheMs: 2000 });
  runner.start();
  const sessions = sink.sessions.length;
  const messages = sink.messages.length;
  await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'one@example.org' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(runner);
  await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'two@example.org' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(runner);
  assert.equal(sink.messages.length, messages + 2);
  assert.equal(sink.sessions.length, sessions + 1, 'the second message reused the open connection');
  const stopped = Date.now();
  await runner.stop();
  assert.ok(Date.now() - stopped < 1000, 'stop() does not wait out the cache time');
  assert.deepEqual(sink.sessions.at(-1)!.filter((l) => /^(MAIL|QUIT)/.test(l)).map((l) => l.split(' ')[0]), ['MAIL', 'MAIL', 'QUIT']);

  const closing = setup({ connectionCacheMs: 0 });
  closing.runner.start();
  await closing.store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'three@example.org' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(closing.runner);
  await closing.store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: 'four@example.org' }] }, Buffer.from(MESSAGE));
  await runUntilIdle(closing.runner);
  assert.equal(sink.sessions.length, sessions + 3);
  await closing.runner.stop();
});

test('holds at most four recipients per connection in flight; the rest are claimed as results come in', async () => {
  const { store, runner } = setup({ maxConnections: 1 });
  const claimed: number[] = [];
  const claim = store.claimRecipients.bind(store);
  store.claimRecipients = async (now, limit, lease) => {
    const rows = await claim(now, limit, lease);
    claimed.push(rows.length);
    return rows;
  };
  const messages = sink.messages.length;
  for (let i = 0; i < 10; i++) await store.enqueue({ sender: 'bob@sender.example', recipients: [{ address: `bulk${i}@example.org` }] }, Buffer.from(MESSAGE));
  runner.start();
  await sink.waitForMessages(messages + 10, 5000);
  await runner.stop();
  assert.equal(claimed[0], 4);
  assert.ok(claimed.every((n) => n <= 4));
  assert.equal(store.messages.size, 0);
});
