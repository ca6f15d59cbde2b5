// Writing in the webmail in a real browser: address completion from the people in the mailbox, an
// attachment uploaded with a progress bar and received byte for byte by the recipient's IMAP client, Cc and
// Bcc (the Bcc recipient gets it, nobody sees the Bcc field), the draft saved by itself in Drafts, undo send,
// a reply that threads (In-Reply-To, References, $answered), and a forward that keeps the attachment.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import PostalMime from 'postal-mime';
import type { Page } from 'playwright-core';
import { skipWithoutChromium, startWebmailRig, type WebmailRig } from './webmail-harness.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const CAROL = 'carol@example.test';
const DAVE = 'dave@example.test';
const FILE = Buffer.from(Array.from({ length: 400 * 1024 }, (_, i) => (i * 31 + (i >> 8)) % 256));

describe('webmail writing', { skip: skipWithoutChromium }, () => {
  let rig: WebmailRig;
  let page: Page;
  const composer = (): ReturnType<Page['locator']> => page.locator('form.composer');
  const field = (name: string): ReturnType<Page['locator']> => composer().getByLabel(name, { exact: true });

  before(async () => {
    rig = await startWebmailRig({ users: [ALICE, BOB, CAROL, DAVE] });
    await rig.smtpSend(ALICE, { from: 'Bob Builder <bob@example.test>', subject: 'Question', text: 'Can you send me the file?\nThanks', messageId: '<question-1@example.test>' });
    await rig.t.waitForMessages(ALICE, 1);
    ({ page } = await rig.newPage());
    await rig.logIn(page, ALICE);
  });
  after(async () => { await rig?.stop(); });

  it('completes an address from the people in the mailbox', async () => {
    await page.getByRole('button', { name: 'Write' }).click();
    await field('To').fill('buil');
    await page.getByRole('option', { name: 'Bob Builder <bob@example.test>' }).click();
    assert.equal(await field('To').inputValue(), 'Bob Builder <bob@example.test>, ');
  });

  it('uploads an attachment with a progress bar and saves the draft by itself', async () => {
    await field('Cc').fill(CAROL);
    await field('Bcc').fill(DAVE);
    await field('Subject').fill('The file');
    await composer().locator('textarea').fill('Here is the file.');
    // A slow uplink, so the bar is there long enough to see.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Network.enable');
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 20, downloadThroughput: -1, uploadThroughput: 200 * 1024 });
    await composer().locator('input[type="file"]').setInputFiles({ name: 'data.bin', mimeType: 'application/octet-stream', buffer: FILE });
    const bar = page.getByRole('progressbar', { name: 'Uploading data.bin' });
    await bar.waitFor();
    const seen = Number(await bar.getAttribute('value'));
    assert.ok(seen < 1, `the bar shows progress (${seen})`);
    await bar.waitFor({ state: 'detached', timeout: 20_000 });
    await cdp.send('Network.emulateNetworkConditions', { offline: false, latency: 0, downloadThroughput: -1, uploadThroughput: -1 });
    assert.match(await composer().locator('.attach li').innerText(), /data\.bin \(400 KB\)/);
    await composer().getByText('Draft saved.').waitFor({ timeout: 10_000 });
    const drafts = await rig.t.messages(ALICE, 'Drafts');
    assert.equal(drafts.length, 1, 'one draft: each save replaces the one before');
    assert.ok(drafts[0]!.flags.includes('\\Draft'));
  });

  it('sends after the undo delay; the attachment arrives byte for byte, Bcc is delivered but not shown', async () => {
    await composer().getByRole('button', { name: 'Send' }).click();
    await page.getByText('Sending in 10 s.').waitFor();
    await page.getByText('Message sent.').waitFor({ timeout: 25_000 });
    await rig.t.waitForMessages(BOB, 1, { timeoutMs: 25_000 });
    const msg = await rig.imapNewest(BOB);
    const parsed = await PostalMime.parse(msg.source!);
    assert.equal(parsed.subject, 'The file');
    assert.equal(parsed.from?.address, ALICE);
    assert.equal(parsed.attachments.length, 1);
    assert.equal(parsed.attachments[0]!.filename, 'data.bin');
    assert.deepEqual(Buffer.from(parsed.attachments[0]!.content as ArrayBuffer), FILE);
    assert.match(parsed.text ?? '', /Here is the file\./);
    assert.doesNotMatch(msg.source!.toString('latin1').split('\r\n\r\n')[0]!, /^bcc:/im);
    await rig.t.waitForMessages(CAROL, 1, { timeoutMs: 25_000 });
    await rig.t.waitForMessages(DAVE, 1, { timeoutMs: 25_000 });
    // Filed in Sent, gone from Drafts.
    assert.equal((await rig.t.messages(ALICE, 'Drafts')).length, 0);
    assert.equal((await rig.t.messages(ALICE, 'Sent')).length, 1);
  });

  it('undo send: the message comes back to the composer and is never sent', async () => {
    await page.getByRole('button', { name: 'Write' }).click();
    await field('To').fill(BOB);
    await field('Subject').fill('Not this one');
    await composer().getByRole('button', { name: 'Send' }).click();
    await page.getByRole('button', { name: 'Undo' }).click();
    assert.equal(await field('Subject').inputValue(), 'Not this one');
    await new Promise((r) => setTimeout(r, 6500));
    assert.equal((await rig.t.messages(BOB)).length, 1);
    await composer().getByRole('button', { name: 'Close' }).click();
  });

  it('replies in the thread: In-Reply-To and References, quoted text, $answered on the original', async () => {
    await page.locator('nav .mailbox[data-role="inbox"]').click();
    await page.locator('.item', { hasText: 'Question' }).locator('.open-item').click();
    await page.getByRole('button', { name: 'Reply', exact: true }).click();
    assert.equal(await field('Subject').inputValue(), 'Re: Question');
    assert.equal(await field('To').inputValue(), 'Bob Builder <bob@example.test>');
    const body = await composer().locator('textarea').inputValue();
    assert.match(body, /wrote:\n> Can you send me the file\?\n> Thanks/);
    await composer().locator('textarea').press('Control+Home');
    await composer().locator('textarea').pressSequentially('Sure, sent it.');
    await composer().getByRole('button', { name: 'Send' }).click();
    await page.getByText('Message sent.').waitFor({ timeout: 25_000 });
    await rig.t.waitForMessages(BOB, 2, { timeoutMs: 25_000 });
    const parsed = await PostalMime.parse((await rig.imapNewest(BOB)).source!);
    assert.equal(parsed.subject, 'Re: Question');
    assert.equal(parsed.inReplyTo, '<question-1@example.test>');
    assert.equal(parsed.references, '<question-1@example.test>');
    assert.match(parsed.text ?? '', /^Sure, sent it\./);
    await page.locator('.item', { hasText: 'Question' }).locator('.answered').waitFor();
    // One conversation: the question in the inbox and the reply in Sent.
    await page.getByLabel('Conversations').check();
    await page.locator('.item', { hasText: 'Question' }).locator('.open-item').click();
    await page.getByText('2 messages in this conversation').waitFor();
    await page.getByLabel('Conversations').uncheck();
  });

  it('forwards with the attachment', async () => {
    await page.locator('nav .mailbox[data-role="sent"]').click();
    await page.locator('.item').filter({ has: page.locator('.subject', { hasText: /^The file$/ }) }).locator('.open-item').click();
    await page.getByRole('button', { name: 'Forward' }).click();
    assert.equal(await field('Subject').inputValue(), 'Fwd: The file');
    await field('To').fill(CAROL);
    await composer().getByRole('button', { name: 'Send' }).click();
    await page.getByText('Message sent.').waitFor({ timeout: 25_000 });
    await rig.t.waitForMessages(CAROL, 2, { timeoutMs: 15_000 });
    const parsed = await PostalMime.parse((await rig.imapNewest(CAROL)).source!);
    assert.equal(parsed.subject, 'Fwd: The file');
    assert.match(parsed.text ?? '', /Forwarded message[\s\S]*Here is the file\./);
    assert.deepEqual(Buffer.from(parsed.attachments[0]!.content as ArrayBuffer), FILE);
  });
});
