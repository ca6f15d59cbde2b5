// The admin UI's message trace in a real browser (Debian's chromium): a message received from a client,
// stored locally, deferred once by the next hop and then delivered, and refused for one recipient (bounced,
// with a DSN to the sender) reads as words per step (time, what, host, reply, DSN), not as JSON; the UI's
// script and style sheet come compressed (brotli, else gzip) as the browser and curl accept them.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import type { Browser, Page } from 'playwright-core';
import { curl } from '../harness/curl.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { PASS, buildUi, launchChromium, logInAdmin, newBrowserContext, skipWithoutChromium } from './webmail-harness.ts';

const ROOT = 'root@a.test';

describe('admin UI: the message trace in words', { skip: skipWithoutChromium }, () => {
  let t: TestServer;
  let sink: SmtpSinkHandle;
  let browser: Browser;
  let page: Page;
  let base: string;
  let carolTries = 0;

  before(async () => {
    buildUi();
    // The next hop defers carol once, then takes her copy; it refuses gone@ for good.
    sink = await startSmtpSink({
      rcpt: (address: string) => (address === 'gone@far.test' ? '550 5.1.1 No such user (sink)' : address === 'carol@far.test' && carolTries++ === 0 ? '451 4.3.0 Try again later (sink)' : undefined),
    });
    t = await startTestServer({ config: { auth: { maxFailuresPerIp: 1000 }, policy: { srs: false }, queue: { routes: { 'far.test': { host: '127.0.0.1', port: sink.port } } } } as never });
    await t.server.services.store.setServerAdmin(await t.addUser(ROOT, PASS), true);
    await t.addUser('alice@a.test', PASS);
    // Forwarded to the next hop: the message is queued for far.test.
    await t.addAlias('fwd@a.test', ['carol@far.test', 'gone@far.test']);
    base = `https://localhost:${t.ports.https}`;
    browser = await launchChromium();
    const context = await newBrowserContext(browser, { viewport: { width: 1400, height: 900 } });
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
    await sink?.stop();
  });

  it('serves the script and the style sheet compressed, brotli or gzip as accepted, the page itself plain', async () => {
    const js = readFileSync('dist/ui/admin/app.js', 'utf8');
    const response = await page.goto(base + '/admin/');
    assert.equal(response!.headers()['content-encoding'], undefined);
    const loaded = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/admin/ui/app.js')),
      page.waitForResponse((r) => r.url().endsWith('/admin/ui/app.css')),
      page.reload(),
    ]);
    for (const r of loaded.slice(0, 2) as Awaited<ReturnType<Page['waitForResponse']>>[]) {
      assert.equal(r.headers()['content-encoding'], 'br', r.url());
      assert.match(r.headers()['vary'] ?? '', /Accept-Encoding/);
    }
    const br = await curl(['-k', '--compressed', '-H', 'Accept-Encoding: br', `${base}/admin/ui/app.js`]);
    assert.equal(br.headers['content-encoding'], 'br');
    assert.equal(br.body, js);
    const gzip = await curl(['-k', '--compressed', '-H', 'Accept-Encoding: gzip, br;q=0', `${base}/admin/ui/app.js`]);
    assert.equal(gzip.headers['content-encoding'], 'gzip');
    assert.equal(gzip.body, js);
    const plain = await curl(['-k', `${base}/admin/ui/app.css`]);
    assert.equal(plain.headers['content-encoding'], undefined);
    assert.equal(plain.body, readFileSync('dist/ui/admin/app.css', 'utf8'));
  });

  it('shows each step of a message with its time, what happened, the host, the reply and the DSN', async () => {
    const data = 'From: <x@ext.test>\r\nTo: <alice@a.test>\r\nSubject: traced in the browser\r\nMessage-ID: <ui-trace.1@client.test>\r\n\r\nTrace me.\r\n';
    const reply = await sendRaw(t.ports.smtp, { from: 'x@ext.test', to: ['alice@a.test', 'fwd@a.test', 'nobody@a.test'], data, helo: 'client.test' });
    assert.equal(reply.code, 250, reply.text);
    const queueId = /queued as (\S+)/.exec(reply.text)![1]!;
    await sink.waitForMessages(1, 15_000);
    await t.server.services.trace.flush();

    await logInAdmin(page, base, ROOT);
    await page.getByRole('navigation').getByRole('link', { name: 'Trace' }).click();
    await page.getByLabel('Queue id').fill(queueId);
    const region = page.getByRole('region', { name: `Message ${queueId}` });
    // The delivery and the DSN are recorded right after the sink's replies: search until they are there.
    for (let i = 0; i < 50; i++) {
      await t.server.services.trace.flush();
      await page.getByRole('button', { name: 'Search' }).click();
      if (await region.getByRole('cell', { name: /^DSN sent/ }).count() > 0 && await region.getByRole('cell', { name: 'Delivered', exact: true }).count() > 0) break;
      await page.waitForTimeout(200);
    }
    const rows = await region.getByRole('row').evaluateAll((trs) => trs.map((tr) => [...tr.querySelectorAll('th, td')].map((c) => (c as unknown as { innerText: string }).innerText.trim())));
    const [head, ...body] = rows;
    assert.deepEqual(head, ['Time', 'What', 'Recipients', 'Host', 'Reply', 'DSN', 'Details']);
    const row = (what: RegExp): string[] => {
      const found = body.find((r) => what.test(r[1]!));
      assert.ok(found, `a row ${what} in ${JSON.stringify(body)}`);
      return found;
    };
    // Times to the second, never JSON anywhere.
    for (const r of body) {
      assert.match(r[0]!, /\d{1,2}:\d{2}:\d{2}/);
      assert.doesNotMatch(r.join(' '), /[{}"]/, `no JSON in ${JSON.stringify(r)}`);
    }
    const refused = row(/^Refused at RCPT \(unknown user\)$/);
    assert.equal(refused[2], 'nobody@a.test');
    assert.equal(refused[3], 'client.test [127.0.0.1]');
    assert.match(refused[4]!, /^550 5\.1\.1 <nobody@a\.test>/);
    const received = row(/^Received$/);
    assert.equal(received[3], 'client.test [127.0.0.1]');
    assert.match(received[6]!, /Listener\s+mx/);
    assert.match(received[6]!, /TLS\s+none/);
    assert.match(received[6]!, /Size\s+\d+ B/);
    assert.match(row(/^Stored$/)[6]!, /Mailboxes\s+alice@a\.test\/INBOX/);
    assert.equal(row(/^Queued$/)[2], 'carol@far.test, gone@far.test');
    const deferred = row(/^Deferred$/);
    assert.equal(deferred[2], 'carol@far.test');
    assert.equal(deferred[3], '127.0.0.1');
    assert.equal(deferred[4], '451 4.3.0 Try again later (sink)');
    assert.match(deferred[6]!, /Attempt\s+1/);
    const delivered = row(/^Delivered$/);
    assert.equal(delivered[3], '127.0.0.1');
    assert.match(delivered[4]!, /^250\b/);
    assert.match(delivered[6]!, /Attempt\s+2/);
    const bounced = row(/^Bounced$/);
    assert.equal(bounced[2], 'gone@far.test');
    assert.equal(bounced[4], '550 5.1.1 No such user (sink)');
    const dsn = row(/^DSN sent \(failed\)$/);
    assert.match(dsn[5]!, /^failed to <x@ext\.test> \(queue id \S+\)$/);
  });
});
