/**
 * Crash cases against the real program (child process): SIGTERM while clients are mid-DATA or idle
 * (graceful drain with 421, nothing unacknowledged stored, nothing acknowledged lost), and kill -9 while a
 * batch of relayed deliveries waits on a slow peer's 250 (everything delivered after restart, duplicates
 * only for the deliveries in flight).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ChildServer } from '../harness/child-server.ts';
import { startDnsServer } from '../harness/dns-server.ts';
import { startSmtpSink } from '../harness/smtp-sink.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { smtpOpen, smtpReply, SMTP_REPLY, type Conn } from './lib/conn.ts';
import { figures, scale } from './lib/figures.ts';

const fig = figures(import.meta.url);

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mail = (subject: string, body: string): string => `From: <a@outside.test>\r\nTo: <user@example.test>\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;

test('SIGTERM during transfers: 421 to every session, no unacknowledged message stored, acknowledged kept, restart accepts', { timeout: 180_000 }, async () => {
  // The long form opens 60 sessions at once and ~90 in a few seconds: above the per-IP defaults (20, 60/min).
  const child = await ChildServer.create({ extraToml: '[limits]\nconnections_per_ip = 200\n[policy]\nrate_connections_per_ip = 0\n' });
  try {
    await child.addDomain('example.test');
    await child.addUser('user@example.test', 'pw-crash-1');
    await child.start();
    const acked = scale(5, 30);
    for (let i = 0; i < acked; i++) {
      const r = await sendRaw(child.smtpPort, { from: 'a@outside.test', to: ['user@example.test'], data: mail(`acked ${i}`, 'kept') });
      assert.equal(r.code, 250, r.text);
    }
    const midData = scale(6, 40);
    const idle = scale(4, 20);
    const sessions: Array<{ kind: 'data' | 'idle'; c: Conn }> = [];
    for (let i = 0; i < midData; i++) {
      const c = await smtpOpen(child.smtpPort);
      await c.cmd('MAIL FROM:<a@outside.test>', smtpReply(250));
      await c.cmd('RCPT TO:<user@example.test>', smtpReply(250));
      await c.cmd('DATA', smtpReply(354));
      c.write(`From: <a@outside.test>\r\nSubject: partial ${i}\r\n\r\n${'half a body line\r\n'.repeat(200)}`);
      sessions.push({ kind: 'data', c });
    }
    for (let i = 0; i < idle; i++) sessions.push({ kind: 'idle', c: await smtpOpen(child.smtpPort) });
    await new Promise((r) => setTimeout(r, 200)); // the partial bodies have reached the server

    const began = Date.now();
    await child.kill('SIGTERM');
    const exitMs = Date.now() - began;
    let drained = 0;
    let closedOnly = 0;
    for (const { c } of sessions) {
      const got = await c.expect(SMTP_REPLY, 2000).catch(() => '');
      if (/(^|\n)421 4\.3\.2 /.test(got)) drained++;
      else if (await c.waitClosed(2000)) closedOnly++;
      assert.ok(!/(^|\n)250 /.test(got), `a partial message was acknowledged: ${got}`);
      c.close();
    }
    const restartMs = await child.start();
    const list = await child.messageList('user@example.test');
    const partialStored = list.filter((m) => m.subject?.startsWith('partial')).length;
    const ackedPresent = list.filter((m) => m.subject?.startsWith('acked')).length;
    const again = await sendRaw(child.smtpPort, { from: 'a@outside.test', to: ['user@example.test'], data: mail('after restart', 'ok') });
    fig.record({
      case: `SIGTERM: ${midData} mid-DATA + ${idle} idle sessions`,
      figure: `421 to ${drained}/${sessions.length} (closed only ${closedOnly}); exit ${exitMs} ms; lost acknowledged ${acked - ackedPresent}; partial stored ${partialStored}; restart ${restartMs} ms, then ${again.code}`,
      limit: 'all 421/closed, exit < 5 s grace, 0 lost, 0 partial, 250',
      pass: drained + closedOnly === sessions.length && exitMs < 5000 && ackedPresent === acked && partialStored === 0 && again.code === 250,
    });
    assert.equal(drained + closedOnly, sessions.length);
    assert.ok(drained >= 1, 'no session got 421 4.3.2');
    assert.ok(exitMs < 5000, `exit took ${exitMs} ms`);
    assert.equal(ackedPresent, acked, 'acknowledged messages lost');
    assert.equal(partialStored, 0, 'a message whose 250 was never sent was stored');
    assert.equal(again.code, 250, again.text);
  } finally {
    await child.stop();
  }
});

/** A peer that holds its 250 after the final dot while `hold` is true; counts every transfer by Subject. */
async function slowPeer(): Promise<{ port: number; transfers: string[]; acked: string[]; held: number; openConnections: number; release(): void; stop(): Promise<void> }> {
  const state = { transfers: [] as string[], acked: [] as string[], held: 0, hold: true };
  const sink = await startSmtpSink({
    data: (msg) => {
      const subject = /Subject: ([^\r\n]*)/.exec(msg.data.toString('latin1'))?.[1] ?? '?';
      state.transfers.push(subject);
      if (state.hold) {
        state.held++;
        return null; // never answered: the server is killed while waiting
      }
      state.acked.push(subject);
      return '250 2.0.0 queued';
    },
  });
  return {
    port: sink.port,
    get transfers() {
      return state.transfers;
    },
    get acked() {
      return state.acked;
    },
    get held() {
      return state.held;
    },
    get openConnections() {
      return sink.openConnections;
    },
    release: () => void (state.hold = false),
    stop: () => sink.stop(),
  };
}

test('kill -9 with relayed deliveries in flight: all acknowledged delivered after restart, duplicates only for in-flight ones', { timeout: 180_000 }, async () => {
  const peer = await slowPeer();
  const dns = await startDnsServer({ 'slow.test': { MX: [{ preference: 10, exchange: 'mx.slow.test' }] }, 'mx.slow.test': { A: ['127.0.0.1'] } });
  const child = await ChildServer.create({
    extraToml: `[dns]\nservers = ["${dns.server}"]\ntimeout = "1s"\n[queue]\nport_override = ${peer.port}\nretry_schedule = ["200ms"]\n`,
  });
  const count = scale(20, 100);
  try {
    await child.addDomain('example.org');
    await child.addAlias('fwd@example.org', ['far@slow.test']);
    await child.start();
    for (let i = 0; i < count; i++) {
      const r = await sendRaw(child.smtpPort, { from: 'someone@far.test', to: ['fwd@example.org'], data: `From: <someone@far.test>\r\nTo: <fwd@example.org>\r\nSubject: relay ${i}\r\nMessage-ID: <relay-${i}@far.test>\r\n\r\nbody ${i}\r\n` });
      assert.equal(r.code, 250, r.text);
    }
    await until('deliveries in flight', () => peer.held >= 1, 10_000);
    await new Promise((r) => setTimeout(r, 300)); // let more connections reach the final dot
    await child.kill('SIGKILL');
    // A final dot the server wrote just before it died may still be on its way: in flight are the transfers the
    // peer has once every connection of the dead server has ended (then they are counted, and only then released).
    await until('the dead server\'s connections to end', () => peer.openConnections === 0, 10_000);
    const inFlight = peer.held;
    peer.release();
    const began = Date.now();
    await child.start();
    await until('every acknowledged message delivered', () => new Set(peer.acked).size >= count, 40_000);
    const deliveredMs = Date.now() - began;
    const distinct = new Set(peer.transfers);
    const duplicates = peer.transfers.length - distinct.size;
    const missing = Array.from({ length: count }, (_, i) => `relay ${i}`).filter((s) => !distinct.has(s));
    await until('the queue to empty', async () => {
      const r = await child.cli(['queue', 'list', '--json']);
      return r.code === 0 && JSON.parse(r.stdout.toString()).length === 0;
    }, 10_000);
    fig.record({
      case: `kill -9 with ${count} relayed messages, ${inFlight} in flight`,
      figure: `lost ${missing.length}; transfers ${peer.transfers.length}, duplicates ${duplicates}; all delivered ${deliveredMs} ms after restart`,
      limit: `0 lost, duplicates <= in flight (${inFlight})`,
      pass: missing.length === 0 && duplicates <= inFlight,
    });
    assert.deepEqual(missing, []);
    assert.ok(duplicates <= inFlight, `${duplicates} duplicates but only ${inFlight} in flight`);
  } finally {
    await child.stop();
    await peer.stop();
    await dns.stop();
  }
});
