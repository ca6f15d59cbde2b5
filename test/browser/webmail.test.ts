// The webmail in a real browser (Debian's chromium driven by playwright-core) against a whole server on
// loopback: login with the cookie flags, wrong passwords limited, mail sent by SMTP appearing in the open list
// without reload, hostile HTML shown with no script run and no remote load, compose and send read back by
// bob's IMAP client, CSRF refused, and logout ending the session.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { ImapFlow } from 'imapflow';
import { chromium, type Browser, type BrowserContext, type Page, type Request } from 'playwright-core';
import { startTestServer, type TestServer } from '../harness/server.ts';

const CHROMIUM = '/usr/bin/chromium';
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CAROL = 'carol@example.test';
const PASS = 'correct horse battery staple';

describe('webmail in the browser', { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed` }, () => {
  let t: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;
  let trap: http.Server;
  let trapUrl: string;
  const trapped: string[] = [];

  const smtpSend = async (mail: nodemailer.SendMailOptions): Promise<void> => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
    await transport.sendMail({ from: 'outside@elsewhere.test', to: ALICE, ...mail });
    transport.close();
  };
  const logIn = async (p: Page, address: string, password: string): Promise<void> => {
    await p.goto(base + '/');
    await p.getByLabel('Address').fill(address);
    await p.getByLabel('Password').fill(password);
    await p.getByRole('button', { name: 'Log in' }).click();
  };

  before(async () => {
    const built = spawnSync(process.execPath, ['scripts/build-ui.mjs'], { encoding: 'utf8' });
    assert.equal(built.status, 0, built.stderr);
    // The loopback server that must never be asked: any request to it is a remote load or a script that ran.
    trap = http.createServer((req, res) => {
      trapped.push(req.url ?? '');
      res.end('x');
    });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    t = await startTestServer({ config: { auth: { maxFailuresPerAccount: 3 } } as never });
    await t.addUser(ALICE, PASS);
    await t.addUser(BOB, PASS);
    await t.addUser(CAROL, PASS);
    base = `https://localhost:${t.ports.https}`;
    browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
    context = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US' });
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
    trap?.close();
  });

  it('serves the app under a strict CSP', async () => {
    const r = await page.goto(base + '/');
    const csp = r!.headers()['content-security-policy']!;
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    // The bundle goes compressed (brotli here) and stays under the first-load budget of 150 KB.
    const js = await page.request.get(base + '/ui/app.js', { headers: { 'Accept-Encoding': 'br' } });
    assert.equal(js.headers()['content-encoding'], 'br');
    assert.ok(Number(js.headers()['content-length']) < 150 * 1024, js.headers()['content-length']);
  });

  it('refuses a wrong password, counts it in the shared limiter, and then refuses even the right one', async () => {
    for (let i = 0; i < 3; i++) {
      await logIn(page, CAROL, 'wrong password');
      await page.getByRole('alert').filter({ hasText: 'Wrong address or password.' }).waitFor();
    }
    assert.ok(t.logs.filter((l) => l.event === 'auth.failed' && l.protocol === 'http').length >= 3);
    await logIn(page, CAROL, PASS);
    await page.getByRole('alert').filter({ hasText: 'Too many failed logins' }).waitFor();
    assert.equal((await context.cookies()).find((c) => c.name === 'postamt_session'), undefined);
  });

  it('logs in with an HttpOnly, Secure, SameSite=Strict session cookie and shows the folders', async () => {
    await smtpSend({ subject: 'Before login', text: 'hello' });
    await t.waitForMessages(ALICE, 1);
    await logIn(page, ALICE, PASS);
    await page.getByRole('button', { name: /Before login/ }).waitFor();
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'postamt_session')!;
    assert.equal(session.httpOnly, true);
    assert.equal(session.secure, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(session.path, '/');
    const csrf = cookies.find((c) => c.name === 'postamt_csrf')!;
    assert.equal(csrf.httpOnly, false);
    assert.equal(csrf.sameSite, 'Strict');
    // The inbox with its unread count.
    await page.locator('nav .mailbox.current .count').filter({ hasText: '1' }).waitFor();
  });

  it('shows a message sent by SMTP in the open list without reload', async () => {
    const loads: string[] = [];
    page.on('load', () => loads.push('load'));
    // The methods of each JMAP request the page sends from here on, in order.
    const api: string[][] = [];
    const onRequest = (req: Request): void => {
      if (req.method() === 'POST' && new URL(req.url()).pathname === '/jmap/api') api.push((JSON.parse(req.postData() ?? '{}').methodCalls as [string][]).map((c) => c[0]));
    };
    page.on('request', onRequest);
    await smtpSend({ subject: 'Live delivery', text: 'arrives while the list is open' });
    await page.getByRole('button', { name: /Live delivery/ }).waitFor({ timeout: 10_000 });
    // The folders' counts follow the new row, in a request of their own after the list's: the server
    // answers in turn, and the row is what the person waits for.
    await page.locator('nav .mailbox.current .count').filter({ hasText: '2' }).waitFor();
    page.off('request', onRequest);
    assert.deepEqual(api.slice(0, 2), [['Email/query', 'Email/get'], ['Mailbox/get']], JSON.stringify(api));
    assert.deepEqual(loads, []);
    // It came by push (EventSource), not by the fallback poll of Email/changes.
    assert.equal(t.logs.filter((l) => l.event === 'http.request' && Array.isArray(l.calls) && (l.calls as string[]).some((c) => c.startsWith('Email/changes'))).length, 0);
    // Newest first.
    assert.match(await page.locator('.list .item').first().innerText(), /Live delivery/);
  });

  it('shows hostile HTML with no script run and no remote image fetched', async () => {
    const html = `<p id="greeting">Hello from HTML</p>
      <script>fetch('${trapUrl}/script'); parent.document.title = 'pwned';</script>
      <img src="x" onerror="fetch('${trapUrl}/onerror'); parent.document.title = 'pwned'">
      <img src="${trapUrl}/remote.png" alt="remote">
      <a href="javascript:fetch('${trapUrl}/js-link')">link</a>`;
    await smtpSend({ subject: 'Hostile HTML', html, text: 'plain alternative' });
    await page.getByRole('button', { name: /Hostile HTML/ }).click();
    const frame = page.frameLocator('iframe[title="message"]');
    await frame.locator('#greeting').filter({ hasText: 'Hello from HTML' }).waitFor();
    await page.getByText('Remote images in this message are blocked.').waitFor();
    const sandbox = await page.locator('iframe[title="message"]').getAttribute('sandbox');
    assert.doesNotMatch(sandbox ?? '', /allow-scripts|allow-same-origin/);
    assert.equal(await frame.locator('script').count(), 0);
    assert.equal(await frame.locator('[onerror]').count(), 0);
    await page.waitForTimeout(1000);
    assert.deepEqual(trapped, []);
    assert.notEqual(await page.title(), 'pwned');
  });

  it('sends a message that bob reads over IMAP', async () => {
    await page.getByRole('button', { name: 'Write' }).click();
    await page.getByLabel('To', { exact: true }).fill(BOB);
    await page.getByLabel('Subject', { exact: true }).fill('From the webmail');
    await page.locator('.composer textarea').fill('Written in the browser.\nSecond line.');
    await page.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Message sent.').waitFor({ timeout: 25_000 });
    await t.waitForMessages(BOB, 1, { timeoutMs: 25_000 });
    const imap = new ImapFlow({ host: '127.0.0.1', port: t.ports.imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user: BOB, pass: PASS }, logger: false });
    await imap.connect();
    try {
      const lock = await imap.getMailboxLock('INBOX');
      try {
        const msg = await imap.fetchOne('*', { envelope: true, source: true });
        assert.ok(msg);
        assert.equal(msg.envelope?.subject, 'From the webmail');
        assert.equal(msg.envelope?.from?.[0]?.address, ALICE);
        assert.match(msg.source!.toString(), /Written in the browser\.\r\nSecond line\./);
      } finally {
        lock.release();
      }
    } finally {
      await imap.logout();
    }
  });

  it('marks read and unread, flags, and deletes to Trash', async () => {
    await page.getByRole('button', { name: /Live delivery/ }).click();
    await page.getByRole('button', { name: 'Mark unread' }).click();
    await page.locator('.list .item.unread', { hasText: 'Live delivery' }).waitFor();
    await page.getByRole('button', { name: 'Flag', exact: true }).click();
    await page.locator('.list .item', { hasText: 'Live delivery' }).locator('.flag').waitFor();
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.locator('.list .item', { hasText: 'Live delivery' }).waitFor({ state: 'detached' });
    await page.locator('nav .mailbox[data-role="trash"]').click();
    await page.getByRole('button', { name: /Live delivery/ }).waitFor();
  });

  it('refuses a JMAP request that has the cookie but not the CSRF token', async () => {
    const body = { using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', { a: 1 }, 'c']] };
    const without = await page.request.post(base + '/jmap/api', { data: body });
    assert.equal(without.status(), 403);
    const csrf = (await context.cookies()).find((c) => c.name === 'postamt_csrf')!.value;
    const withToken = await page.request.post(base + '/jmap/api', { data: body, headers: { 'X-CSRF-Token': csrf } });
    assert.equal(withToken.status(), 200);
  });

  it('ends the session at logout: the old cookie no longer works', async () => {
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'postamt_session')!.value;
    const csrf = cookies.find((c) => c.name === 'postamt_csrf')!.value;
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    assert.equal((await context.cookies()).find((c) => c.name === 'postamt_session'), undefined);
    const fresh = await browser.newContext({ ignoreHTTPSErrors: true });
    try {
      const r = await fresh.request.post(base + '/jmap/api', {
        data: { using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', {}, 'c']] },
        headers: { Cookie: `postamt_session=${session}`, 'X-CSRF-Token': csrf },
      });
      assert.equal(r.status(), 401);
    } finally {
      await fresh.close();
    }
  });
});
