/**
 * A message an administrator bounces shows it in the message trace, as the queue's own bounces do: each
 * recipient bounced by which admin, and the DSN sent to the sender (which arrives); one they delete shows who
 * deleted it. Through the admin HTTP API (with curl, as the admin UI does) and with `postamt queue bounce`;
 * read with the real `postamt trace`.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import nodemailer from 'nodemailer';
import { curl, type CurlResult } from '../harness/curl.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';

const BIN = join(resolve(dirname(fileURLToPath(import.meta.url)), '../..'), 'bin/postamt.js');
const PASS = 'correct horse battery staple';
const ROOT = 'root@a.test';
const USER = 'user@a.test';

interface Timeline { queueId: string; events: { event: string; result: string; reason: string | null; recipients: string[]; data: Record<string, unknown> }[] }

function postamt(args: string[], cwd: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((done) => {
    const child = spawn(process.execPath, [BIN, ...args], { cwd, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => { stdout += c.toString(); });
    child.stderr.on('data', (c: Buffer) => { stderr += c.toString(); });
    child.on('close', (code) => done({ code, stdout, stderr }));
  });
}

describe('an admin bounce in the message trace', () => {
  let t: TestServer;
  let sink: SmtpSinkHandle;
  let configFile: string;
  let jarDir: string;
  let token = '';

  const api = (method: string, path: string, body?: unknown): Promise<CurlResult> => {
    const args = ['-k', '-X', method, `https://localhost:${t.ports.https}/admin/api${path}`, '-H', `Authorization: Bearer ${token}`];
    if (body !== undefined) args.push('-H', 'Content-Type: application/json', '--data-binary', JSON.stringify(body));
    return curl(args);
  };
  const cli = async (...args: string[]) => {
    const r = await postamt(['--config', configFile, ...args], t.dataDir);
    assert.equal(r.code, 0, r.stderr);
    return r.stdout;
  };

  /** Sends a message from USER to a recipient the sink keeps deferring; resolves with its queue id once deferred. */
  async function deferredMessage(to: string, subject: string): Promise<string> {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.submission, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS } });
    const info = await transport.sendMail({ from: USER, to, subject, text: 'will not arrive' });
    transport.close();
    const queueId = /queued as (\S+)/.exec(info.response)![1]!;
    for (let i = 0; i < 100; i++) {
      await t.server.services.trace.flush();
      const [tl] = JSON.parse(await cli('trace', '--json', '--queue-id', queueId)) as Timeline[];
      if (tl?.events.some((e) => e.event === 'deferred')) return queueId;
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new Error(`${queueId} was never deferred`);
  }

  before(async () => {
    sink = await startSmtpSink({ rcpt: () => '451 4.3.0 Try again later (sink)' });
    t = await startTestServer({
      config: {
        auth: { maxFailuresPerIp: 1000, maxFailuresPerAccount: 1000 },
        // Deferred for longer than the test runs after the first attempt.
        queue: { routes: { 'far.test': { host: '127.0.0.1', port: sink.port } }, retrySchedule: [600_000] },
      } as never,
    });
    await t.addDomain('a.test');
    await t.server.services.store.setServerAdmin(await t.addUser(ROOT, PASS), true);
    await t.addUser(USER, PASS);
    configFile = join(t.dataDir, 'postamt.toml');
    writeFileSync(configFile, `data_dir = ${JSON.stringify(t.dataDir)}\n`);
    jarDir = mkdtempSync(join(tmpdir(), 'postamt-bounce-jar-'));
    const jar = join(jarDir, 'root.jar');
    const base = `https://localhost:${t.ports.https}/admin/api`;
    const login = await curl(['-k', '-X', 'POST', `${base}/login`, '-c', jar, '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ address: ROOT, password: PASS })]);
    assert.equal(login.status, 200, login.body);
    const made = await curl(['-k', '-X', 'POST', `${base}/tokens`, '-b', jar, '-H', `X-CSRF-Token: ${login.json().csrfToken}`, '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ label: 'bounce test', expiresInDays: 1 })]);
    assert.equal(made.status, 201, made.body);
    token = made.json().token as string;
  });
  after(async () => {
    await t?.stop();
    await sink?.stop();
    if (jarDir) rmSync(jarDir, { recursive: true, force: true });
  });

  test('bounced through the admin API: "bounced by admin" with who, then "DSN sent", and the DSN arrives', async () => {
    const queueId = await deferredMessage('carol@far.test', 'Bounce me');
    const bounced = await api('POST', `/queue/${queueId}/bounce`, { reason: 'given up by the admin' });
    assert.equal(bounced.status, 200, bounced.body);
    assert.equal(bounced.json().bounced, 1);
    const dsnQueueId = bounced.json().dsnQueueId as string;
    assert.ok(dsnQueueId);

    const text = await cli('trace', '--queue-id', queueId);
    assert.match(text, new RegExp(`^ {2}\\S+ {2}bounced by admin ${ROOT} carol@far\\.test {2}reply=5\\.0\\.0 given up by the admin$`, 'm'), text);
    assert.match(text, new RegExp(`^ {2}\\S+ {2}DSN sent \\(failed\\) carol@far\\.test {2}action=failed {2}to=${USER} {2}dsn=${dsnQueueId}$`, 'm'), text);
    const [timeline] = JSON.parse(await cli('trace', '--json', '--queue-id', queueId)) as Timeline[];
    assert.deepEqual(timeline!.events.map((e) => e.event), ['received', 'queued', 'deferred', 'bounced', 'dsn'], 'after the attempts, in order');
    const bounce = timeline!.events[3]!;
    assert.deepEqual({ result: bounce.result, reason: bounce.reason, by: bounce.data.by, recipients: bounce.recipients }, { result: 'bounced', reason: 'admin', by: ROOT, recipients: ['carol@far.test'] });
    assert.deepEqual(timeline!.events[4]!.data, { dsnQueueId, to: USER, action: 'failed' });

    // The notice itself reaches the sender.
    const [dsn] = await t.waitForMessages(USER, 1, { timeoutMs: 15_000 });
    assert.ok(dsn);
    assert.match((await t.read(USER, dsn.uid)).toString('latin1'), /given up by the admin/);
    assert.equal((await api('GET', `/queue/${queueId}`)).status, 404, 'and the message is gone from the queue');
  });

  test('deleted through the admin API: "deleted by admin" with who, and no DSN', async () => {
    const queueId = await deferredMessage('erin@far.test', 'Delete me');
    assert.equal((await api('DELETE', `/queue/${queueId}`)).json().deleted, 1);
    const text = await cli('trace', '--queue-id', queueId);
    assert.match(text, new RegExp(`^ {2}\\S+ {2}deleted by admin ${ROOT} erin@far\\.test$`, 'm'), text);
    const [timeline] = JSON.parse(await cli('trace', '--json', '--queue-id', queueId)) as Timeline[];
    assert.deepEqual(timeline!.events.map((e) => e.event), ['received', 'queued', 'deferred', 'deleted']);
  });

  test('bounced with `postamt queue bounce`: by the local operator', async () => {
    const queueId = await deferredMessage('dave@far.test', 'Bounce me too');
    assert.match(await cli('queue', 'bounce', queueId, '--reason', 'cli bounce'), /^bounced 1 recipient\(s\) of \S+; notice queued as \S+/);
    const text = await cli('trace', '--queue-id', queueId);
    assert.match(text, /^ {2}\S+ {2}bounced by admin the local operator dave@far\.test {2}reply=5\.0\.0 cli bounce$/m, text);
    assert.match(text, /^ {2}\S+ {2}DSN sent \(failed\) dave@far\.test {2}action=failed {2}to=user@a\.test {2}dsn=\S+$/m, text);
  });
});
