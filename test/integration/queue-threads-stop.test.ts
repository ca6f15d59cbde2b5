/**
 * The real server with a delivery thread: after it tried a queue entry whose body is missing (the attempt
 * fails on the thread after the connection to the peer was opened), SIGTERM still ends the process, while the
 * peer keeps every session it was given open.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ChildServer } from '../harness/child-server.ts';
import { startDnsServer } from '../harness/dns-server.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startSmtpSink } from '../harness/smtp-sink.ts';

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

/** SIGTERM; false when the process is still there after `ms` (it is then killed, so the suite goes on). */
async function terminates(child: ChildServer, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const gone = await Promise.race([child.kill('SIGTERM').then(() => true), new Promise<false>((r) => (timer = setTimeout(() => r(false), ms)))]);
  clearTimeout(timer);
  if (!gone) await child.kill('SIGKILL');
  return gone;
}

test('with a delivery thread, a server that tried a queue entry whose body is missing exits on SIGTERM', { timeout: 240_000 }, async () => {
  const sink = await startSmtpSink({ rcpt: () => '451 4.3.0 not yet' });
  const dns = await startDnsServer({ 'far.test': { MX: [{ preference: 10, exchange: 'mx.far.test' }] }, 'mx.far.test': { A: ['127.0.0.1'] } });
  const child = await ChildServer.create({
    extraToml: `[dns]\nservers = ["${dns.server}"]\ntimeout = "1s"\n[queue]\nport_override = ${sink.port}\nretry_schedule = ["200ms"]\ndelivery_threads = 1\n`,
  });
  try {
    await child.addDomain('example.test');
    await child.addAlias('fwd@example.test', ['out@far.test']);
    await child.start();
    const r = await sendRaw(child.smtpPort, { from: 'a@outside.test', to: ['fwd@example.test'], data: 'Subject: lost body\r\n\r\nbody\r\n' });
    assert.equal(r.code, 250, r.text);
    await until('the first attempt deferred by the peer', () => sink.sessions.flat().some((l) => l.startsWith('RCPT')), 60_000);
    assert.ok(await terminates(child, 30_000), 'the server exits on SIGTERM before any damage');

    const db = new Database(join(child.dataDir, 'postamt.db'));
    const queued = db.prepare('SELECT id, blob_id AS blob FROM queue_messages').get() as { id: string; blob: number };
    db.prepare('DELETE FROM blobs WHERE id = ?').run(queued.blob);
    db.close();

    const sessions = sink.sessions.length;
    const mark = child.logs.length;
    await child.start();
    // Internal errors until the entry is quarantined: the first try waits for the thread to load, then all run on it.
    await until('the entry quarantined', () => child.logs.slice(mark).some((l) => l.event === 'queue.quarantined' && l.queueId === queued.id), 60_000);
    assert.ok(sink.sessions.length > sessions, 'the attempts connected to the peer');
    assert.ok(await terminates(child, 30_000), 'the server exits on SIGTERM after trying the entry with the missing body');
  } finally {
    await child.stop();
    await sink.stop();
    await dns.stop();
  }
});
