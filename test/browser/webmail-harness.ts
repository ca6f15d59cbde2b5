// Shared set-up for the webmail browser tests: a whole server on loopback with users, Debian's chromium
// through playwright-core, logging in as a user does, mail from outside by SMTP, and a user's IMAP view.
// The admin UI's browser tests use its build, browser and login steps (buildUi, launchChromium, logInAdmin).
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import nodemailer from 'nodemailer';
import { ImapFlow, type FetchMessageObject } from 'imapflow';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { startTestServer, type TestServer, type TestServerOptions } from '../harness/server.ts';

export const CHROMIUM = '/usr/bin/chromium';
export const PASS = 'correct horse battery staple';
export const skipWithoutChromium = existsSync(CHROMIUM) ? false : `${CHROMIUM} is not installed`;

/** Builds the webmail and admin UI bundles into dist/ui, as the server serves them. */
export function buildUi(): void {
  const built = spawnSync(process.execPath, ['scripts/build-ui.mjs'], { encoding: 'utf8' });
  assert.equal(built.status, 0, built.stderr);
}

/** Debian's chromium, headless, as every browser test drives it (no browser download). */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
}

/** A browser context that accepts the test server's self-signed certificate, in English. */
export function newBrowserContext(browser: Browser, o: { locale?: string; viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' } = {}): Promise<BrowserContext> {
  return browser.newContext({ ignoreHTTPSErrors: true, locale: o.locale ?? 'en-US', viewport: o.viewport ?? { width: 1280, height: 800 }, colorScheme: o.colorScheme ?? 'light' });
}

/** Logs in to the admin UI at `base` as an admin does; `code` answers the second-factor step. */
export async function logInAdmin(page: Page, base: string, address: string, options: { code?: string } = {}): Promise<void> {
  await page.goto(base + '/admin/');
  await page.getByLabel('Address').fill(address);
  await page.getByLabel('Password').fill(PASS);
  await page.getByRole('button', { name: 'Log in' }).click();
  if (options.code !== undefined) {
    await page.getByLabel('Code from your authenticator app').fill(options.code);
    await page.getByRole('button', { name: 'Log in' }).click();
  }
}

export interface WebmailRig {
  t: TestServer;
  browser: Browser;
  base: string;
  newPage(options?: { locale?: string; viewport?: { width: number; height: number }; colorScheme?: 'light' | 'dark' }): Promise<{ context: BrowserContext; page: Page }>;
  logIn(page: Page, address: string, password?: string): Promise<void>;
  smtpSend(to: string, mail: nodemailer.SendMailOptions): Promise<void>;
  imapNewest(address: string, mailbox?: string): Promise<FetchMessageObject>;
  stop(): Promise<void>;
}

/**
 * `scheme: 'http'` serves the page on the loopback http listener: a test that lets remote images load needs
 * it, since an https page never loads an http image (mixed content).
 */
export async function startWebmailRig(options: { users: string[]; server?: TestServerOptions; scheme?: 'https' | 'http' }): Promise<WebmailRig> {
  buildUi();
  const t = await startTestServer(options.server ?? {});
  for (const u of options.users) await t.addUser(u, PASS);
  const base = options.scheme === 'http' ? `http://127.0.0.1:${t.ports.http}` : `https://localhost:${t.ports.https}`;
  const browser = await launchChromium();
  const contexts: BrowserContext[] = [];
  return {
    t, browser, base,
    async newPage(o = {}) {
      const context = await newBrowserContext(browser, o);
      contexts.push(context);
      return { context, page: await context.newPage() };
    },
    async logIn(page, address, password = PASS) {
      await page.goto(base + '/');
      await page.locator('input[name="address"]').fill(address);
      await page.locator('input[name="password"]').fill(password);
      await page.locator('.login button[type="submit"]').click();
      await page.locator('nav .mailbox[data-role="inbox"]').waitFor();
    },
    async smtpSend(to, mail) {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
      await transport.sendMail({ from: 'outside@elsewhere.test', to, ...mail });
      transport.close();
    },
    async imapNewest(address, mailbox = 'INBOX') {
      const imap = new ImapFlow({ host: '127.0.0.1', port: t.ports.imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user: address, pass: PASS }, logger: false });
      await imap.connect();
      try {
        const lock = await imap.getMailboxLock(mailbox);
        try {
          const msg = await imap.fetchOne('*', { envelope: true, source: true, flags: true });
          assert.ok(msg, `no message in ${address}'s ${mailbox}`);
          return msg;
        } finally {
          lock.release();
        }
      } finally {
        await imap.logout();
      }
    },
    async stop() {
      for (const c of contexts) await c.close().catch(() => {});
      await browser.close();
      await t.stop();
    },
  };
}
