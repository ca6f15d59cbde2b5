// The account part of the webmail's settings in a real browser: an app password made (shown once), used by an
// IMAP client and revoked; the login sessions listed and another one ended (that browser is logged out); the
// password changed only with the current one, after which the old one no longer logs in. CSRF refused here too.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { ImapFlow } from 'imapflow';
import type { Page } from 'playwright-core';
import { PASS, skipWithoutChromium, startWebmailRig, type WebmailRig } from './webmail-harness.ts';

const ALICE = 'alice@example.test';
const NEW_PASS = 'a new and longer passphrase 42';

describe('webmail account settings', { skip: skipWithoutChromium }, () => {
  let rig: WebmailRig;
  let page: Page;
  const imapLogin = async (pass: string): Promise<boolean> => {
    const imap = new ImapFlow({ host: '127.0.0.1', port: rig.t.ports.imaps, secure: true, tls: { rejectUnauthorized: false }, auth: { user: ALICE, pass }, logger: false });
    try {
      await imap.connect();
      await imap.logout();
      return true;
    } catch {
      return false;
    }
  };
  const settings = async (p: Page): Promise<void> => {
    await p.getByRole('button', { name: 'Settings' }).click();
    await p.locator('.settings').waitFor();
  };

  before(async () => {
    rig = await startWebmailRig({ users: [ALICE] });
    ({ page } = await rig.newPage());
    await rig.logIn(page, ALICE);
    await settings(page);
  });
  after(async () => { await rig?.stop(); });

  it('makes an app password, shown once, that an IMAP client logs in with until it is revoked', async () => {
    await page.getByLabel('Device or program').fill('Phone');
    await page.getByRole('button', { name: 'Make app password' }).click();
    const secret = page.locator('.secret');
    await secret.waitFor();
    const appPassword = await secret.innerText();
    assert.ok(appPassword.length >= 16);
    await page.getByRole('list', { name: 'App passwords' }).getByText(/Phone/).waitFor();
    assert.equal(await imapLogin(appPassword), true);
    await page.getByRole('button', { name: 'Revoke Phone' }).click();
    await page.getByRole('list', { name: 'App passwords' }).getByText(/Phone/).waitFor({ state: 'detached' });
    assert.equal(await imapLogin(appPassword), false);
  });

  it('downloads the Apple configuration profile for the account, logged in by the session alone', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('link', { name: /Set up this account on an iPhone, iPad or Mac/ }).click()]);
    assert.match(download.suggestedFilename(), /\.mobileconfig$/);
    const profile = readFileSync((await download.path())!, 'utf8');
    assert.match(profile, /<key>EmailAddress<\/key>\s*<string>alice@example\.test<\/string>/);
    assert.doesNotMatch(profile, new RegExp(PASS), 'no password in it');
  });

  it('lists the login sessions and ends another one: that browser is logged out', async () => {
    const other = await rig.newPage();
    await rig.logIn(other.page, ALICE);
    await page.getByRole('button', { name: 'Settings' }).click();
    await settings(page);
    const list = page.getByRole('list', { name: 'Login sessions' });
    await list.locator('li').nth(1).waitFor();
    assert.equal(await list.locator('li').count(), 2);
    await list.getByText('this session').waitFor();
    await list.getByRole('button', { name: /End the session from/ }).click();
    await list.getByRole('button', { name: /End the session from/ }).waitFor({ state: 'detached' });
    // The other browser's next request finds its session gone.
    await other.page.locator('nav .mailbox[data-role="sent"]').click();
    await other.page.locator('input[name="password"]').waitFor({ timeout: 10_000 });
    await other.page.getByText('Your session has ended; please log in again.').waitFor();
  });

  it('refuses a settings change without the CSRF token', async () => {
    const r = await page.request.post(rig.base + '/webmail/account/app-passwords', { data: { label: 'sneaky' } });
    assert.equal(r.status(), 403);
  });

  it('changes the password only with the current one; then the old one no longer logs in', async () => {
    await page.getByLabel('Current password').fill('not my password');
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASS);
    await page.getByLabel('New password again').fill(NEW_PASS);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText(/current password/i).filter({ hasNot: page.locator('label') }).last().waitFor();
    assert.equal(await imapLogin(PASS), true);
    await page.getByLabel('Current password').fill(PASS);
    await page.getByLabel('New password', { exact: true }).fill(NEW_PASS);
    await page.getByLabel('New password again').fill(NEW_PASS);
    await page.getByRole('button', { name: 'Change password' }).click();
    await page.getByText('Password changed.').waitFor();
    assert.equal(await imapLogin(PASS), false);
    assert.equal(await imapLogin(NEW_PASS), true);
    const fresh = await rig.newPage();
    await rig.logIn(fresh.page, ALICE, NEW_PASS);
  });
});
