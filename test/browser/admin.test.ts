// The admin UI in a real browser (Debian's chromium driven by playwright-core) against a whole server on
// loopback: the login under a strict CSP, the dashboard, domains with their DNS records and DKIM keys,
// accounts, the queue, run-time policy and the TOTP second factor; a domain admin sees only their domain, a
// user gets nothing, a request without the CSRF token is refused, and axe finds no serious accessibility
// violation on any page. With POSTAMT_SCREENSHOTS=1 it also writes the screenshots of docs/admin.md.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { Secret, TOTP } from 'otpauth';
import { AxeBuilder } from '@axe-core/playwright';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { PASS, buildUi, launchChromium, logInAdmin, newBrowserContext, skipWithoutChromium } from './webmail-harness.ts';

const ROOT = 'root@a.test';
const DADMIN = 'dadmin@b.test';
const USER = 'user@a.test';
const SHOTS = process.env.POSTAMT_SCREENSHOTS === '1';

describe('admin UI in the browser', { skip: skipWithoutChromium }, () => {
  let t: TestServer;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  let base: string;

  const logIn = (p: Page, address: string, code?: string): Promise<void> => logInAdmin(p, base, address, { code });
  /** No serious or critical accessibility violation on what the page shows now. */
  const accessible = async (p: Page, what: string): Promise<void> => {
    const result = await new AxeBuilder({ page: p }).analyze();
    const bad = result.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(bad.map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(' ')).join(', ')}`), [], `${what}: accessibility violations`);
  };
  const shot = async (p: Page, name: string): Promise<void> => {
    if (SHOTS) await p.screenshot({ path: `docs/images/admin-${name}.png`, fullPage: true });
  };
  const go = async (p: Page, section: string): Promise<void> => {
    await p.getByRole('navigation').getByRole('link', { name: section }).click();
    await p.getByRole('heading', { level: 2, name: section }).waitFor();
  };

  before(async () => {
    buildUi();
    t = await startTestServer({ startQueue: false, config: { auth: { maxFailuresPerIp: 1000 } } as never });
    const store = t.server.services.store;
    await store.setServerAdmin(await t.addUser(ROOT, PASS), true);
    await store.addDomainAdmin(await t.addUser(DADMIN, PASS), 'b.test');
    await t.addUser(USER, PASS);
    await t.addUser('bob@b.test', PASS);
    base = `https://localhost:${t.ports.https}`;
    browser = await launchChromium();
    context = await newBrowserContext(browser, { viewport: { width: 1200, height: 800 } });
    page = await context.newPage();
  });
  after(async () => {
    await browser?.close();
    await t?.stop();
  });

  it('serves the UI under a strict CSP, and the login page is accessible', async () => {
    const r = await page.goto(base + '/admin/');
    const csp = r!.headers()['content-security-policy']!;
    assert.match(csp, /default-src 'none'/);
    assert.match(csp, /script-src 'self'(;|$)/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    await page.getByRole('button', { name: 'Log in' }).waitFor();
    await accessible(page, 'login');
    await shot(page, 'login');
  });

  it('a user who administers nothing is refused at the login', async () => {
    const p = await context.newPage();
    await logIn(p, USER);
    await p.getByRole('alert').filter({ hasText: 'does not administer anything' }).waitFor();
    await p.close();
  });

  it('a server admin logs in to the dashboard: mail, queue, storage, certificate, DNS health', async () => {
    await logIn(page, ROOT);
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
    for (const card of ['Last hour', 'Last day', 'Queue', 'Storage', 'Certificate']) await page.getByRole('region', { name: card }).waitFor();
    await page.getByRole('link', { name: 'a.test' }).waitFor({ timeout: 20_000 });
    const cookies = await context.cookies();
    const session = cookies.find((c) => c.name === 'postamt_admin')!;
    assert.deepEqual([session.httpOnly, session.secure, session.sameSite, session.path], [true, true, 'Strict', '/admin']);
    await accessible(page, 'dashboard');
    await shot(page, 'dashboard');
  });

  it('adds a domain, shows its DNS records and generates its DKIM keys', async () => {
    await go(page, 'Domains');
    await page.getByLabel('New domain').fill('c.test');
    await page.getByRole('button', { name: 'Add domain' }).click();
    await page.getByRole('status').filter({ hasText: 'Domain c.test added.' }).waitFor();
    await page.getByRole('link', { name: 'c.test' }).click();
    await page.getByRole('heading', { name: 'c.test' }).waitFor();
    await page.getByRole('cell', { name: '10 mx.postamt.test.' }).waitFor();
    await page.getByRole('button', { name: 'Generate keys' }).click();
    await page.getByRole('status').filter({ hasText: 'New keys made' }).waitFor();
    await page.getByRole('cell', { name: 'pending', exact: true }).nth(1).waitFor();
    assert.equal(await page.getByRole('cell', { name: 'pending', exact: true }).count(), 2);
    assert.equal((await t.server.services.store.listDomains()).some((d) => d.name === 'c.test'), true);
    await accessible(page, 'domain');
    await shot(page, 'domain');
  });

  it('adds an account, disables it, resets its password and makes an app password', async () => {
    await go(page, 'Accounts');
    await page.getByLabel('Address').fill('carol@c.test');
    await page.getByLabel('Password').fill(PASS);
    await page.getByRole('button', { name: 'Add account' }).click();
    await page.getByRole('status').filter({ hasText: 'Account carol@c.test added.' }).waitFor();
    await page.getByRole('button', { name: 'Disable carol@c.test' }).click();
    await page.getByRole('status').filter({ hasText: 'carol@c.test disabled.' }).waitFor();
    assert.equal((await t.server.services.store.getAccount('carol@c.test'))?.disabled, true);
    await accessible(page, 'accounts');
    await shot(page, 'accounts');
    await page.getByRole('link', { name: 'carol@c.test' }).click();
    await page.getByLabel('New password').fill('a brand new password');
    await page.getByRole('button', { name: 'Reset password' }).click();
    await page.getByRole('status').filter({ hasText: 'Password set.' }).waitFor();
    await page.getByLabel('Device').fill('phone');
    await page.getByRole('button', { name: 'Make app password' }).click();
    await page.getByLabel('New app password').waitFor();
    await page.getByRole('cell', { name: 'phone', exact: true }).waitFor();
    await accessible(page, 'account');
  });

  it('lists the queue, holds and releases a message, shows it with its headers, and deletes it', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.submission, secure: false, requireTLS: true, tls: { rejectUnauthorized: false }, auth: { user: USER, pass: PASS } });
    await transport.sendMail({ from: USER, to: 'far@remote.example', subject: 'Waiting in the queue', text: 'queued' });
    transport.close();
    const [queued] = await t.server.services.store.listQueue();
    await go(page, 'Queue');
    await page.getByRole('button', { name: queued!.id }).waitFor();
    await page.getByRole('button', { name: 'Hold' }).click();
    await page.getByRole('status').filter({ hasText: 'held' }).waitFor();
    await page.getByRole('button', { name: 'Release' }).waitFor();
    await page.getByRole('button', { name: 'Release' }).click();
    await page.getByRole('status').filter({ hasText: 'released' }).waitFor();
    await page.getByRole('button', { name: queued!.id }).click();
    await page.getByText('Subject: Waiting in the queue').waitFor();
    await accessible(page, 'queue');
    await shot(page, 'queue');
    await go(page, 'Trace');
    await page.getByLabel('Queue id').fill(queued!.id);
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('region', { name: `Message ${queued!.id}` }).getByRole('cell', { name: 'Received', exact: true }).waitFor();
    await accessible(page, 'trace');
    await shot(page, 'trace');
    await go(page, 'Queue');
    page.once('dialog', (d) => void d.accept());
    await page.getByRole('button', { name: 'Delete' }).click();
    await page.getByRole('status').filter({ hasText: 'deleted' }).waitFor();
    assert.equal((await t.server.services.store.listQueue()).length, 0);
    // The trace says who deleted it; a time range finds it, or not.
    const local = (ms: number): string => { const d = new Date(Date.now() + ms); return new Date(d.getTime() - d.getTimezoneOffset() * 60_000).toISOString().slice(0, 16); };
    await go(page, 'Trace');
    await page.getByLabel('Queue id').fill(queued!.id);
    await page.getByLabel('Since').fill(local(-3_600_000));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByRole('region', { name: `Message ${queued!.id}` }).getByRole('cell', { name: `Deleted by admin ${ROOT}`, exact: true }).waitFor();
    await page.getByLabel('Since').fill('');
    await page.getByLabel('Until').fill(local(-3_600_000));
    await page.getByRole('button', { name: 'Search' }).click();
    await page.getByText('No message found.').waitFor();
  });

  it('changes a policy setting at run time and saves it durably', async () => {
    await go(page, 'Policy');
    await page.getByLabel('greylisting', { exact: true }).selectOption('true');
    await page.getByLabel('spam_reject_score', { exact: true }).fill('12');
    await page.getByRole('button', { name: 'Save and apply' }).click();
    await page.getByRole('status').filter({ hasText: 'Saved and applied' }).waitFor();
    assert.deepEqual(JSON.parse((await t.server.services.store.getSetting('policy'))!), { greylisting: true, spamRejectScore: 12 });
    await page.getByText('trusted_networks (restart needed').waitFor();
    await accessible(page, 'policy');
    await shot(page, 'policy');
  });

  it('refuses a state change sent without the CSRF token', async () => {
    const status = await page.evaluate(async () => (await fetch('/admin/api/domains', { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify({ name: 'csrf.test' }) })).status);
    assert.equal(status, 403);
    assert.equal(await t.server.services.store.hasDomain('csrf.test'), false);
  });

  it('a domain admin sees only their domain, no policy page, and is refused another domain by URL', async () => {
    const ctx = await browser.newContext({ ignoreHTTPSErrors: true, locale: 'en-US' });
    const p = await ctx.newPage();
    await logIn(p, DADMIN);
    await p.getByRole('heading', { name: 'Dashboard' }).waitFor();
    assert.equal(await p.getByRole('navigation').getByRole('link', { name: 'Policy' }).count(), 0);
    await go(p, 'Domains');
    await p.getByRole('link', { name: 'b.test' }).waitFor();
    assert.equal(await p.getByRole('link', { name: 'a.test' }).count(), 0);
    await p.goto(base + '/admin/#/domains/a.test');
    await p.getByText(/may not see the DNS records of a\.test/).first().waitFor();
    await p.goto(base + '/admin/#/policy');
    await p.getByRole('alert').filter({ hasText: 'only a server admin may' }).waitFor();
    await go(p, 'Accounts');
    await p.getByRole('link', { name: 'bob@b.test' }).waitFor();
    assert.equal(await p.getByRole('link', { name: USER }).count(), 0);
    await ctx.close();
  });

  it('sets up a TOTP second factor; the next login needs a code', async () => {
    await go(page, 'Security');
    await page.getByRole('button', { name: 'Set up a second factor' }).click();
    const secret = (await page.getByLabel('Secret key').innerText()).trim();
    const totp = new TOTP({ secret: Secret.fromBase32(secret), algorithm: 'SHA1', digits: 6, period: 30 });
    await page.getByLabel('Code', { exact: true }).fill(totp.generate());
    await page.getByRole('button', { name: 'Confirm' }).click();
    await page.getByRole('status').filter({ hasText: 'Second factor on' }).waitFor();
    await accessible(page, 'security');
    await shot(page, 'security');
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.getByRole('status').filter({ hasText: 'You are logged out.' }).waitFor();
    await logIn(page, ROOT);
    await page.getByLabel('Code from your authenticator app').waitFor();
    await page.getByLabel('Code from your authenticator app').fill(totp.generate({ timestamp: Date.now() + 30_000 }));
    await page.getByRole('button', { name: 'Log in' }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor();
  });
});
