// The webmail's message list in a real browser: the flat list with sender, subject, preview, date and the
// flag, unread and attachment marks; the conversation view with one row per thread and the whole thread in
// the reader; a 100,000-message folder in a virtual list whose pages come on demand.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Locator, Page } from 'playwright-core';
import { skipWithoutChromium, startWebmailRig, type WebmailRig } from './webmail-harness.ts';

const ALICE = 'alice@example.test';
const BIG = 'big@example.test';
const BIG_COUNT = 100_000;

/** n small messages straight into the store, 2,000 per transaction: seconds, not 100,000 SMTP sessions. */
async function seed(rig: WebmailRig, address: string, n: number): Promise<void> {
  const store = rig.t.server.services.store;
  const account = (await store.getAccount(address))!;
  const inbox = (await store.getMailbox(account.id, 'INBOX'))!;
  const start = Date.UTC(2025, 0, 1);
  for (let from = 0; from < n; from += 2000) {
    const batch = [];
    for (let i = from; i < Math.min(n, from + 2000); i++) {
      const tx = store.beginDelivery();
      tx.write(Buffer.from(`From: Sender ${i} <s${i}@bulk.test>\r\nTo: ${address}\r\nSubject: message ${i}\r\nMessage-ID: <${i}@bulk.test>\r\nDate: Wed, 1 Jan 2025 00:00:00 +0000\r\n\r\nbody of message ${i}\r\n`));
      batch.push({ tx, plan: { mailboxes: [{ mailboxId: inbox.id, internalDate: new Date(start + i * 1000) }] } });
    }
    await store.commitDeliveries(batch);
  }
}

async function waitCount(l: Locator, n: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await l.count()) !== n) {
    if (Date.now() > deadline) assert.fail(`expected ${n} rows, found ${await l.count()}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('webmail message list', { skip: skipWithoutChromium }, () => {
  let rig: WebmailRig;
  let page: Page;

  before(async () => {
    rig = await startWebmailRig({ users: [ALICE, BIG] });
    await rig.smtpSend(ALICE, { subject: 'Plans for Friday', text: 'Shall we meet at noon?', messageId: '<plan-1@elsewhere.test>' });
    await rig.smtpSend(ALICE, { subject: 'Re: Plans for Friday', text: 'Noon works for me.', messageId: '<plan-2@elsewhere.test>', inReplyTo: '<plan-1@elsewhere.test>', references: ['<plan-1@elsewhere.test>'] });
    await rig.smtpSend(ALICE, { subject: 'Re: Plans for Friday', text: 'See you there.', messageId: '<plan-3@elsewhere.test>', inReplyTo: '<plan-2@elsewhere.test>', references: ['<plan-1@elsewhere.test>', '<plan-2@elsewhere.test>'] });
    await rig.smtpSend(ALICE, { from: 'Dora Example <dora@elsewhere.test>', subject: 'The report', text: 'Attached is the report.', attachments: [{ filename: 'report.pdf', content: Buffer.alloc(3000, 7), contentType: 'application/pdf' }] });
    await rig.t.waitForMessages(ALICE, 4);
    await seed(rig, BIG, BIG_COUNT);
    ({ page } = await rig.newPage());
  });
  after(async () => { await rig?.stop(); });

  it('shows sender, subject, preview, date and the attachment and unread marks in the flat list', async () => {
    await rig.logIn(page, ALICE);
    const row = page.locator('.item', { hasText: 'The report' });
    await row.waitFor();
    assert.match(await row.locator('.from').innerText(), /Dora Example/);
    assert.equal(await row.locator('.preview').innerText(), 'Attached is the report.');
    assert.equal(await row.locator('.clip').count(), 1);
    assert.equal(await row.locator('.dot').count(), 1);
    assert.match(await row.locator('time').innerText(), /\d/);
    // Flat: the three messages of the conversation are three rows.
    assert.equal(await page.locator('.item', { hasText: 'Plans for Friday' }).count(), 3);
    assert.match(await page.locator('.list-head h2').innerText(), /\(4\)/);
  });

  it('flags a message and shows the flag in the list', async () => {
    await page.locator('.item', { hasText: 'The report' }).locator('.open-item').click();
    await page.getByRole('button', { name: 'Flag', exact: true }).click();
    await page.locator('.item', { hasText: 'The report' }).locator('.flag').waitFor();
    // Opening marked it read: its own request, whose answer may come after the flag's.
    await page.locator('.item', { hasText: 'The report' }).locator('.dot').waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await page.locator('.item', { hasText: 'The report' }).locator('.dot').count(), 0);
  });

  it('groups a conversation into one row and shows all of it in the reader', async () => {
    await page.getByLabel('Conversations').check();
    await page.locator('.item', { hasText: 'Plans for Friday' }).first().waitFor();
    await waitCount(page.locator('.item:not(.placeholder)'), 2);
    const row = page.locator('.item', { hasText: 'Plans for Friday' });
    assert.equal(await row.count(), 1);
    assert.equal((await row.locator('.count').innerText()).trim(), '3');
    await row.locator('.open-item').click();
    await page.getByText('3 messages in this conversation').waitFor();
    // The newest is open; the unread earlier ones are open too (all were unread).
    await page.locator('.reader').getByText('See you there.').waitFor();
    await page.locator('.reader').getByText('Shall we meet at noon?').waitFor();
    await page.getByLabel('Conversations').uncheck();
    await waitCount(page.locator('.item:not(.placeholder)'), 4);
  });

  it('scrolls a 100,000-message inbox in a virtual list, fetching pages as they come into view', async () => {
    const { page: big } = await rig.newPage();
    const requests: string[] = [];
    big.on('request', (r) => { if (r.url().endsWith('/jmap/api')) requests.push(r.postData() ?? ''); });
    await rig.logIn(big, BIG);
    await big.locator('.item', { hasText: `message ${BIG_COUNT - 1}` }).waitFor();
    assert.match(await big.locator('.list-head h2').innerText(), /\(100000\)/);
    // The first screen costs two API round trips after the session: the folders and identities together,
    // then the inbox's first page (asked for as soon as the inbox's id is known).
    const methods = (body: string): string => (JSON.parse(body) as { methodCalls: [string][] }).methodCalls.map((c) => c[0]).join(',');
    assert.deepEqual(requests.slice(0, 2).map(methods), ['Mailbox/get,Identity/get', 'Email/query,Email/get']);
    // Only the rows in view (plus a margin) are in the DOM.
    assert.ok(await big.locator('.item').count() < 60, 'the list renders only what is in view');
    const pagesAsked = (): number => requests.filter((b) => b.includes('"Email/query"') && b.includes('"position"')).length;
    const before = pagesAsked();
    // Halfway down: the rows there are fetched (one page) and drawn.
    await big.locator('.list-scroll').evaluate((el) => { el.scrollTop = el.scrollHeight / 2; });
    await big.locator('.item', { hasText: `message ${BIG_COUNT / 2 - 1}` }).first().waitFor({ timeout: 10_000 });
    // To the end: the oldest message.
    await big.locator('.list-scroll').evaluate((el) => { el.scrollTop = el.scrollHeight; });
    await big.locator('.item', { hasText: /message 0$/ }).waitFor({ timeout: 10_000 });
    const asked = pagesAsked() - before;
    assert.ok(asked >= 2 && asked <= 6, `pages fetched on demand, not the whole folder (${asked})`);
    assert.ok(await big.locator('.item').count() < 60);
    // Keyboard: j moves the cursor, End-of-page keys move a page.
    await big.locator('.list-scroll').evaluate((el) => { el.scrollTop = 0; });
    await big.locator('.item', { hasText: `message ${BIG_COUNT - 1}` }).waitFor();
    await big.locator('body').press('j');
    await big.locator('.item.cursor', { hasText: `message ${BIG_COUNT - 1}` }).waitFor();
    await big.locator('body').press('PageDown');
    await big.locator('.item.cursor', { hasNotText: `message ${BIG_COUNT - 1}` }).waitFor();
  });
});
