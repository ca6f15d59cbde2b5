// Organising mail in the webmail in a real browser: several messages selected and marked read or archived,
// moved by drag and drop and by the menu, marked as spam, deleted to Trash and Trash emptied; folders created,
// renamed and deleted (only when empty); search by words, sender, recipient, subject, dates, attachment, folder.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import type { Page, Request } from 'playwright-core';
import { skipWithoutChromium, startWebmailRig, type WebmailRig } from './webmail-harness.ts';

const ALICE = 'alice@example.test';

describe('webmail organising and search', { skip: skipWithoutChromium }, () => {
  let rig: WebmailRig;
  let page: Page;
  const row = (subject: string): ReturnType<Page['locator']> => page.locator('.item').filter({ has: page.locator('.subject', { hasText: new RegExp(`^${subject}$`) }) });
  const folder = (name: string): ReturnType<Page['locator']> => page.locator('nav .mailbox', { hasText: new RegExp(`^${name}`) });
  const subjectOf = async (uid: number, mailbox: string): Promise<string> => /^Subject: (.*)$/m.exec((await rig.t.read(ALICE, uid, mailbox)).toString('latin1'))?.[1]?.trim() ?? '';
  const inFolder = async (name: string): Promise<string[]> => Promise.all((await rig.t.messages(ALICE, name)).map((m) => subjectOf(m.uid, name)));
  const subjects = async (): Promise<string[]> => (await page.locator('.item .subject').allInnerTexts()).sort();
  const until = async (f: () => Promise<boolean>, what: string): Promise<void> => {
    const deadline = Date.now() + 10_000;
    while (!(await f())) {
      if (Date.now() > deadline) assert.fail(`timed out: ${what}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  const search = async (fill: Record<string, string | boolean>): Promise<string[]> => {
    const form = page.getByRole('search');
    if (await form.getByLabel('From', { exact: true }).count() === 0) await form.getByRole('button', { name: 'Options' }).click();
    if (await form.getByRole('button', { name: 'Clear' }).count()) await form.getByRole('button', { name: 'Clear' }).click();
    for (const [label, value] of Object.entries(fill)) {
      if (typeof value === 'boolean') await form.getByLabel(label, { exact: true }).setChecked(value);
      else if (label === 'In folder') await form.getByLabel(label, { exact: true }).selectOption({ label: value });
      else if (label === 'Search mail') await form.getByRole('searchbox').fill(value);
      else await form.getByLabel(label, { exact: true }).fill(value);
    }
    await form.getByRole('button', { name: 'Search', exact: true }).click();
    await page.locator('.list-head h2', { hasText: 'Search results' }).waitFor();
    await page.locator('.list-head .total').waitFor();
    await until(async () => (await page.locator('.item.placeholder').count()) === 0, 'rows drawn');
    return subjects();
  };

  before(async () => {
    rig = await startWebmailRig({ users: [ALICE] });
    for (const [from, subject, text] of [
      ['ann@elsewhere.test', 'Alpha', 'the quarterly numbers'],
      ['ben@elsewhere.test', 'Beta', 'lunch on tuesday'],
      ['ann@elsewhere.test', 'Gamma', 'more numbers, sorry'],
      ['cy@elsewhere.test', 'Delta', 'win a prize now'],
      ['cy@elsewhere.test', 'Epsilon', 'nothing much'],
    ]) await rig.smtpSend(ALICE, { from: from!, subject, text });
    await rig.smtpSend(ALICE, { from: 'ben@elsewhere.test', to: 'team@elsewhere.test', cc: ALICE, subject: 'Zeta', text: 'the slides', attachments: [{ filename: 'slides.pdf', content: Buffer.alloc(500, 1) }] });
    await rig.t.waitForMessages(ALICE, 6);
    // One old message, filed a year ago: the date range has something to leave out.
    const store = rig.t.server.services.store;
    const account = (await store.getAccount(ALICE))!;
    const inbox = (await store.getMailbox(account.id, 'INBOX'))!;
    const tx = store.beginDelivery();
    tx.write(Buffer.from('From: ann@elsewhere.test\r\nTo: alice@example.test\r\nSubject: Old numbers\r\nMessage-ID: <old@elsewhere.test>\r\n\r\nlast year numbers\r\n'));
    await tx.commit({ mailboxes: [{ mailboxId: inbox.id, internalDate: new Date('2025-03-10T12:00:00Z') }] });
    ({ page } = await rig.newPage());
    await rig.logIn(page, ALICE);
    await row('Zeta').waitFor();
  });
  after(async () => { await rig?.stop(); });

  it('selects several messages and marks them read, then archives them', async () => {
    await row('Alpha').getByRole('checkbox').check();
    await row('Beta').getByRole('checkbox').check();
    await page.getByText('2 selected').waitFor();
    await page.getByRole('toolbar', { name: 'Selected messages' }).getByRole('button', { name: 'Mark read' }).click();
    await until(async () => (await row('Alpha').locator('.dot').count()) === 0 && (await row('Beta').locator('.dot').count()) === 0, 'marked read');
    assert.equal(await row('Gamma').locator('.dot').count(), 1);
    await row('Alpha').getByRole('checkbox').check();
    await row('Beta').getByRole('checkbox').check();
    await page.getByRole('toolbar', { name: 'Selected messages' }).getByRole('button', { name: 'Archive' }).click();
    await row('Alpha').waitFor({ state: 'detached' });
    assert.deepEqual((await inFolder('Archive')).sort(), ['Alpha', 'Beta']);
  });

  it('creates a folder and moves a message into it by drag and drop', async () => {
    await page.getByRole('button', { name: 'New folder' }).click();
    await page.getByLabel('Folder name').fill('Projects');
    await page.getByRole('button', { name: 'Create' }).click();
    await folder('Projects').waitFor();
    await row('Gamma').locator('.open-item').dragTo(folder('Projects'));
    await row('Gamma').waitFor({ state: 'detached' });
    assert.deepEqual(await inFolder('Projects'), ['Gamma']);
  });

  it('moves with the menu, marks as spam, deletes to Trash and empties Trash', async () => {
    await row('Epsilon').getByRole('checkbox').check();
    await page.getByLabel('Move to').selectOption({ label: 'Projects' });
    await row('Epsilon').waitFor({ state: 'detached' });
    assert.deepEqual((await inFolder('Projects')).sort(), ['Epsilon', 'Gamma']);
    await row('Delta').locator('.open-item').click();
    await page.getByRole('toolbar', { name: 'Actions' }).getByRole('button', { name: 'Spam' }).click();
    await row('Delta').waitFor({ state: 'detached' });
    const junk = await rig.t.messages(ALICE, 'Junk');
    assert.deepEqual(await inFolder('Junk'), ['Delta']);
    assert.ok(junk[0]!.flags.some((f) => f.toLowerCase() === '$junk'), junk[0]!.flags.join(' '));
    await row('Old numbers').locator('.open-item').click();
    await page.getByRole('toolbar', { name: 'Actions' }).getByRole('button', { name: 'Delete' }).click();
    await row('Old numbers').waitFor({ state: 'detached' });
    assert.deepEqual(await inFolder('Trash'), ['Old numbers']);
    await page.locator('nav .mailbox[data-role="trash"]').click();
    await row('Old numbers').waitFor();
    await page.getByRole('button', { name: 'Empty Trash' }).click();
    await page.getByRole('button', { name: 'Delete all for good?' }).click();
    await row('Old numbers').waitFor({ state: 'detached' });
    assert.deepEqual(await inFolder('Trash'), []);
  });

  it('renames a folder, and deletes it only once it is empty', async () => {
    await folder('Projects').click();
    await page.getByLabel('Folder name').fill('Work');
    await page.getByRole('button', { name: 'Rename folder' }).click();
    await folder('Work').waitFor();
    assert.deepEqual((await inFolder('Work')).sort(), ['Epsilon', 'Gamma']);
    await page.getByRole('button', { name: 'Delete folder' }).click();
    await page.getByText('Only an empty folder can be deleted.').waitFor();
    for (const s of ['Epsilon', 'Gamma']) {
      await row(s).locator('.open-item').dragTo(page.locator('nav .mailbox[data-role="inbox"]'));
      await row(s).waitFor({ state: 'detached' });
    }
    await page.getByRole('button', { name: 'Delete folder' }).click();
    await folder('Work').waitFor({ state: 'detached' });
    await page.locator('nav .mailbox.current[data-role="inbox"]').waitFor();
  });

  it('searches by words, sender, recipient, subject, date range, attachment and folder', async () => {
    assert.deepEqual(await search({ 'Search mail': 'numbers' }), ['Alpha', 'Gamma']);
    assert.deepEqual(await search({ From: 'ben@' }), ['Beta', 'Zeta']);
    assert.deepEqual(await search({ To: 'team@elsewhere' }), ['Zeta']);
    // The search is one request from the button to the drawn hits: Email/query and, by back-reference, the
    // hits' Email/get (no second round trip for the rows).
    const searches: string[][] = [];
    const onRequest = (req: Request): void => {
      if (req.method() !== 'POST' || new URL(req.url()).pathname !== '/jmap/api') return;
      const calls = JSON.parse(req.postData() ?? '{}').methodCalls as [string, { filter?: { subject?: string } }][];
      if (calls.some((c) => c[1].filter?.subject === 'eta')) searches.push(calls.map((c) => c[0]));
    };
    page.on('request', onRequest);
    assert.deepEqual(await search({ Subject: 'eta' }), ['Beta', 'Zeta']);
    page.off('request', onRequest);
    assert.deepEqual(searches, [['Email/query', 'Email/get']]);
    assert.deepEqual(await search({ Subject: 'eta', 'In folder': 'Inbox' }), ['Zeta']);
    assert.deepEqual(await search({ 'Has attachment': true }), ['Zeta']);
    assert.deepEqual(await search({ From: 'ann@', 'From date': '2025-01-01', 'To date': '2025-12-31' }), []);
    assert.deepEqual(await search({ From: 'ann@', 'From date': '2020-01-01' }), ['Alpha', 'Gamma']);
    await page.getByRole('search').getByRole('button', { name: 'Clear' }).click();
    await page.locator('.list-head h2', { hasText: 'Inbox' }).waitFor();
  });
});
