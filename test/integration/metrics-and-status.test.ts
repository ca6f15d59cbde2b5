/**
 * /metrics scraped by a real HTTP client after mail went in by SMTP and was read by IMAP: the counters
 * moved; a client that is not on loopback (through a trusted proxy) and a scraper without the token are
 * refused. `postamt status` (the real program) prints what /healthz and /readyz say and exits 1 when the
 * server is not ready.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { startTestServer, type TestServer } from '../harness/server.ts';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const BIN = join(ROOT, 'bin/postamt.js');

/** The value of one sample (`name{labels}`) in a Prometheus text exposition; NaN when absent. */
function sample(text: string, name: string, labels = ''): number {
  const key = labels ? `${name}{${labels}}` : name;
  const line = text.split('\n').find((l) => l.startsWith(`${key} `));
  return line ? Number(line.slice(key.length + 1)) : NaN;
}

async function scrape(t: TestServer, headers: Record<string, string> = {}): Promise<{ status: number; text: string; type: string | null }> {
  const res = await fetch(`http://127.0.0.1:${t.ports.http}/metrics`, { headers });
  return { status: res.status, text: await res.text(), type: res.headers.get('content-type') };
}

function postamt(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  // Asynchronous: the server under test runs in this process and must keep answering meanwhile.
  return new Promise((resolveRun) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => resolveRun({ code, stdout, stderr }));
  });
}

describe('metrics and status', () => {
  let t: TestServer;
  let configFile: string;

  before(async () => {
    // 127.0.0.1 is a trusted proxy here, so a request can say it comes from a client elsewhere.
    t = await startTestServer({ config: { http: { trustedProxies: ['127.0.0.1'] } } });
    await t.addDomain('example.test');
    await t.addUser('alice@example.test', 'alice password 1');
    configFile = join(t.dataDir, 'postamt.toml');
    writeFileSync(configFile, `data_dir = ${JSON.stringify(t.dataDir)}\n`);
  });
  after(async () => {
    await t?.stop();
  });

  test('the counters move after mail is sent by SMTP and read by IMAP', async () => {
    const before = await scrape(t);
    assert.equal(before.status, 200);
    assert.match(before.type ?? '', /^text\/plain; version=0\.0\.4/);
    assert.equal(sample(before.text, 'postamt_messages_total', 'outcome="accepted"'), 0);

    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true });
    await transport.sendMail({ from: 'bob@example.net', to: 'alice@example.test', subject: 'counted', text: 'one message', messageId: '<counted@example.net>' });
    transport.close();
    await t.waitForMessages('alice@example.test', 1);

    const wrong = new ImapFlow({ host: '127.0.0.1', port: t.ports.imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@example.test', pass: 'not the password' }, logger: false });
    await assert.rejects(wrong.connect());
    wrong.close();
    await new Promise((r) => setTimeout(r, 100)); // the server sees that connection end
    const imap = new ImapFlow({ host: '127.0.0.1', port: t.ports.imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user: 'alice@example.test', pass: 'alice password 1' }, logger: false });
    await imap.connect();
    try {
      const lock = await imap.getMailboxLock('INBOX');
      try {
        const message = await imap.fetchOne('1', { envelope: true });
        assert.equal(message && message.envelope?.subject, 'counted');
        assert.equal(await imap.messageFlagsAdd('1', ['\\Flagged']), true);
      } finally {
        lock.release();
      }
      const { text } = await scrape(t);
      assert.equal(sample(text, 'postamt_messages_total', 'outcome="accepted"'), 1);
      assert.equal(sample(text, 'postamt_smtp_transactions_total', 'role="mx",result="accepted"'), 1);
      assert.ok(sample(text, 'postamt_connections_total', 'listener="smtp"') >= 1);
      assert.ok(sample(text, 'postamt_connections_total', 'listener="imaps"') >= 2);
      assert.equal(sample(text, 'postamt_sessions_open', 'protocol="imap"'), 1, 'the open IMAP session');
      assert.ok(sample(text, 'postamt_connections_open', 'listener="http"') >= 1, 'this scrape\'s own connection');
      assert.equal(sample(text, 'postamt_auth_failures_total', 'protocol="imap"'), 1);
      assert.equal(sample(text, 'postamt_store_commit_seconds_count'), 1);
      assert.ok(sample(text, 'postamt_store_wal_bytes') > 0);
      assert.equal(sample(text, 'postamt_queue_messages'), 0);
      assert.equal(sample(text, 'postamt_queue_oldest_age_seconds'), 0);
      assert.match(text, /^# TYPE postamt_delivery_latency_seconds histogram$/m);
      // Each IMAP command's time, by command name: the flag change is counted once, within the last bucket.
      const stores = [...text.matchAll(/^postamt_imap_command_seconds_count\{command="((?:UID )?STORE)"\} (\d+)$/gm)];
      assert.equal(stores.length, 1, 'one STORE series');
      assert.equal(Number(stores[0]![2]), 1);
      assert.equal(sample(text, 'postamt_imap_command_seconds_bucket', `le="10",command="${stores[0]![1]}"`), 1);
      assert.ok(sample(text, 'postamt_imap_command_seconds_count', 'command="SELECT"') >= 1 || sample(text, 'postamt_imap_command_seconds_count', 'command="EXAMINE"') >= 1);
    } finally {
      await imap.logout();
    }
  });

  test('a client that is not on loopback is refused', async () => {
    const far = await scrape(t, { 'X-Forwarded-For': '203.0.113.9' });
    assert.equal(far.status, 403);
    assert.doesNotMatch(far.text, /postamt_/);
    const line = t.logs.find((l) => l.event === 'http.request' && l.path === '/metrics' && l.status === 403);
    assert.equal(line?.reason, 'metrics-not-loopback');
    assert.equal(line?.ip, '203.0.113.9');
  });

  test('postamt status prints readiness, queue, certificate and store, and exits 0 when ready', async () => {
    const r = await postamt(['--config', configFile, 'status', '--url', `http://127.0.0.1:${t.ports.http}`], t.dataDir);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /^server +http:\/\/127\.0\.0\.1:\d+ +healthy$/m);
    assert.match(r.stdout, /^ready +yes +\(store writable: yes, listeners up: yes\)$/m);
    assert.match(r.stdout, /^queue +0 message\(s\), 0 recipient\(s\) pending$/m);
    assert.match(r.stdout, /^certificate +.*CN=mx\.postamt\.test.*, expires \d{4}-\d\d-\d\dT.*\(\d+ days left\)$/m);
    assert.match(r.stdout, /^store +sqlite, database /m);
    const json = await postamt(['--config', configFile, 'status', '--url', `http://127.0.0.1:${t.ports.http}`, '--json'], t.dataDir);
    const body = JSON.parse(json.stdout) as { ready: boolean; checks: Record<string, boolean>; queue: { messages: number }; listeners: Record<string, number> };
    assert.equal(body.ready, true);
    assert.deepEqual(body.checks, { store: true, listeners: true });
    assert.equal(body.listeners.smtp, t.ports.smtp);
  });

  test('postamt status exits 1 when the store takes no writes, and says why', async () => {
    const store = t.server.services.store as unknown as { commits: { faultInjector: ((stage: string) => void) | null } };
    store.commits.faultInjector = (stage) => {
      if (stage === 'commit') throw new Error('disk full (injected)');
    };
    try {
      const r = await postamt(['--config', configFile, 'status', '--url', `http://127.0.0.1:${t.ports.http}`], t.dataDir);
      assert.equal(r.code, 1);
      assert.match(r.stdout, /^ready +NO +\(store writable: NO, listeners up: yes\)$/m);
      assert.match(r.stderr, /^postamt: the server at http:\/\/127\.0\.0\.1:\d+ is not ready\n$/);
    } finally {
      store.commits.faultInjector = null;
    }
  });

  test('postamt status exits 1 when nothing answers', async () => {
    const r = await postamt(['--config', configFile, 'status', '--url', 'http://127.0.0.1:1'], t.dataDir);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /^postamt: the server at http:\/\/127\.0\.0\.1:1 does not answer: /);
  });
});

describe('metrics behind a token', () => {
  let t: TestServer;
  before(async () => {
    t = await startTestServer({ config: { metrics: { token: 'scrape-secret-1' } } });
  });
  after(async () => {
    await t?.stop();
  });

  test('a scrape without the token, or with a wrong one, is refused with 401; the right one is served', async () => {
    const none = await scrape(t);
    assert.equal(none.status, 401);
    assert.doesNotMatch(none.text, /postamt_/);
    assert.equal((await scrape(t, { Authorization: 'Bearer wrong-secret' })).status, 401);
    const ok = await scrape(t, { Authorization: 'Bearer scrape-secret-1' });
    assert.equal(ok.status, 200);
    assert.match(ok.text, /^postamt_messages_total\{outcome="accepted"\} 0$/m);
    // /readyz keeps its details for the same operators.
    const ready = await (await fetch(`http://127.0.0.1:${t.ports.http}/readyz`)).json() as Record<string, unknown>;
    assert.equal(ready.queue, undefined);
    const detailed = await (await fetch(`http://127.0.0.1:${t.ports.http}/readyz`, { headers: { Authorization: 'Bearer scrape-secret-1' } })).json() as Record<string, unknown>;
    assert.ok(detailed.queue);
  });
});
