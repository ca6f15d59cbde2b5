/**
 * Takes the screenshots in docs/webmail.md: a server with a little mail on loopback, Debian's chromium through
 * playwright-core, and the main screens in light and dark, wide and phone-sized, written to docs/img/.
 *
 *   node --import tsx scripts/webmail-screenshots.ts
 */
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startWebmailRig } from '../test/browser/webmail-harness.ts';

const out = fileURLToPath(new URL('../docs/img/', import.meta.url));
const ALICE = 'alice@example.test';

const rig = await startWebmailRig({ users: [ALICE, 'bob@example.test'] });
try {
  const mail: [string, string, string, string?][] = [
    ['Ann Lee <ann@elsewhere.test>', 'Quarterly numbers', 'Here are the numbers for the third quarter. Revenue is up, costs are flat.'],
    ['Ben Ortiz <ben@elsewhere.test>', 'Lunch on Tuesday?', 'The new place near the station has a lunch menu; shall we try it?'],
    ['Cy Park <cy@elsewhere.test>', 'Slides for the review', 'The slides are attached; comments welcome before Friday.', 'slides.pdf'],
    ['Dora Weiss <dora@elsewhere.test>', 'Newsletter: what changed in December', '<h2>December</h2><p>Three new features and <img src="https://tracker.example/pixel.png" alt="tracking pixel"> a fix.</p>'],
  ];
  for (const [from, subject, text, file] of mail) {
    await rig.smtpSend(ALICE, text.startsWith('<') ? { from, subject, html: text } : { from, subject, text, attachments: file ? [{ filename: file, content: Buffer.alloc(48_000, 3) }] : [] });
  }
  await rig.t.waitForMessages(ALICE, mail.length);
  const shot = async (name: string, o: { colorScheme?: 'light' | 'dark'; viewport?: { width: number; height: number } }, steps: (p: import('playwright-core').Page) => Promise<void>): Promise<void> => {
    const { page, context } = await rig.newPage({ viewport: o.viewport ?? { width: 1100, height: 640 }, colorScheme: o.colorScheme ?? 'light' });
    await steps(page);
    await page.waitForTimeout(300);
    await page.screenshot({ path: join(out, `webmail-${name}.png`) });
    await context.close();
  };
  await shot('login', {}, async (p) => { await p.goto(rig.base + '/'); await p.locator('.login button').waitFor(); });
  await shot('reading', {}, async (p) => {
    await rig.logIn(p, ALICE);
    await p.locator('.item', { hasText: 'Newsletter' }).locator('.open-item').click();
    await p.getByText('Remote images in this message are blocked.').waitFor();
  });
  await shot('compose-dark', { colorScheme: 'dark' }, async (p) => {
    await rig.logIn(p, ALICE);
    await p.locator('.item', { hasText: 'Lunch' }).locator('.open-item').click();
    await p.getByRole('button', { name: 'Reply', exact: true }).click();
    await p.locator('form.composer').waitFor();
  });
  await shot('search', {}, async (p) => {
    await rig.logIn(p, ALICE);
    await p.getByRole('search').getByRole('button', { name: 'Options' }).click();
    await p.getByRole('search').getByLabel('Has attachment').check();
    await p.getByRole('search').getByRole('button', { name: 'Search', exact: true }).click();
    await p.locator('.list-head h2', { hasText: 'Search results' }).waitFor();
    await p.locator('.item', { hasText: 'Slides' }).locator('.open-item').click();
    await p.locator('.attachments').waitFor();
  });
  await shot('phone', { viewport: { width: 390, height: 700 } }, async (p) => {
    await rig.logIn(p, ALICE);
    await p.locator('.item', { hasText: 'Quarterly' }).waitFor();
  });
} finally {
  await rig.stop();
}
