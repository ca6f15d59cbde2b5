// The delivery timeline of a sent message in the webmail, in a real browser: alice writes to a remote
// address whose next hop (a loopback SMTP sink) defers the first attempt; her copy in Sent shows, under
// "Delivery", the message accepted, queued, deferred with the host and its reply, then delivered. Another user
// gets nothing for that message through the same route, by Message-ID or queue id; without a login, 401.
// With POSTAMT_SCREENSHOTS=1 it also writes the screenshot of docs/webmail.md.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { AxeBuilder } from '@axe-core/playwright';
import type { Page } from 'playwright-core';
import { curl } from '../harness/curl.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { PASS, skipWithoutChromium, startWebmailRig, type WebmailRig } from './webmail-harness.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const SUBJECT = 'Where is my message?';
const SHOTS = process.env.POSTAMT_SCREENSHOTS === '1';

/** The delivery route as the webmail calls it, from a logged-in page (session cookie and CSRF header). */
async function deliveryFrom(page: Page, query: string): Promise<{ status: number; body: { messages?: { queueId: string }[] } }> {
  return page.evaluate(async (q) => {
    const cookie = (globalThis as unknown as { document: { cookie: string } }).document.cookie;
    const csrf = /(?:^|;\s*)postamt_csrf=([^;]+)/.exec(cookie)?.[1] ?? '';
    const r = await fetch(`/webmail/account/delivery?${q}`, { headers: { 'X-CSRF-Token': decodeURIComponent(csrf) } });
    return { status: r.status, body: (await r.json()) as { messages?: { queueId: string }[] } };
  }, query);
}

describe('webmail delivery timeline', { skip: skipWithoutChromium }, () => {
  let rig: WebmailRig;
  let sink: SmtpSinkHandle;
  let page: Page;
  let rcptCalls = 0;

  before(async () => {
    // The next hop defers the first attempt (451), then takes the message.
    sink = await startSmtpSink({ rcpt: () => (rcptCalls++ === 0 ? '451 4.3.0 Try again later (sink)' : undefined) });
    rig = await startWebmailRig({ users: [ALICE, BOB], server: { config: { queue: { routes: { 'far.test': { host: '127.0.0.1', port: sink.port } } } } as never } });
    ({ page } = await rig.newPage());
    await rig.logIn(page, ALICE);
  });
  after(async () => {
    await rig?.stop();
    await sink?.stop();
  });

  it('shows the steps of a sent message: accepted, queued, deferred with the host and reply, delivered', async () => {
    await page.getByRole('button', { name: 'Write' }).click();
    const composer = page.locator('form.composer');
    await composer.getByLabel('To', { exact: true }).fill('carol@far.test');
    await composer.getByLabel('Subject', { exact: true }).fill(SUBJECT);
    await composer.locator('textarea').fill('Sent through the queue.');
    await composer.getByRole('button', { name: 'Send' }).click();
    await page.getByText('Message sent.').waitFor({ timeout: 25_000 });
    await sink.waitForMessages(1, 30_000);
    // The delivery result is traced right after the sink's reply (in the recorder's next batch).
    for (let i = 0; i < 50; i++) {
      await rig.t.server.services.trace.flush();
      if ((await rig.t.server.services.store.searchTrace({ recipient: 'carol@far.test', result: 'delivered' })).length > 0) break;
      await new Promise((r) => setTimeout(r, 100));
    }

    await page.locator('nav .mailbox[data-role="sent"]').click();
    await page.locator('.item', { hasText: SUBJECT }).locator('.open-item').click();
    await page.getByRole('button', { name: 'Delivery' }).click();
    const panel = page.getByRole('region', { name: 'Delivery' });
    const steps = panel.locator('li.step');
    await steps.filter({ hasText: 'Delivered' }).waitFor();
    const texts = (await steps.allInnerTexts()).map((s) => s.replace(/\s+/g, ' ').trim());
    assert.equal(texts.length, 4, texts.join('\n'));
    assert.match(texts[0]!, /Accepted by the server$/);
    assert.match(texts[1]!, /Queued for delivery carol@far\.test$/);
    assert.match(texts[2]!, /Deferred, will be tried again carol@far\.test \(attempt 1, via \S+\) 451 4\.3\.0 Try again later \(sink\)$/);
    assert.match(texts[3]!, /Delivered carol@far\.test \(attempt 2, via \S+\) 250 /);
    const violations = (await new AxeBuilder({ page }).include('.delivery').analyze()).violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(violations.map((v) => v.id), []);
    if (SHOTS) await page.screenshot({ path: 'docs/img/webmail-delivery.png' });

    // A message in the Inbox has no delivery button.
    await page.locator('nav .mailbox[data-role="inbox"]').click();
    await rig.smtpSend(ALICE, { subject: 'Incoming', text: 'hello' });
    await page.locator('.item', { hasText: 'Incoming' }).locator('.open-item').click();
    await page.getByRole('article', { name: 'Incoming' }).waitFor();
    assert.equal(await page.getByRole('button', { name: 'Delivery' }).count(), 0);
  });

  it('another user gets nothing for that message, by Message-ID or queue id; no login, no answer', async () => {
    const sent = await rig.imapNewest(ALICE, 'Sent');
    const messageId = sent.envelope!.messageId!;
    const mine = await deliveryFrom(page, `messageId=${encodeURIComponent(messageId)}`);
    assert.equal(mine.status, 200);
    assert.equal(mine.body.messages!.length, 1, 'alice finds her message');
    const queueId = mine.body.messages![0]!.queueId;
    assert.equal((await deliveryFrom(page, `queueId=${queueId}`)).body.messages!.length, 1);

    const { page: bobPage } = await rig.newPage();
    await rig.logIn(bobPage, BOB);
    assert.deepEqual(await deliveryFrom(bobPage, `messageId=${encodeURIComponent(messageId)}`), { status: 200, body: { messages: [] } });
    assert.deepEqual(await deliveryFrom(bobPage, `queueId=${queueId}`), { status: 200, body: { messages: [] } });
    // With a password instead of the session (curl, Basic): the same answer.
    const base = `https://localhost:${rig.t.ports.https}/webmail/account/delivery?queueId=${queueId}`;
    const basic = await curl(['-k', '-u', `${BOB}:${PASS}`, base]);
    assert.equal(basic.status, 200, basic.body);
    assert.deepEqual(basic.json(), { messages: [] });
    assert.equal((await curl(['-k', '-u', `${ALICE}:${PASS}`, base])).json().messages.length, 1);
    assert.equal((await curl(['-k', base])).status, 401);
    assert.equal((await curl(['-k', '-u', `${BOB}:${PASS}`, `https://localhost:${rig.t.ports.https}/webmail/account/delivery`])).status, 400);
  });
});
