// Outbound mail through the running server: submission and alias forwarding queue remote
// recipients; MX routing from an in-test DNS server (RFC 5321 §5.1, RFC 7505 null MX); delivery to an
// SMTP sink byte for byte; 4xx retries; 5xx → RFC 3464 DSN in the sender's INBOX; expiry; VERP bounce
// processing into the suppression list; the queue CLI against the live data dir.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { buildDsn } from '../../src/queue/dsn.ts';
import { encodeVerp } from '../../src/queue/verp.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { PASS, attempts, cliFor, rawMessage, submit, until } from './queue-helpers.ts';

const ALICE = 'alice@example.org';
const LIST = 'list-bounces@lists.example.test';

/** Every MX host in these tests: 127.0.0.1 is the sink; 127.0.0.2 refuses (nothing listens there). */
const RECORDS = {
  'a.test': { MX: [{ preference: 20, exchange: 'mx2.a.test' }, { preference: 10, exchange: 'mx1.a.test' }] },
  'mx1.a.test': { A: ['127.0.0.1'] },
  'mx2.a.test': { A: ['127.0.0.2'] },
  'retry.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
  'reject.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
  'null.test': { MX: [{ preference: 0, exchange: '.' }] },
  'backup.test': { MX: [{ preference: 10, exchange: 'dead.backup.test' }, { preference: 20, exchange: 'mx.sink.test' }] },
  'dead.backup.test': { A: ['127.0.0.2'] },
  'g.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
  'held.test': { MX: [{ preference: 10, exchange: 'mx.sink.test' }] },
  'mx.sink.test': { A: ['127.0.0.1'] },
};

/** Per-recipient scripted replies: each RCPT takes the next line; the last one repeats. */
const script = new Map<string, string[]>();
function rcptReply(address: string): string | undefined {
  const lines = script.get(address.toLowerCase());
  if (!lines || lines.length === 0) return undefined;
  return lines.length > 1 ? lines.shift() : lines[0];
}
const rcptsSeen = (sink: SmtpSinkHandle, address: string): number => sink.sessions.flat().filter((l) => l.toLowerCase().startsWith(`rcpt to:<${address}>`)).length;

describe('outbound queue through the running server', () => {
  let dns: DnsServerHandle;
  let sink: SmtpSinkHandle;
  let t: TestServer;

  before(async () => {
    dns = await startDnsServer(RECORDS);
    sink = await startSmtpSink({ rcpt: (a) => rcptReply(a) });
    // The DNS server answers from this same (possibly loaded) process: a lookup that timed out would count as a
    // failed connection and put the destination into its 60 s backoff, past every wait below.
    t = await startTestServer({ dns: new NodeResolver({ servers: [dns.server], timeoutMs: 5000, tries: 2 }), config: { queue: { portOverride: sink.port, retrySchedule: [150, 300, 600], maxAge: 60_000, delayWarning: null } } });
    await t.addUser(ALICE, PASS);
    await t.addUser(LIST, PASS);
    await t.addAlias('fwd@example.org', ['remote@reject.test']);
  });
  after(async () => {
    await t.stop();
    await sink.stop();
    await dns.stop();
  });

  it('delivers byte for byte to the most preferred MX and logs one attempt line', async () => {
    const raw = Buffer.concat([rawMessage(ALICE, 'bob@a.test', 'byte for byte', 'line one\r\n.a line starting with a dot\r\n..two dots\r\nUmlaut: Grüße\r\n'), Buffer.from('no final newline? no: CRLF kept\r\n')]);
    await submit(t, ALICE, { from: ALICE, to: ['bob@a.test'] }, raw);
    const [got] = await sink.waitForMessages(1);
    assert.equal(got!.reversePath, ALICE);
    assert.deepEqual(got!.recipients, ['bob@a.test']);
    // Our trace field(s) in front, then exactly the submitted bytes.
    assert.ok(got!.data.subarray(got!.data.length - raw.length).equals(raw), 'the submitted message arrives unchanged');
    assert.match(got!.data.subarray(0, got!.data.length - raw.length).toString(), /^Received: from /);
    const lines = await until('the attempt log line', () => (attempts(t, 'bob@a.test').length ? attempts(t, 'bob@a.test') : null));
    assert.equal(lines.length, 1);
    assert.equal(lines[0]!.mx, 'mx1.a.test');
    assert.equal(lines[0]!.ip, '127.0.0.1');
    assert.match(String(lines[0]!.reply), /^250 /);
    assert.match(String(lines[0]!.queueId), /^[0-9A-Za-z]+$/);
    assert.equal(lines[0]!.result, 'delivered');
  });

  it('retries after 4xx and removes the entry after success', async () => {
    script.set('carol@retry.test', ['451 4.2.0 try again later', '451 4.2.0 still busy', '250 2.1.5 OK']);
    const before = sink.messages.length;
    await submit(t, ALICE, { from: ALICE, to: ['carol@retry.test'] }, rawMessage(ALICE, 'carol@retry.test', 'retry me', 'hello'));
    await sink.waitForMessages(before + 1, 5000);
    const lines = await until('the third attempt', () => (attempts(t, 'carol@retry.test').length >= 3 ? attempts(t, 'carol@retry.test') : null));
    assert.deepEqual(lines.map((l) => l.result), ['deferred', 'deferred', 'delivered']);
    const queueId = String(lines[0]!.queueId);
    await until('the queue entry to go', async () => (await t.server.services.store.getQueueMessage(queueId)) === null);
  });

  it('5xx: an RFC 3464 DSN from MAILER-DAEMON with <> lands in the sender INBOX', async () => {
    script.set('nobody@reject.test', ['550 5.1.1 <nobody@reject.test>: no such user']);
    await submit(t, ALICE, { from: ALICE, to: ['nobody@reject.test'] }, rawMessage(ALICE, 'nobody@reject.test', 'doomed message', 'x'));
    const [dsn] = await t.waitForMessages(ALICE, 1, { timeoutMs: 5000 });
    const text = (await t.read(ALICE, dsn!.uid)).toString();
    assert.match(text, /^Return-Path: <>\r\n/);
    assert.match(text, /^From: .*MAILER-DAEMON@mx\.postamt\.test/im);
    assert.match(text, /^Content-Type: multipart\/report;[\s\S]*?report-type="?delivery-status"?/im);
    assert.match(text, /^Content-Type: message\/delivery-status/im);
    assert.match(text, /^Final-Recipient: rfc822; ?nobody@reject\.test/im);
    assert.match(text, /^Action: failed/im);
    assert.match(text, /^Status: 5\.1\.1/im);
    assert.match(text, /^Remote-MTA: dns; ?mx\.sink\.test/im);
    assert.match(text, /^Diagnostic-Code: smtp; ?550 5\.1\.1/im);
    assert.match(text, /^Subject: doomed message/m, 'the original headers come back');
    assert.match(text, /^Message-ID: <doomed\.message@queue\.test>/im);
  });

  it('no DSN for a message whose envelope sender was <> (alias forwarding on the MX port)', async () => {
    const inboxBefore = (await t.messages(ALICE)).length;
    const dsnsBefore = t.logs.filter((l) => l.event === 'queue.dsn').length;
    script.set('remote@reject.test', ['550 5.1.1 <remote@reject.test>: no such user']);
    const reply = await sendRaw(t.ports.smtp, { from: '', to: ['fwd@example.org'], data: 'From: MAILER-DAEMON@elsewhere.test\r\nSubject: a bounce\r\n\r\nbounced\r\n' });
    assert.equal(reply.code, 250);
    const line = await until('the bounce of the forward', () => attempts(t, 'remote@reject.test')[0]);
    assert.equal(line.result, 'bounced');
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(t.logs.filter((l) => l.event === 'queue.dsn').length, dsnsBefore, 'no DSN queued');
    assert.equal((await t.messages(ALICE)).length, inboxBefore);
  });

  it('null MX (RFC 7505): bounced at once, no connection attempted', async () => {
    const sessions = sink.sessions.length;
    const inboxBefore = (await t.messages(ALICE)).length;
    await submit(t, ALICE, { from: ALICE, to: ['x@null.test'] }, rawMessage(ALICE, 'x@null.test', 'to a null MX', 'x'));
    const line = await until('the null MX result', () => attempts(t, 'x@null.test')[0]);
    assert.equal(line.result, 'bounced');
    assert.match(String(line.reply), /^556 5\.1\.10/);
    assert.equal(line.ip, null);
    const msgs = await t.waitForMessages(ALICE, inboxBefore + 1);
    assert.match((await t.read(ALICE, msgs[msgs.length - 1]!.uid)).toString(), /^Status: 5\.1\.10/m);
    assert.equal(sink.sessions.length, sessions, 'no SMTP connection was made');
    assert.ok(!dns.queries.some((q) => q.startsWith('A ') && q.endsWith('null.test')), 'no fallback to A records');
  });

  it('dead MX, then the backup MX delivers', async () => {
    const before = sink.messages.length;
    await submit(t, ALICE, { from: ALICE, to: ['dave@backup.test'] }, rawMessage(ALICE, 'dave@backup.test', 'via backup', 'x'));
    await sink.waitForMessages(before + 1);
    const lines = await until('the attempt', () => attempts(t, 'dave@backup.test')[0] && attempts(t, 'dave@backup.test'));
    assert.equal(lines.length, 1, 'one attempt: the dead host was skipped within it');
    assert.equal(lines[0]!.mx, 'mx.sink.test');
    assert.equal(lines[0]!.result, 'delivered');
  });

  it('VERP: our own bounce comes back to the list, the recipient is suppressed, later sends skip it', async () => {
    const verp = encodeVerp(LIST, 'alice@g.test');
    assert.equal(verp, 'list-bounces+alice=g.test@lists.example.test');
    script.set('alice@g.test', ['550 5.1.1 <alice@g.test>: mailbox unavailable']);
    await submit(t, LIST, { from: verp, to: ['alice@g.test'] }, rawMessage(LIST, 'alice@g.test', 'list post', 'x'));
    await t.waitForMessages(LIST, 1);
    await until('the suppression', async () => t.server.services.store.isSuppressed('alice@g.test'));
    const cli = cliFor(t);
    try {
      const listed = await cli.run(['suppress', 'list', '--json']);
      assert.equal(listed.code, 0, listed.stderr);
      const entry = (JSON.parse(listed.stdout) as { address: string; reason: string }[]).find((r) => r.address === 'alice@g.test');
      assert.ok(entry);
      assert.match(entry.reason, /5\.1\.1/);
    } finally {
      cli.cleanup();
    }
    const rcpts = rcptsSeen(sink, 'alice@g.test');
    await submit(t, LIST, { from: verp, to: ['alice@g.test'] }, rawMessage(LIST, 'alice@g.test', 'list post 2', 'x'));
    const lines = await until('the second result', () => (attempts(t, 'alice@g.test').length >= 2 ? attempts(t, 'alice@g.test') : null));
    assert.match(String(lines[1]!.reply), /^550 5\.7\.1 .*suppression/);
    assert.equal(rcptsSeen(sink, 'alice@g.test'), rcpts, 'no delivery attempted to a suppressed address');
  });

  it('VERP: a remote MTA bounce arriving on our MX port suppresses the encoded recipient', async () => {
    const dsn = buildDsn({
      reportingMta: 'mx.far.test',
      originalSender: encodeVerp(LIST, 'bob@g.test'),
      arrivalDate: new Date(),
      now: new Date(),
      original: Buffer.from('Subject: list post\r\n\r\n'),
      recipients: [{ address: 'bob@g.test', action: 'failed', status: '5.1.1', diagnostic: '550 5.1.1 user unknown', remoteMta: 'mx.g.test' }],
    });
    const reply = await sendRaw(t.ports.smtp, { from: '', to: [encodeVerp(LIST, 'bob@g.test')], data: dsn.toString('latin1').replace(/\r\n\./g, '\r\n..') });
    assert.equal(reply.code, 250);
    assert.equal(await t.server.services.store.isSuppressed('bob@g.test'), true);
    // An ordinary message (not <>) to a VERP-looking address suppresses nothing.
    await sendRaw(t.ports.smtp, { from: 'someone@far.test', to: [encodeVerp(LIST, 'carl@g.test')], data: dsn.toString('latin1').replace(/\r\n\./g, '\r\n..') });
    assert.equal(await t.server.services.store.isSuppressed('carl@g.test'), false);
  });

  it('CLI: queue list --json, hold, release, retry and delete against the live data dir', async () => {
    script.set('h1@held.test', ['451 4.3.0 not yet']);
    script.set('h2@held.test', ['451 4.3.0 not yet']);
    await submit(t, ALICE, { from: ALICE, to: ['h1@held.test'] }, rawMessage(ALICE, 'h1@held.test', 'held one', 'x'));
    await submit(t, ALICE, { from: ALICE, to: ['h2@held.test'] }, rawMessage(ALICE, 'h2@held.test', 'held two', 'x'));
    await until('first attempts', () => attempts(t, 'h1@held.test').length >= 1 && attempts(t, 'h2@held.test').length >= 1);
    const cli = cliFor(t);
    try {
      const list = async (): Promise<{ id: string; recipients: { address: string; state: string }[] }[]> => {
        const r = await cli.run(['queue', 'list', '--json']);
        assert.equal(r.code, 0, r.stderr);
        return JSON.parse(r.stdout);
      };
      const idOf = async (address: string): Promise<string> => (await list()).find((m) => m.recipients.some((r) => r.address === address))!.id;
      const id1 = await idOf('h1@held.test');
      const id2 = await idOf('h2@held.test');

      const held = await cli.run(['queue', 'hold', id1]);
      assert.equal(held.code, 0, held.stderr);
      assert.match(held.stdout, /held 1 recipient/);
      assert.equal((await list()).find((m) => m.id === id1)!.recipients[0]!.state, 'held');
      // An attempt already in flight when the hold came still ends (and stays held); count from after it.
      await new Promise((r) => setTimeout(r, 500));
      const n = attempts(t, 'h1@held.test').length;
      await new Promise((r) => setTimeout(r, 700));
      assert.equal(attempts(t, 'h1@held.test').length, n, 'no attempts while held');

      // Still deferred by the next hop after the release, so the message is in the queue when retry comes
      // (with the next hop taking it at once, an attempt right after the release could deliver it first).
      assert.equal((await cli.run(['queue', 'release', id1])).code, 0);
      assert.notEqual((await list()).find((m) => m.id === id1)!.recipients[0]!.state, 'held');
      const retried = await cli.run(['queue', 'retry', id1]);
      assert.equal(retried.code, 0, retried.stderr);
      assert.match(retried.stdout, /1 recipient\(s\) scheduled/);
      script.set('h1@held.test', ['250 2.1.5 OK']);
      // The CLI is another process in production: the server picks the change up at its next poll; kick now.
      t.server.services.queue.kick();
      await until('delivery after release', () => attempts(t, 'h1@held.test').some((l) => l.result === 'delivered'));
      await until('h1 leaves the queue', async () => !(await list()).some((m) => m.id === id1));

      const deleted = await cli.run(['queue', 'delete', id2]);
      assert.equal(deleted.code, 0, deleted.stderr);
      assert.equal(deleted.stdout.trim(), `deleted ${id2}`);
      assert.ok(!(await list()).some((m) => m.id === id2));
      assert.equal((await cli.run(['queue', 'delete', id2])).code !== 0, true, 'deleting twice is an error');
    } finally {
      cli.cleanup();
    }
  });
});

describe('expiry', () => {
  it('a message that outlives max_age bounces with 5.4.7', async () => {
    const dns = await startDnsServer(RECORDS);
    const sink = await startSmtpSink({ rcpt: () => '451 4.4.1 never today' });
    const t = await startTestServer({ dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }), config: { queue: { portOverride: sink.port, retrySchedule: [100], maxAge: 2000, delayWarning: null } } });
    try {
      await t.addUser(ALICE, PASS);
      await submit(t, ALICE, { from: ALICE, to: ['late@retry.test'] }, rawMessage(ALICE, 'late@retry.test', 'too late', 'x'));
      // max_age 2 s with a retry every 100 ms: several attempts before it expires even when an attempt is slow
      // (with 400 ms a loaded machine's first attempt ended past it, and the message bounced untried again).
      const [dsn] = await t.waitForMessages(ALICE, 1, { timeoutMs: 20_000 });
      const text = (await t.read(ALICE, dsn!.uid)).toString();
      assert.match(text, /^Status: 5\.4\.7/m);
      assert.match(text, /^Action: failed/m);
      const lines = attempts(t, 'late@retry.test');
      assert.ok(lines.length >= 2, 'tried before expiring');
      assert.equal(lines[lines.length - 1]!.result, 'bounced');
      await until('the queue to empty (the DSN entry is recorded after its delivery)', async () => (await t.server.services.store.listQueue()).length === 0);
    } finally {
      await t.stop();
      await sink.stop();
      await dns.stop();
    }
  });
});
