// Crash safety of the outbound queue: the real program as a child process forwards a message
// to a slow peer; SIGKILL while the peer holds its reply to the final dot; after a restart on the same
// data dir the message is delivered. At-least-once: the peer may see the data twice, never zero times.
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { ChildServer } from '../harness/child-server.ts';
import { startDnsServer } from '../harness/dns-server.ts';
import { startSmtpSink } from '../harness/smtp-sink.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { until } from './queue-helpers.ts';

/** A peer that holds the reply to the first message's final dot (the test kills the server then); counts transfers. */
async function slowSink(): Promise<{ port: number; transfers: Buffer[]; acked: Buffer[]; firstDataSeen: Promise<void>; stop(): Promise<void> }> {
  const transfers: Buffer[] = [];
  const acked: Buffer[] = [];
  let seen!: () => void;
  const firstDataSeen = new Promise<void>((r) => (seen = r));
  const sink = await startSmtpSink({
    data: (msg) => {
      transfers.push(msg.data);
      if (transfers.length === 1) {
        seen();
        return null;
      }
      acked.push(msg.data);
      return '250 2.0.0 queued';
    },
  });
  return { port: sink.port, transfers, acked, firstDataSeen, stop: () => sink.stop() };
}

it('kill -9 during delivery: after restart the message is delivered (at least once)', { timeout: 180_000 }, async () => {
  const sink = await slowSink();
  const dns = await startDnsServer({ 'slow.test': { MX: [{ preference: 10, exchange: 'mx.slow.test' }] }, 'mx.slow.test': { A: ['127.0.0.1'] } });
  const child = await ChildServer.create({
    extraToml: `[dns]\nservers = ["${dns.server}"]\ntimeout = "1s"\n[queue]\nport_override = ${sink.port}\nretry_schedule = ["200ms"]\n`,
  });
  try {
    await child.addDomain('example.org');
    await child.addAlias('fwd@example.org', ['far@slow.test']);
    await child.start();
    const body = 'From: <someone@far.test>\r\nTo: <fwd@example.org>\r\nSubject: crash me\r\nMessage-ID: <crash@far.test>\r\n\r\nmust survive kill -9\r\n';
    const reply = await sendRaw(child.smtpPort, { from: 'someone@far.test', to: ['fwd@example.org'], data: body });
    assert.equal(reply.code, 250, reply.text);
    await sink.firstDataSeen;
    await child.kill('SIGKILL');
    assert.equal(sink.acked.length, 0);

    await child.start();
    await until('delivery after the restart', () => sink.acked.length >= 1, 15_000);
    assert.match(sink.acked[0]!.toString(), /Subject: crash me\r\n[\s\S]*must survive kill -9\r\n$/);
    // The first transfer was never acknowledged, so the retry is the one delivery the sender counted on.
    const transfers = sink.transfers.length;
    assert.ok(transfers >= 2);
    console.log(`kill -9 mid-delivery: ${transfers} transfers seen by the peer, ${sink.acked.length} acknowledged (duplicates at the peer: ${transfers - 1})`);
    await until('the queue to empty', async () => {
      const r = await child.cli(['queue', 'list', '--json']);
      return r.code === 0 && JSON.parse(r.stdout.toString()).length === 0;
    }, 10_000);
  } finally {
    await child.stop();
    await sink.stop();
    await dns.stop();
  }
});
