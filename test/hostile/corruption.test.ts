/**
 * Corruption at start-up: with the server stopped, one large mailbox body loses part of a chunk, one small
 * body loses its blob row, and one queued body is deleted. The server must start, name each damaged item in
 * a `store.corrupt_blob` log line, answer IMAP FETCH with NO and POP3 RETR with -ERR for the broken ones
 * (and serve the rest), and quarantine the broken queue entry while the other queued message is delivered.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import Database from 'better-sqlite3';
import { join } from 'node:path';
import { ChildServer } from '../harness/child-server.ts';
import { startDnsServer } from '../harness/dns-server.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startSmtpSink } from '../harness/smtp-sink.ts';
import { Conn } from './lib/conn.ts';
import { figures } from './lib/figures.ts';

const fig = figures(import.meta.url);
const PASSWORD = 'pw-corrupt-1';

async function until(what: string, check: () => boolean | Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const mail = (to: string, subject: string, body: string): string => `From: <a@outside.test>\r\nTo: <${to}>\r\nSubject: ${subject}\r\n\r\n${body}\r\n`;

test('truncated and missing blobs at start-up: reported, FETCH NO / RETR -ERR for them alone, broken queue entry held', { timeout: 180_000 }, async () => {
  const sink = await startSmtpSink({ rcpt: () => '451 4.3.0 not yet' });
  const dns = await startDnsServer({ 'far.test': { MX: [{ preference: 10, exchange: 'mx.far.test' }] }, 'mx.far.test': { A: ['127.0.0.1'] } });
  const child = await ChildServer.create({
    roles: ['smtp', 'imaps', 'pop3s'],
    extraToml: `[dns]\nservers = ["${dns.server}"]\ntimeout = "1s"\n[queue]\nport_override = ${sink.port}\nretry_schedule = ["200ms"]\n`,
  });
  try {
    await child.addDomain('example.test');
    await child.addUser('user@example.test', PASSWORD);
    await child.addAlias('fwd@example.test', ['out@far.test']);
    await child.start();
    const big = 'x'.repeat(76) + '\r\n';
    const bodies: Record<string, string> = {
      'good 1': 'fine',
      'big broken': big.repeat(Math.ceil((700 * 1024) / big.length)),
      'small broken': 'this blob row will be deleted',
      'good 2': 'also fine',
    };
    for (const [subject, body] of Object.entries(bodies)) {
      const r = await sendRaw(child.smtpPort, { from: 'a@outside.test', to: ['user@example.test'], data: mail('user@example.test', subject, body) });
      assert.equal(r.code, 250, r.text);
    }
    for (const subject of ['queue good', 'queue broken']) {
      const r = await sendRaw(child.smtpPort, { from: 'a@outside.test', to: ['fwd@example.test'], data: mail('fwd@example.test', subject, subject) });
      assert.equal(r.code, 250, r.text);
    }
    // Both may go over one connection (the outbound connection cache): count the transactions.
    await until('two queued deliveries deferred', () => sink.sessions.flat().filter((l) => l.startsWith('RCPT')).length >= 2, 10_000);
    const list = await child.messageList('user@example.test');
    const uidOf = (subject: string): number => list.find((m) => m.subject === subject)!.uid;
    await child.kill('SIGTERM');

    // Damage the stopped server's database directly.
    const db = new Database(join(child.dataDir, 'postamt.db'));
    const blobOf = (uid: number): number => (db.prepare("SELECT m.blob_id AS id FROM messages m JOIN mailboxes mb ON mb.id = m.mailbox_id WHERE mb.name = 'INBOX' AND m.uid = ?").get(uid) as { id: number }).id;
    const bigBlob = blobOf(uidOf('big broken'));
    const chunks = db.prepare('UPDATE blob_chunks SET data = substr(data, 1, 1000) WHERE blob_id = ? AND seq = 1').run(bigBlob).changes;
    assert.equal(chunks, 1, 'the big message is not stored in chunks');
    db.prepare('DELETE FROM blobs WHERE id = ?').run(blobOf(uidOf('small broken')));
    const queued = db.prepare('SELECT q.id AS id, q.blob_id AS blob FROM queue_messages q JOIN blobs b ON b.id = q.blob_id WHERE instr(b.data, ?) > 0');
    const brokenQueue = queued.get(Buffer.from('Subject: queue broken')) as { id: string; blob: number };
    const goodQueue = queued.get(Buffer.from('Subject: queue good')) as { id: string; blob: number };
    db.prepare('DELETE FROM blobs WHERE id = ?').run(brokenQueue.blob);
    db.close();

    sink.setOptions({ rcpt: () => '250 2.1.5 OK' });
    const mark = child.logs.length;
    const startMs = await child.start();
    await until('the integrity report', () => child.logs.slice(mark).some((l) => l.event === 'store.integrity'), 5000);
    const reported = child.logs.slice(mark).filter((l) => l.event === 'store.corrupt_blob');
    const names = reported.map((l) => (l.kind === 'queue' ? `queue ${l.queueId}` : `${l.account}/${l.mailbox}/${l.uid}`)).sort();
    assert.deepEqual(names, [`queue ${brokenQueue.id}`, `user@example.test/INBOX/${uidOf('big broken')}`, `user@example.test/INBOX/${uidOf('small broken')}`].sort());

    // IMAP: the broken ones answer NO (promptly), the others their bytes.
    const imap = await Conn.open(child.ports.imaps!, { tls: { ca: child.ca } });
    await imap.expect(/^\* OK[^\n]*\n/);
    await imap.cmd(`a LOGIN user@example.test "${PASSWORD}"`, /a OK[^\n]*\n/);
    await imap.cmd('b SELECT INBOX', /b OK[^\n]*\n/);
    const fetched: Record<string, string> = {};
    for (const subject of Object.keys(bodies)) {
      const began = Date.now();
      const r = await imap.cmd(`f UID FETCH ${uidOf(subject)} BODY.PEEK[]`, /f (OK|NO|BAD)[^\n]*\n/, 5000);
      const status = /f (OK|NO|BAD)/.exec(r)![1]!;
      fetched[subject] = `${status}${status === 'OK' && !r.includes(bodies[subject]!.slice(0, 40)) ? '(wrong bytes)' : ''} ${Date.now() - began}ms`;
    }
    await imap.cmd('z NOOP', /z OK[^\n]*\n/); // the session survived
    imap.close();
    assert.match(fetched['good 1']!, /^OK /);
    assert.match(fetched['good 2']!, /^OK /);
    assert.match(fetched['big broken']!, /^NO /);
    assert.match(fetched['small broken']!, /^NO /);

    // POP3: messages are numbered in UID order.
    const pop = await Conn.open(child.ports.pop3s!, { tls: { ca: child.ca } });
    await pop.expect(/^\+OK[^\n]*\n/);
    await pop.cmd('USER user@example.test', /\+OK[^\n]*\n/);
    await pop.cmd(`PASS ${PASSWORD}`, /\+OK[^\n]*\n/);
    const order = [...list].sort((a, b) => a.uid - b.uid).map((m) => m.subject!);
    const retr: Record<string, string> = {};
    for (let i = 0; i < order.length; i++) {
      const r = await pop.cmd(`RETR ${i + 1}`, /^(-ERR[^\n]*\n|\+OK[\s\S]*?\r\n\.\r\n)/m, 5000);
      retr[order[i]!] = r.trimStart().startsWith('+OK') ? '+OK' : '-ERR';
    }
    const retrLine = order.map((s) => retr[s]).join(',');
    await pop.cmd('NOOP', /\+OK[^\n]*\n/);
    pop.close();
    assert.deepEqual(retr, { 'good 1': '+OK', 'big broken': '-ERR', 'small broken': '-ERR', 'good 2': '+OK' });

    // Queue: the good one is delivered, the broken one held (quarantined) after its failures.
    await until('the good queued message delivered', () => sink.messages.some((m) => m.data.includes('Subject: queue good')), 15_000);
    let held = false;
    await until('the broken queue entry held', async () => {
      const r = await child.cli(['queue', 'list', '--json']);
      const items = JSON.parse(r.stdout.toString()) as Array<{ id: string; recipients?: Array<{ state: string }> }>;
      const item = items.find((i) => i.id === brokenQueue.id);
      held = !!item && JSON.stringify(item).includes('"held"');
      return held;
    }, 20_000);
    const goodGone = !JSON.parse((await child.cli(['queue', 'list', '--json'])).stdout.toString()).some((i: { id: string }) => i.id === goodQueue.id);
    const again = await sendRaw(child.smtpPort, { from: 'a@outside.test', to: ['user@example.test'], data: mail('user@example.test', 'after', 'ok') });
    fig.record({
      case: 'truncated chunk + missing blob (mailbox) + missing queue body',
      figure: `started in ${startMs} ms; reported ${reported.length}/3; FETCH ${Object.entries(fetched).map(([k, v]) => `${k}: ${v}`).join(', ')}; RETR ${retrLine}; queue broken held ${held}, good delivered ${goodGone}; new mail ${again.code}`,
      limit: '3 reported, NO/-ERR only for broken, held, 250',
      pass: reported.length === 3 && held && goodGone && again.code === 250,
    });
    assert.ok(goodGone);
    assert.equal(again.code, 250);
  } finally {
    await child.stop();
    await sink.stop();
    await dns.stop();
  }
});
