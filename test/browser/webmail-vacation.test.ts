// The vacation responder set in the webmail's settings (JMAP VacationResponse): mail that arrives is answered
// once per sender, and no longer once it is switched off.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page } from 'playwright-core';
import { skipWithoutChromium, startWebmailRig, type WebmailRig } from './webmail-harness.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';

describe('webmail vacation responder', { skip: skipWithoutChromium }, () => {
  let rig: WebmailRig;
  let page: Page;

  before(async () => {
    rig = await startWebmailRig({ users: [ALICE, BOB] });
    ({ page } = await rig.newPage());
    await rig.logIn(page, ALICE);
  });
  after(async () => { await rig?.stop(); });

  it('answers once per sender while on', async () => {
    await page.getByRole('button', { name: 'Settings' }).click();
    await page.getByLabel('Answer incoming mail automatically').check();
    await page.locator('input[name="vacation-subject"]').fill('Away this week');
    await page.getByLabel('Reply text').fill('I am away until Monday.');
    await page.getByRole('button', { name: 'Save vacation reply' }).click();
    await page.locator('.settings').getByText('Saved.').last().waitFor();
    await rig.smtpSend(ALICE, { from: BOB, subject: 'Are you there?', text: 'hello' });
    await rig.t.waitForMessages(BOB, 1, { timeoutMs: 15_000 });
    const reply = (await rig.imapNewest(BOB)).source!.toString('latin1');
    assert.match(reply, /^Subject: Away this week/m);
    assert.match(reply, /I am away until Monday\./);
    await rig.smtpSend(ALICE, { from: BOB, subject: 'Still there?', text: 'hello again' });
    await rig.t.waitForMessages(ALICE, 2);
    await new Promise((r) => setTimeout(r, 1500));
    assert.equal((await rig.t.messages(BOB)).length, 1, 'one answer per sender');
  });
});
