// Undo send and signatures in the webmail, in a real browser, through JMAP: a sent message is held on the
// server for the undo time (a delayed send), "Undo" cancels it there (the recipient never gets it, the draft
// returns to Drafts); without undo it is delivered after the delay, not before; a signature saved in the
// settings (Identity/set) is on the server and appears in a new message in a fresh browser context.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { listQueue } from '../../src/queue/admin.ts';
import { skipWithoutChromium, startWebmailRig, type WebmailRig } from './webmail-harness.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

describe('webmail undo send and signatures', { skip: skipWithoutChromium }, () => {
  let rig: WebmailRig;
  let page: Page;
  const composer = (p: Page = page): ReturnType<Page['locator']> => p.locator('form.composer');
  const field = (name: string, p: Page = page): ReturnType<Page['locator']> => composer(p).getByLabel(name, { exact: true });
  const subjects = async (address: string, mailbox = 'INBOX'): Promise<string[]> => {
    const out: string[] = [];
    for (const m of await rig.t.messages(address, mailbox)) out.push(/^Subject: (.*)$/m.exec((await rig.t.read(address, m.uid, mailbox)).toString())?.[1] ?? '');
    return out;
  };
  const write = async (subject: string): Promise<void> => {
    await page.getByRole('button', { name: 'Write' }).click();
    await field('To').fill(BOB);
    await field('Subject').fill(subject);
    const body = composer().locator('textarea');
    await body.fill(`Hello Bob.${await body.inputValue()}`);
    await composer().getByRole('button', { name: 'Send' }).click();
  };

  before(async () => {
    rig = await startWebmailRig({ users: [ALICE, BOB] });
    ({ page } = await rig.newPage());
    await rig.logIn(page, ALICE);
  });
  after(async () => { await rig?.stop(); });

  it('a signature saved in the settings is kept on the server and appears in a new message in a fresh browser context', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    const identity = page.locator('.settings .identity').first();
    await identity.getByLabel('Name').fill('Alice Liddell');
    await identity.getByLabel('Signature').fill('Alice Liddell\nWonderland Ltd.');
    await page.getByRole('button', { name: 'Save signatures' }).click();
    await page.locator('.settings').getByText('Saved.').first().waitFor();
    // The undo time of this browser, for the tests below.
    await page.getByLabel('Undo send').selectOption('5');
    const account = (await rig.t.server.services.store.getAccount(ALICE))!;
    const [stored] = await rig.t.server.services.store.listIdentities(account.id);
    assert.deepEqual([stored?.name, stored?.textSignature], ['Alice Liddell', 'Alice Liddell\nWonderland Ltd.'], 'kept on the server (Identity/set)');

    const { page: other } = await rig.newPage();
    await rig.logIn(other, ALICE);
    await other.reload();
    await other.locator('nav .mailbox[data-role="inbox"]').waitFor();
    await other.getByRole('button', { name: 'Write' }).click();
    assert.equal(await composer(other).locator('textarea').inputValue(), '\n\n-- \nAlice Liddell\nWonderland Ltd.\n\n', 'the signature from the server, in a browser that never saw it');
    await page.getByRole('button', { name: 'Settings' }).click();
  });

  it('send and undo: the message is held on the server and Undo cancels it there; the recipient never gets it and the draft returns', async () => {
    await write('Sent by mistake');
    await page.getByText('Sending in 5 s.').waitFor();
    const [held] = await listQueue(rig.t.server.services.store);
    assert.ok(held?.holdUntil && held.holdUntil.getTime() > Date.now(), 'held in the server\'s queue until the undo time is over');
    await page.getByRole('button', { name: 'Undo' }).click();
    await field('Subject').waitFor();
    assert.equal(await field('Subject').inputValue(), 'Sent by mistake', 'back in the composer');
    assert.deepEqual(await listQueue(rig.t.server.services.store), [], 'canceled on the server, not only in the browser');
    const account = (await rig.t.server.services.store.getAccount(ALICE))!;
    const submissions = await rig.t.server.services.store.listSubmissions(account.id);
    assert.equal(submissions.at(-1)?.undoStatus, 'canceled');
    assert.deepEqual(await subjects(ALICE, 'Drafts'), ['Sent by mistake'], 'the draft is back in Drafts');
    assert.ok((await rig.t.messages(ALICE, 'Drafts'))[0]!.flags.includes('\\Draft'));
    assert.deepEqual(await subjects(ALICE, 'Sent'), []);
    await new Promise((r) => setTimeout(r, 6000));
    assert.deepEqual(await subjects(BOB), [], 'the recipient never gets it');
    await composer().getByRole('button', { name: 'Close' }).click();
  });

  it('send without undo: delivered after the delay, not before, and filed in Sent', async () => {
    await write('Meant to send');
    await page.getByText('Sending in 5 s.').waitFor();
    const sentAt = Date.now();
    assert.deepEqual(await subjects(BOB), [], 'not before the delay');
    await rig.t.waitForMessages(BOB, 1, { timeoutMs: 15_000 });
    assert.ok(Date.now() - sentAt >= 3500, `delivered after the delay (${Date.now() - sentAt} ms)`);
    assert.deepEqual(await subjects(BOB), ['Meant to send']);
    await page.getByText('Message sent.').waitFor({ timeout: 10_000 });
    assert.ok((await subjects(ALICE, 'Sent')).includes('Meant to send'));
    const text = (await rig.t.read(BOB, (await rig.t.messages(BOB))[0]!.uid)).toString();
    assert.match(text, /--=20\r\nAlice Liddell\r\nWonderland Ltd\./, 'with the signature (quoted-printable keeps the "-- " line\'s space)');
  });
});
