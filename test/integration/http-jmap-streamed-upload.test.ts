// A 50 MB JMAP upload with curl is streamed into storage (the server's live memory grows by a small part of
// it), downloads back byte for byte (SHA-256), and an upload cut off by the client or by maxSizeUpload
// leaves nothing stored; on SQLite and on PostgreSQL.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { caFile, curl } from '../harness/curl.ts';
import { postgresUnavailable } from '../harness/postgres.ts';
import { startPostgresNodes, type PostgresNodes } from '../harness/postgres-nodes.ts';

const ALICE = 'alice@example.test';
const PASS = 'correct horse battery staple';
const UPLOAD_BYTES = 50 * 1024 * 1024;
const LIMIT = 60 * 1000 * 1000;
/**
 * Live memory a transfer of UPLOAD_BYTES may add at its peak. Holding the transfer whole adds at least all
 * of it; streaming adds a few chunks (5-12 MiB alone), plus socket and driver buffers that fill up when the
 * machine is loaded and the client reads slowly (28 MiB seen on PostgreSQL beside the whole suite).
 */
const HELD_MAX = 36 * 1024 * 1024;

// A full collection before each sample, so what is measured is memory still held, not garbage not yet collected.
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const live = (): number => {
  gc();
  const m = process.memoryUsage();
  return m.heapUsed + m.arrayBuffers;
};

/** The largest growth of live memory over `baseline` while `work` runs, sampled every 50 ms. */
async function peakGrowth<T>(work: Promise<T>): Promise<{ value: T; growth: number }> {
  const baseline = live();
  let peak = 0;
  let running = true;
  const sampler = (async () => {
    while (running) {
      peak = Math.max(peak, live() - baseline);
      await new Promise((r) => setTimeout(r, 50));
    }
  })();
  try {
    return { value: await work, growth: peak };
  } finally {
    running = false;
    await sampler;
  }
}

function run(cmd: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => execFile(cmd, args, { maxBuffer: 1024 * 1024 }, (err, stdout, stderr) => (err ? reject(new Error(`${cmd}: ${stderr || err.message}`)) : resolve(stdout))));
}

function suite(backend: 'sqlite' | 'postgres'): void {
  const unavailable = backend === 'postgres' ? postgresUnavailable() : false;
  describe(`streamed JMAP uploads (${backend})`, { skip: unavailable || undefined }, () => {
    let t: TestServer;
    let pg: PostgresNodes | undefined;
    let ca: { path: string; remove(): void };
    let dir: string;
    let file: string;
    let sha: string;
    let base: string;
    let account: string;
    const as = () => ['--cacert', ca.path, '-u', `${ALICE}:${PASS}`];
    let uploadsDone = 0;

    before(async () => {
      // The search indexer parses each new message in the background (its memory is its own concern): off,
      // so what is measured here is the transfer paths alone.
      const config = { http: { maxUploadSize: LIMIT }, search: { index: false } } as any;
      if (backend === 'postgres') {
        pg = await startPostgresNodes(1, config, { startQueue: false });
        t = pg.nodes[0]!;
      } else {
        t = await startTestServer({ startQueue: false, config });
      }
      await t.addUser(ALICE, PASS);
      ca = caFile(t.ca);
      base = `https://localhost:${t.ports.https}`;
      account = Object.keys((await curl([...as(), `${base}/jmap/session`])).json().accounts)[0]!;
      dir = mkdtempSync(join(tmpdir(), 'postamt-upload-'));
      file = join(dir, 'big.bin');
      const data = randomBytes(UPLOAD_BYTES);
      writeFileSync(file, data);
      sha = createHash('sha256').update(data).digest('hex');
    });
    after(async () => {
      if (pg) await pg.stop();
      else await t?.stop();
      ca?.remove();
      if (dir) rmSync(dir, { recursive: true, force: true });
    });

    it('stores a 50 MB upload while holding only a small part of it in memory, and downloads the same bytes', { timeout: 180_000 }, async (ctx) => {
      const up = await peakGrowth(curl([...as(), '-H', 'Content-Type: application/octet-stream', '--data-binary', `@${file}`, `${base}/jmap/upload/${account}/`], { timeoutMs: 150_000 }));
      assert.equal(up.value.status, 201, up.value.body);
      uploadsDone++;
      const blob = up.value.json();
      assert.equal(blob.size, UPLOAD_BYTES);
      assert.equal(blob.type, 'application/octet-stream');
      ctx.diagnostic(`${backend}: live memory growth during a ${UPLOAD_BYTES} byte upload: ${up.growth} bytes`);
      assert.ok(up.growth < HELD_MAX, `memory grew by ${up.growth} bytes during a ${UPLOAD_BYTES} byte upload`);

      const out = join(dir, 'back.bin');
      const down = await peakGrowth(run('curl', ['-sS', '--fail', ...as(), '-o', out, `${base}/jmap/download/${account}/${blob.blobId}/big.bin?type=application/octet-stream`]));
      ctx.diagnostic(`${backend}: live memory growth during its download: ${down.growth} bytes`);
      const back = (await run('sha256sum', [out])).split(' ')[0];
      assert.equal(back, sha, 'the download is the upload, byte for byte');
      assert.ok(down.growth < HELD_MAX, `memory grew by ${down.growth} bytes during the download`);
    });

    it('imports a 50 MB uploaded message with Email/import without holding it whole, and serves it back as the same bytes', { timeout: 180_000 }, async (ctx) => {
      const message = join(dir, 'big.eml');
      const lines = randomBytes(Math.floor(UPLOAD_BYTES * 0.74)).toString('base64').replace(/.{76}/g, '$&\r\n');
      const bytes = Buffer.from(`From: Bob <bob@example.test>\r\nTo: ${ALICE}\r\nSubject: a big one\r\nMessage-ID: <big1@example.test>\r\nMIME-Version: 1.0\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\n${lines}\r\n`);
      writeFileSync(message, bytes);
      const messageSha = createHash('sha256').update(bytes).digest('hex');
      const up = await curl([...as(), '-H', 'Content-Type: message/rfc822', '--data-binary', `@${message}`, `${base}/jmap/upload/${account}/`], { timeoutMs: 150_000 });
      assert.equal(up.status, 201, up.body);
      uploadsDone++;
      const api = (methodCalls: unknown[]) => curl([...as(), '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls }), `${base}/jmap/api`], { timeoutMs: 150_000 });
      const boxes = (await api([['Mailbox/get', { accountId: account, ids: null, properties: ['role'] }, 'm']])).json().methodResponses[0][1].list;
      const inbox = boxes.find((m: any) => m.role === 'inbox').id;
      const imported = await peakGrowth(api([['Email/import', { accountId: account, emails: { k: { blobId: up.json().blobId, mailboxIds: { [inbox]: true } } } }, 'i']]));
      const [name, result] = imported.value.json().methodResponses[0];
      assert.equal(name, 'Email/import', JSON.stringify(result));
      const email = result.created.k;
      assert.equal(email.size, bytes.length);
      ctx.diagnostic(`${backend}: live memory growth during Email/import of a ${bytes.length} byte upload: ${imported.growth} bytes`);
      const out = join(dir, 'back.eml');
      const down = await peakGrowth(run('curl', ['-sS', '--fail', ...as(), '-o', out, `${base}/jmap/download/${account}/${email.blobId}/big.eml?type=message/rfc822`]));
      ctx.diagnostic(`${backend}: live memory growth during the download of the message blob: ${down.growth} bytes`);
      assert.equal((await run('sha256sum', [out])).split(' ')[0], messageSha, 'the message blob is the upload, byte for byte');
      assert.ok(down.growth < HELD_MAX, `memory grew by ${down.growth} bytes during the download`);
      assert.ok(imported.growth < HELD_MAX, `memory grew by ${imported.growth} bytes during the import`);
    });

    it('answers an upload over maxSizeUpload with the RFC 8620 limit problem, declared or found while streaming, and stores nothing', { timeout: 120_000 }, async () => {
      const over = join(dir, 'over.bin');
      writeFileSync(over, Buffer.alloc(LIMIT + 1, 0x61));
      for (const extra of [[], ['-H', 'Transfer-Encoding: chunked']]) {
        const r = await curl([...as(), '-H', 'Content-Type: application/octet-stream', ...extra, '--data-binary', `@${over}`, `${base}/jmap/upload/${account}/`], { timeoutMs: 100_000 });
        assert.equal(r.status, 413, r.body);
        assert.match(r.headers['content-type']!, /^application\/problem\+json/);
        const problem = r.json();
        assert.equal(problem.type, 'urn:ietf:params:jmap:error:limit');
        assert.equal(problem.limit, 'maxSizeUpload');
        assert.equal(problem.status, 413);
      }
      rmSync(over);
    });

    it('keeps nothing of an upload the client abandons half way', { timeout: 180_000 }, async () => {
      const logged = t.logs.length;
      await new Promise<void>((resolve) => {
        const req = request(`${base}/jmap/upload/${account}/`, {
          method: 'POST',
          ca: t.ca,
          auth: `${ALICE}:${PASS}`,
          headers: { 'Content-Type': 'application/octet-stream', 'Content-Length': String(UPLOAD_BYTES) },
        });
        req.on('error', () => resolve());
        req.on('response', () => resolve());
        let sent = 0;
        const source = createReadStream(file, { highWaterMark: 256 * 1024 });
        source.on('data', (chunk) => {
          sent += chunk.length;
          if (!req.write(chunk)) source.pause();
          // Well past the first chunks written to storage, then the connection is cut.
          if (sent >= 5 * 1024 * 1024) {
            source.destroy();
            setTimeout(() => req.destroy(), 300);
          }
        });
        req.on('drain', () => source.resume());
      });
      const deadline = Date.now() + 10_000;
      while (!t.logs.slice(logged).some((l) => l.event === 'http.request' && String(l.path).startsWith('/jmap/upload/')) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      const line = t.logs.slice(logged).find((l) => l.event === 'http.request' && String(l.path).startsWith('/jmap/upload/'));
      assert.ok(line, 'the abandoned upload is logged');
      assert.equal(line.reason, 'aborted');
      // Every upload row, complete or not, expires by then: only the one complete upload is there to sweep.
      const far = new Date(Date.now() + 400 * 24 * 3600_000);
      assert.equal(await t.server.services.store.removeExpiredUploads(far), uploadsDone, 'no half-stored upload is left');
    });
  });
}

suite('sqlite');
suite('postgres');
