// The destination backoff of the running server (queue.destination_backoff) and the operator's way past it:
// the real program as a child process forwards mail to a destination that refuses connections (nothing
// listens on its port), so its runner marks the destination dead; a real SMTP sink then listens on that port.
// `postamt queue retry --all`, a separate process, must get the mail out at once, long before the backoff
// ends; without a retry, mail waits for the backoff the config gives, and no longer.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildServer } from '../harness/child-server.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { freePort } from '../harness/free-port.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { until } from './queue-helpers.ts';

interface QueuedRecipient {
  address: string;
  state: string;
  attempts: number;
  nextAttemptAt: string;
}

/** A server forwarding fwd@example.org to far@down.test, whose MX is 127.0.0.1:`port`. */
async function forwardingServer(dns: DnsServerHandle, port: number, backoff: string): Promise<ChildServer> {
  const child = await ChildServer.create({
    extraToml: `[dns]\nservers = ["${dns.server}"]\ntimeout = "5s"\n[queue]\nport_override = ${port}\nretry_schedule = ["10m"]\ndestination_backoff = "${backoff}"\n`,
  });
  await child.addDomain('example.org');
  await child.addAlias('fwd@example.org', ['far@down.test']);
  await child.start();
  return child;
}

async function send(child: ChildServer, subject: string): Promise<void> {
  const body = `From: <someone@far.test>\r\nTo: <fwd@example.org>\r\nSubject: ${subject}\r\n\r\nbody\r\n`;
  const reply = await sendRaw(child.smtpPort, { from: 'someone@far.test', to: ['fwd@example.org'], data: body });
  assert.equal(reply.code, 250, reply.text);
}

/** The recipient of the queued message other than the one that failed: mail that arrived after the failure. */
async function laterRecipient(child: ChildServer): Promise<QueuedRecipient | null> {
  const r = await child.cli(['queue', 'list', '--json']);
  assert.equal(r.code, 0, r.stderr);
  const recipients = (JSON.parse(r.stdout.toString()) as { recipients: QueuedRecipient[] }[]).flatMap((m) => m.recipients);
  return recipients.find((x) => x.attempts === 0 && x.state === 'queued' && Date.parse(x.nextAttemptAt) > Date.now()) ?? null;
}

interface HeldMail {
  child: ChildServer;
  sink: SmtpSinkHandle;
  /** The time of the failed attempt's log line. */
  failedAt: number;
  /** The recipient of a message sent after the failure, held by the backoff. */
  waiting: QueuedRecipient;
}

/**
 * A server with this destination backoff finds the destination dead (message "first"); a sink then listens on
 * its port, and a message "second" sent now is held by the mark. Runs `check`, then stops everything.
 */
async function withHeldMail(backoff: string, check: (held: HeldMail) => Promise<void>): Promise<void> {
  const port = await freePort();
  const dns = await startDnsServer({ 'down.test': { MX: [{ preference: 10, exchange: 'mx.down.test' }] }, 'mx.down.test': { A: ['127.0.0.1'] } });
  const child = await forwardingServer(dns, port, backoff);
  try {
    await send(child, 'first');
    const line = await until('the failed attempt', () => child.logs.find((l) => l.event === 'queue.attempt' && l.result === 'deferred'), 60_000);
    const sink = await startSmtpSink({ port });
    try {
      await send(child, 'second');
      const waiting = await until('the second message held by the backoff', () => laterRecipient(child), 60_000);
      assert.equal(sink.messages.length, 0);
      await check({ child, sink, failedAt: Date.parse(String(line.time)), waiting });
    } finally {
      await sink.stop();
    }
  } finally {
    await child.stop();
    await dns.stop();
  }
}

it('queue retry --all from another process gets mail to a dead destination out long before its backoff ends', { timeout: 240_000 }, () =>
  withHeldMail('10m', async ({ child, sink, failedAt, waiting }) => {
    // Mail that arrived after the failure waits the ten minutes without an attempt.
    assert.ok(Date.parse(waiting.nextAttemptAt) > failedAt + 5 * 60_000, `held until ${waiting.nextAttemptAt}`);
    const retried = await child.cli(['queue', 'retry', '--all']);
    assert.equal(retried.code, 0, retried.stderr);
    assert.match(retried.stdout.toString(), /^2 recipient\(s\) scheduled for delivery now/);
    // Far less than the backoff (10 min), generous for a loaded machine.
    await sink.waitForMessages(2, 120_000);
    assert.deepEqual(sink.messages.map((m) => /Subject: (\w+)/.exec(m.data.toString())![1]).sort(), ['first', 'second']);
    const lifted = child.logs.find((l) => l.event === 'queue.backoff_lifted');
    assert.ok(lifted, 'the lift is logged');
    assert.equal(lifted.destination, 'down.test');
    assert.equal(lifted.reason, 'retry requested');
  }));

it('queue.destination_backoff sets how long mail to a dead destination waits without a retry', { timeout: 240_000 }, () =>
  withHeldMail('20s', async ({ sink, failedAt, waiting }) => {
    // The mark was set just before the failure's log line: it ends 20 s after it, not at the default 60 s.
    const heldFor = Date.parse(waiting.nextAttemptAt) - failedAt;
    assert.ok(heldFor > 10_000 && heldFor <= 20_000, `held ${heldFor} ms after the failure`);
    // No retry: it goes when the backoff ends (the first message waits for its own retry, 10 min).
    const [second] = await sink.waitForMessages(1, 120_000);
    assert.match(second!.data.toString(), /Subject: second/);
  }));
