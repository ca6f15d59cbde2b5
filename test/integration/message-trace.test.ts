/**
 * The message trace end to end, read with the real `postamt trace`: a message received on the MX (SPF,
 * DKIM, DMARC and the spam score with its rules, here in shadow mode), stored in a local mailbox and relayed
 * to a loopback SMTP sink that answers 451 once, then 250, shows every step with its data; refused RCPTs
 * show why and at which command.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/postamt.js');

interface Event {
  event: string;
  result: string;
  reason: string | null;
  at: string;
  recipients: string[];
  sender: string | null;
  data: Record<string, unknown>;
}
interface Timeline {
  queueId: string;
  messageId: string | null;
  sender: string | null;
  recipients: string[];
  events: Event[];
}

function postamt(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

describe('message trace', () => {
  let dns: DnsServerHandle;
  let sink: SmtpSinkHandle;
  let t: TestServer;
  let configFile: string;
  let rcptCalls = 0;

  const trace = async (...args: string[]): Promise<Timeline[]> => {
    await t.server.services.trace.flush();
    const r = await postamt(['--config', configFile, 'trace', '--json', ...args], t.dataDir);
    assert.equal(r.code, 0, r.stderr);
    return JSON.parse(r.stdout) as Timeline[];
  };

  before(async () => {
    dns = await startDnsServer({
      '127.0.0.1': { PTR: ['client.test'] },
      'client.test': { A: ['127.0.0.1'] },
      'ext.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    });
    // The next hop defers the first attempt (451), then takes the message.
    sink = await startSmtpSink({ rcpt: () => (rcptCalls++ === 0 ? '451 4.3.0 Try again later (sink)' : undefined) });
    t = await startTestServer({
      dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }),
      config: {
        // Checks for loopback clients too; shadow mode with a Junk threshold every message reaches.
        policy: { trustedNetworks: [], srs: false, spamShadow: true, spamJunkScore: -100 },
        queue: { routes: { 'far.test': { host: '127.0.0.1', port: sink.port } } },
      },
    });
    await t.addDomain('example.test');
    await t.addUser('alice@example.test', 'pw');
    await t.addAlias('fwd@example.test', ['carol@far.test']);
    configFile = join(t.dataDir, 'postamt.toml');
    writeFileSync(configFile, `data_dir = ${JSON.stringify(t.dataDir)}\n`);
  });
  after(async () => {
    await t?.stop();
    await sink?.stop();
    await dns?.stop();
  });

  test('received, stored, queued, deferred once and delivered: every step with its data', async () => {
    const data = 'From: <x@ext.test>\r\nTo: <alice@example.test>\r\nSubject: traced\r\nDate: Mon, 1 Jan 2024 10:00:00 +0000\r\nMessage-ID: <traced.1@client.test>\r\n\r\nTrace me.\r\n';
    const reply = await sendRaw(t.ports.smtp, { from: 'x@ext.test', to: ['alice@example.test', 'fwd@example.test', 'nobody@example.test'], data, helo: 'client.test' });
    assert.equal(reply.code, 250, reply.text);
    const queueId = /queued as (\S+)/.exec(reply.text)![1]!;
    await sink.waitForMessages(1, 15_000);
    // The delivery result is recorded right after the sink's reply.
    let timeline: Timeline | undefined;
    for (let i = 0; i < 50 && !timeline?.events.some((e) => e.event === 'delivered'); i++) {
      await new Promise((r) => setTimeout(r, 100));
      [timeline] = await trace('--message-id', '<traced.1@client.test>');
    }
    assert.ok(timeline);
    assert.equal(timeline.queueId, queueId, 'the id of the 250 reply');
    assert.equal(timeline.messageId, 'traced.1@client.test');
    assert.equal(timeline.sender, 'x@ext.test');
    assert.deepEqual(timeline.events.map((e) => e.event), ['rejected', 'received', 'stored', 'queued', 'deferred', 'delivered']);
    const [rejected, received, stored, queued, deferred, delivered] = timeline.events as [Event, Event, Event, Event, Event, Event];

    assert.equal(rejected.reason, 'unknown_user');
    assert.deepEqual(rejected.recipients, ['nobody@example.test']);
    assert.equal(rejected.data.command, 'RCPT');
    assert.match(String(rejected.data.reply), /^550 5\.1\.1 <nobody@example\.test>: Recipient address rejected: User unknown$/);

    assert.equal(received.result, 'accepted');
    assert.deepEqual(received.recipients, ['alice@example.test', 'fwd@example.test']);
    assert.equal(received.data.ip, '127.0.0.1');
    assert.equal(received.data.helo, 'client.test');
    assert.equal(received.data.role, 'mx');
    assert.equal(received.data.tls, null);
    assert.equal(received.data.user, null);
    assert.deepEqual(received.data.auth, { spf: 'pass', dkim: 'none', dmarc: 'none' });
    const spam = received.data.spam as { score: number; verdict: string; shadow: boolean; rules: { test: string; score: number }[] };
    assert.equal(spam.shadow, true);
    assert.equal(spam.verdict, 'junk', 'the verdict the thresholds give, recorded');
    assert.ok(spam.rules.some((r) => r.test === 'SPF_PASS' && r.score === -0.5), JSON.stringify(spam.rules));

    // Shadow mode: filed in INBOX all the same.
    assert.deepEqual(stored.data.mailboxes, ['alice@example.test/INBOX']);
    assert.deepEqual(stored.recipients, ['alice@example.test']);
    assert.equal((await t.messages('alice@example.test', 'INBOX')).length, 1);
    assert.deepEqual(queued.recipients, ['carol@far.test']);

    assert.equal(deferred.result, 'deferred');
    assert.deepEqual(deferred.recipients, ['carol@far.test']);
    assert.equal(deferred.data.attempt, 1);
    assert.equal(deferred.data.ip, '127.0.0.1');
    assert.match(String(deferred.data.reply), /^451 4\.3\.0 Try again later \(sink\)$/);
    assert.equal(delivered.data.attempt, 2);
    assert.match(String(delivered.data.reply), /^250 /);
    assert.equal(delivered.data.ip, '127.0.0.1');
    assert.ok(Date.parse(delivered.at) >= Date.parse(deferred.at));

    // The same message by the other criteria, and as text.
    assert.deepEqual((await trace('--queue-id', queueId)).map((x) => x.queueId), [queueId]);
    assert.deepEqual((await trace('--sender', 'x@ext.test', '--result', 'deferred')).map((x) => x.queueId), [queueId]);
    assert.deepEqual((await trace('--recipient', 'carol@far.test', '--since', '1h')).map((x) => x.queueId), [queueId]);
    assert.deepEqual(await trace('--recipient', 'carol@far.test', '--until', '1h'), []);
    const text = await postamt(['--config', configFile, 'trace', '--message-id', 'traced.1@client.test'], t.dataDir);
    assert.equal(text.code, 0, text.stderr);
    assert.match(text.stdout, new RegExp(`^${queueId}  message-id <traced\\.1@client\\.test>  from <x@ext\\.test>`, 'm'));
    assert.match(text.stdout, /^ {2}\S+ {2}received\/accepted {2}role=mx {2}ip=127\.0\.0\.1 {2}helo=client\.test {2}spf=pass dkim=none dmarc=none {2}spam=-?[\d.]+ \(junk, shadow mode: .*SPF_PASS=-0\.5/m);
    assert.match(text.stdout, /^ {2}\S+ {2}deferred carol@far\.test {2}attempt=1 {2}mx=\S+ {2}ip=127\.0\.0\.1 {2}reply=451 4\.3\.0 Try again later \(sink\)$/m);
  });

  test('a refused RCPT shows why, at which command, with who asked', async () => {
    const reply = await sendRaw(t.ports.smtp, { from: 'y@ext.test', to: ['someone@elsewhere.test'], data: 'Subject: x\r\n\r\nx\r\n', helo: 'client.test' });
    assert.equal(reply.code, 554);
    const [timeline] = await trace('--recipient', 'someone@elsewhere.test');
    assert.ok(timeline);
    assert.equal(timeline.events.length, 1);
    const [e] = timeline.events as [Event];
    assert.deepEqual({ event: e.event, result: e.result, reason: e.reason, sender: e.sender, command: e.data.command, ip: e.data.ip, helo: e.data.helo }, {
      event: 'rejected', result: 'rejected', reason: 'relay_denied', sender: 'y@ext.test', command: 'RCPT', ip: '127.0.0.1', helo: 'client.test',
    });
    assert.match(String(e.data.reply), /^554 5\.7\.1 <someone@elsewhere\.test>: Relay access denied$/);
    assert.deepEqual((await trace('--result', 'rejected', '--sender', 'y@ext.test')).map((x) => x.queueId), [timeline.queueId]);
  });

  test('with trace.enabled = false nothing is recorded', async () => {
    const quiet = await startTestServer({ config: { trace: { enabled: false } } });
    try {
      await quiet.addDomain('example.test');
      await quiet.addUser('alice@example.test', 'pw');
      const reply = await sendRaw(quiet.ports.smtp, { from: 'z@ext.test', to: ['alice@example.test', 'nobody@example.test'], data: 'Subject: x\r\n\r\nx\r\n' });
      assert.equal(reply.code, 250);
      await quiet.server.services.trace.flush();
      assert.deepEqual(await quiet.server.services.store.searchTrace({}), []);
    } finally {
      await quiet.stop();
    }
  });
});
