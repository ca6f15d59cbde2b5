// The webmail as a whole in a real browser: keyboard shortcuts, a phone-sized screen, light and dark themes,
// English and German, and an accessibility check (axe-core) of the main screens with no serious violation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { skipWithoutChromium, startWebmailRig, type WebmailRig } from './webmail-harness.ts';

const ALICE = 'alice@example.test';

async function seriousViolations(page: Page): Promise<string[]> {
  // The mail's own HTML (the sandboxed frame) is the sender's, not the webmail's.
  const r = await new AxeBuilder({ page }).exclude('iframe[title="message"]').analyze();
  return r.violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).slice(0, 3).join(', ')})`);
}

describe('webmail keyboard, phone, themes, languages, accessibility', { skip: skipWithoutChromium }, () => {
  let rig: WebmailRig;

  before(async () => {
    rig = await startWebmailRig({ users: [ALICE] });
    await rig.smtpSend(ALICE, { from: 'Ann <ann@elsewhere.test>', subject: 'First', text: 'the first one' });
    await rig.smtpSend(ALICE, { from: 'Ben <ben@elsewhere.test>', subject: 'Second', html: '<p>the <b>second</b> one</p>', text: 'the second one' });
    await rig.t.waitForMessages(ALICE, 2);
  });
  after(async () => { await rig?.stop(); });

  it('works from the keyboard', async () => {
    const { page } = await rig.newPage();
    await rig.logIn(page, ALICE);
    await page.locator('.item', { hasText: 'Second' }).waitFor();
    await page.locator('body').press('j');
    await page.locator('.item.cursor', { hasText: 'Second' }).waitFor();
    await page.locator('body').press('j');
    await page.locator('.item.cursor', { hasText: 'First' }).waitFor();
    await page.locator('body').press('k');
    await page.locator('body').press('Enter');
    await page.locator('.reader h2', { hasText: 'Second' }).waitFor();
    await page.locator('body').press('s');
    await page.locator('.item', { hasText: 'Second' }).locator('.flag').waitFor();
    await page.locator('body').press('u');
    await page.locator('.item.unread', { hasText: 'Second' }).waitFor();
    await page.locator('body').press('r');
    assert.equal(await page.locator('form.composer').getByLabel('Subject', { exact: true }).inputValue(), 'Re: Second');
    await page.locator('form.composer').getByRole('button', { name: 'Close' }).click();
    await page.locator('body').press('/');
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { activeElement: { id: string } } }).document.activeElement.id), 'search-input');
    await page.locator('#search-input').press('Escape');
    await page.locator('body').click({ position: { x: 5, y: 5 } });
    await page.locator('body').press('?');
    await page.getByRole('heading', { name: 'Keyboard shortcuts' }).waitFor();
    await page.locator('body').press('Escape');
    await page.locator('.item.cursor', { hasText: 'Second' }).waitFor();
    await page.locator('body').press('#');
    await page.locator('.item', { hasText: 'Second' }).waitFor({ state: 'detached' });
    assert.equal((await rig.t.messages(ALICE, 'Trash')).length, 1);
    await page.locator('nav .mailbox[data-role="trash"]').click();
    await page.locator('.item', { hasText: 'Second' }).locator('.open-item').click();
    await page.getByRole('toolbar', { name: 'Actions' }).getByRole('button', { name: 'Delete' }).click();
    await page.locator('.item', { hasText: 'Second' }).waitFor({ state: 'detached' });
    await rig.smtpSend(ALICE, { from: 'Ben <ben@elsewhere.test>', subject: 'Second', html: '<p>the <b>second</b> one</p>', text: 'the second one' });
  });

  it('fits a phone: one column at a time, the reader with a way back, nothing wider than the screen', async () => {
    const { page } = await rig.newPage({ viewport: { width: 390, height: 844 } });
    await rig.logIn(page, ALICE);
    await page.locator('.item', { hasText: 'First' }).locator('.open-item').click();
    await page.locator('.reader h2', { hasText: 'First' }).waitFor();
    assert.equal(await page.locator('.list').isVisible(), false);
    const width = await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { scrollWidth: number } } }).document.documentElement.scrollWidth);
    assert.ok(width <= 390, `page width ${width}`);
    await page.getByRole('button', { name: 'Back' }).click();
    await page.locator('.item', { hasText: 'First' }).waitFor();
    assert.equal(await page.locator('.pane').isVisible(), false);
  });

  it('follows the system theme and the user\'s choice', async () => {
    const { page } = await rig.newPage({ colorScheme: 'dark' });
    await rig.logIn(page, ALICE);
    const bg = (): Promise<string> => page.evaluate(() => (globalThis as unknown as { getComputedStyle(e: unknown): { backgroundColor: string }; document: { body: unknown } }).getComputedStyle((globalThis as unknown as { document: { body: unknown } }).document.body).backgroundColor);
    assert.equal(await bg(), 'rgb(22, 22, 26)');
    await page.getByRole('button', { name: 'Settings' }).click();
    const becomes = async (want: string): Promise<void> => {
      const deadline = Date.now() + 5000;
      while ((await bg()) !== want) {
        if (Date.now() > deadline) assert.equal(await bg(), want);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await page.getByLabel('Theme').selectOption('light');
    await becomes('rgb(255, 255, 255)');
    await page.reload();
    await page.locator('nav .mailbox[data-role="inbox"]').waitFor();
    await becomes('rgb(255, 255, 255)');
  });

  it('speaks German to a German browser, and English when chosen', async () => {
    const { page } = await rig.newPage({ locale: 'de-DE' });
    await page.goto(rig.base + '/');
    await page.getByRole('button', { name: 'Anmelden' }).waitFor();
    await rig.logIn(page, ALICE);
    await page.getByRole('button', { name: 'Verfassen' }).waitFor();
    assert.match(await page.locator('nav .mailbox[data-role="inbox"]').innerText(), /Posteingang/);
    await page.getByRole('button', { name: 'Einstellungen' }).click();
    await page.getByLabel('Sprache').selectOption('en');
    await page.getByRole('button', { name: 'Write' }).waitFor();
    assert.equal(await page.evaluate(() => (globalThis as unknown as { document: { documentElement: { lang: string } } }).document.documentElement.lang), 'en');
  });

  it('has no serious accessibility violations on the main screens, light and dark', async () => {
    for (const colorScheme of ['light', 'dark'] as const) {
      const { page } = await rig.newPage({ colorScheme });
      await page.goto(rig.base + '/');
      await page.locator('.login button[type="submit"]').waitFor();
      assert.deepEqual(await seriousViolations(page), [], `login (${colorScheme})`);
      await rig.logIn(page, ALICE);
      await page.locator('.item', { hasText: 'First' }).waitFor();
      await page.locator('.item', { hasText: 'First' }).getByRole('checkbox').check();
      assert.deepEqual(await seriousViolations(page), [], `list (${colorScheme})`);
      await page.locator('.item', { hasText: 'First' }).locator('.open-item').click();
      await page.locator('.reader h2', { hasText: 'First' }).waitFor();
      assert.deepEqual(await seriousViolations(page), [], `reader (${colorScheme})`);
      await page.getByRole('button', { name: 'Write' }).click();
      await page.locator('form.composer').waitFor();
      assert.deepEqual(await seriousViolations(page), [], `composer (${colorScheme})`);
      await page.getByRole('button', { name: 'Settings' }).click();
      await page.locator('.settings').waitFor();
      assert.deepEqual(await seriousViolations(page), [], `settings (${colorScheme})`);
      const form = page.getByRole('search');
      await form.getByRole('button', { name: 'Options' }).click();
      assert.deepEqual(await seriousViolations(page), [], `search (${colorScheme})`);
    }
  });
});
