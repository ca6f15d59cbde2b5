// Reading in the webmail in a real browser: inline cid: images drawn from the message itself, attachments
// listed with their size and downloaded byte for byte, the original source, the SPF/DKIM/DMARC verdicts of
// Postamt's Authentication-Results, and remote images blocked until allowed for one message or remembered for
// the sender, while scripts and event handlers never run (a loopback server counts every request).
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Page } from 'playwright-core';
import { NodeResolver } from '../../src/dns/node-resolver.ts';
import { startDnsServer, type DnsServerHandle } from '../harness/dns-server.ts';
import { skipWithoutChromium, startWebmailRig, type WebmailRig } from './webmail-harness.ts';

const ALICE = 'alice@example.test';
const PNG = Buffer.from('iVBORw0KGgoAAAANSUhEUgAAAAIAAAACCAIAAAD91JpzAAAAFklEQVR4nGP8z8DAwMDAxMDAwMDAAAANHQEDasKb6QAAAABJRU5ErkJggg==', 'base64');
const FILE = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 7) % 256));

describe('webmail reading', { skip: skipWithoutChromium }, () => {
  let rig: WebmailRig;
  let dns: DnsServerHandle;
  let page: Page;
  let trap: http.Server;
  let trapUrl: string;
  const trapped: string[] = [];
  const open = async (subject: string): Promise<void> => {
    await page.locator('.item', { hasText: subject }).locator('.open-item').click();
    await page.locator('.reader h2', { hasText: subject }).waitFor();
  };
  const quiet = (): Promise<void> => new Promise((r) => setTimeout(r, 800));

  before(async () => {
    trap = http.createServer((req, res) => { trapped.push(req.url ?? ''); res.setHeader('Content-Type', 'image/png'); res.end(PNG); });
    await new Promise<void>((r) => trap.listen(0, '127.0.0.1', r));
    trapUrl = `http://127.0.0.1:${(trap.address() as AddressInfo).port}`;
    // 127.0.0.1 untrusted and elsewhere.test's SPF listing it: Postamt records spf=pass in Authentication-Results.
    dns = await startDnsServer({
      '127.0.0.1': { PTR: ['client.test'] },
      'client.test': { A: ['127.0.0.1'], TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
      'elsewhere.test': { TXT: ['v=spf1 ip4:127.0.0.1 -all'] },
    });
    rig = await startWebmailRig({
      users: [ALICE], scheme: 'http',
      server: { dns: new NodeResolver({ servers: [dns.server], timeoutMs: 1000, tries: 1 }), config: { policy: { trustedNetworks: [] }, auth: { allowPlaintextOnLoopback: true } } as never },
    });
    await rig.smtpSend(ALICE, {
      subject: 'Inline picture', text: 'see the picture',
      html: '<p>Here it is:</p><img id="pic" src="cid:pic-1@elsewhere.test" alt="picture">',
      attachments: [
        { filename: 'pic.png', content: PNG, contentType: 'image/png', cid: 'pic-1@elsewhere.test' },
        { filename: 'data.bin', content: FILE, contentType: 'application/octet-stream' },
      ],
    });
    const hostile = (tag: string): string => `<p id="greeting">Hello ${tag}</p>
      <script>fetch('${trapUrl}/script-${tag}')</script>
      <img src="x" onerror="fetch('${trapUrl}/onerror-${tag}')">
      <img src="${trapUrl}/${tag}.png" alt="remote">`;
    await rig.smtpSend(ALICE, { subject: 'Remote one', html: hostile('one') });
    await rig.smtpSend(ALICE, { subject: 'Remote two', html: hostile('two') });
    await rig.smtpSend(ALICE, { subject: 'Remote three', html: hostile('three') });
    await rig.smtpSend(ALICE, { from: 'other@elsewhere.test', subject: 'Remote other', html: hostile('other') });
    await rig.t.waitForMessages(ALICE, 5);
    ({ page } = await rig.newPage());
    await rig.logIn(page, ALICE);
  });
  after(async () => {
    await rig?.stop();
    await dns?.stop();
    trap?.close();
  });

  it('draws a cid: image from the message itself and lists the real attachment with its size', async () => {
    await open('Inline picture');
    const frame = page.frameLocator('iframe[title="message"]');
    await frame.locator('#pic').waitFor();
    assert.match((await frame.locator('#pic').getAttribute('src')) ?? '', /^data:image\/png;base64,/);
    assert.equal(await frame.locator('#pic').evaluate((img) => (img as unknown as { naturalWidth: number }).naturalWidth), 2);
    const list = page.locator('.attachments li');
    assert.equal(await list.count(), 1);
    assert.match(await list.innerText(), /data\.bin\s+2\.9 KB/);
  });

  it('downloads an attachment byte for byte', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('.attachments a', { hasText: 'data.bin' }).click()]);
    assert.equal(download.suggestedFilename(), 'data.bin');
    assert.deepEqual(readFileSync((await download.path())!), FILE);
  });

  it('shows who it is really from: the SPF verdict Postamt recorded', async () => {
    const verdicts = page.locator('.verdicts');
    await verdicts.waitFor();
    assert.match(await verdicts.innerText(), /SPF: pass \(outside@elsewhere\.test\)/);
    assert.match(await verdicts.innerText(), /DKIM: none/);
  });

  it('shows the original source', async () => {
    await page.getByRole('button', { name: 'Show original' }).click();
    const source = page.locator('.source pre');
    await source.filter({ hasText: 'Message-ID:' }).waitFor();
    const text = await source.innerText();
    assert.match(text, /^Authentication-Results: mx\.postamt\.test;/m);
    assert.match(text, /Content-ID: <pic-1@elsewhere\.test>/);
    await page.getByRole('button', { name: 'Show original' }).click();
  });

  it('blocks remote images until allowed for one message, and never runs a script or handler', async () => {
    await open('Remote one');
    await page.frameLocator('iframe[title="message"]').locator('#greeting').waitFor();
    await page.getByText('Remote images in this message are blocked.').waitFor();
    await quiet();
    assert.deepEqual(trapped, []);
    await page.getByRole('button', { name: 'Show images', exact: true }).click();
    await page.frameLocator('iframe[title="message"]').locator('img[alt="remote"]').waitFor();
    await quiet();
    assert.deepEqual(trapped, ['/one.png']);
    // Allowed for that message only.
    await open('Remote two');
    await page.getByText('Remote images in this message are blocked.').waitFor();
    await quiet();
    assert.deepEqual(trapped, ['/one.png']);
  });

  it('remembers a sender whose images are always shown, and only that sender', async () => {
    await page.getByRole('button', { name: 'Always show images from outside@elsewhere.test' }).click();
    await quiet();
    assert.deepEqual(trapped, ['/one.png', '/two.png']);
    await open('Remote three');
    await page.frameLocator('iframe[title="message"]').locator('#greeting').waitFor();
    await quiet();
    assert.deepEqual(trapped, ['/one.png', '/two.png', '/three.png']);
    assert.equal(await page.getByText('Remote images in this message are blocked.').count(), 0);
    await open('Remote other');
    await page.getByText('Remote images in this message are blocked.').waitFor();
    await quiet();
    // No script, no onerror handler, and no image of a sender not allowed.
    assert.deepEqual(trapped, ['/one.png', '/two.png', '/three.png']);
  });
});
