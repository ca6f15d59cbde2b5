/**
 * `npm run bench:webmail`: the webmail's steps timed inside the page, in headless Debian chromium, from the
 * person's mousedown or keydown (the event's timeStamp) to the first animation frame in which the result is in
 * the DOM: login → list drawn, open the newest message, the next page (the oldest page, fetched on demand), a
 * subject search with 11 hits, and a new message drawn after its SMTP 250. Median of 5 rounds, a fresh browser
 * context each, on a 21,020- and a 100,000-message INBOX (the messages of bench/lib/mailbox-data.ts). First-load
 * JavaScript and CSS are counted on the wire. Roundcube runs beside it only when Debian's roundcube packages
 * are installed; otherwise its figures measured earlier on this machine are printed for reference.
 *
 *   npm run bench:webmail -- [--sizes 21020,100000] [--rounds 5]
 */
import { spawnSync } from 'node:child_process';
import { chromium, type Browser, type Page } from 'playwright-core';
import nodemailer from 'nodemailer';
import { benchMessage } from './lib/mailbox-data.ts';
import { median } from './lib/results.ts';
import { startTestServer, type TestServer } from '../test/harness/server.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: string): string => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? args[i + 1]! : fallback;
};
const SIZES = opt('sizes', '21020,100000').split(',').map(Number);
const ROUNDS = Number(opt('rounds', '5'));
const USER = 'bench@test.example';
const PASSWORD = 'bench password';
const CHROMIUM = '/usr/bin/chromium';
/** Roundcube 1.6.5 on this machine, 21,020 messages, same method (the issue's measurement; not this run). */
const ROUNDCUBE_EARLIER = { login: 305, open: 168, nextPage: 104, search: 102, newMail: 36_000, jsKB: 268, cssKB: 70 };

function log(text: string): void {
  process.stderr.write(`[bench:webmail] ${text}\n`);
}

async function seed(t: TestServer, n: number): Promise<void> {
  const store = t.server.services.store;
  const account = (await store.getAccount(USER))!;
  const inbox = (await store.getMailbox(account.id, 'INBOX'))!;
  const now = Math.floor(Date.now() / 1000);
  const start = Date.now() - n * 1000;
  for (let from = 0; from < n; from += 2000) {
    const batch = [];
    for (let i = from; i < Math.min(n, from + 2000); i++) {
      const tx = store.beginDelivery();
      tx.write(benchMessage(i, n, now));
      batch.push({ tx, plan: { mailboxes: [{ mailboxId: inbox.id, internalDate: new Date(start + i * 1000) }] } });
    }
    await store.commitDeliveries(batch);
    if (from % 20000 === 0) log(`seeded ${Math.min(n, from + 2000)}/${n}`);
  }
}

/** In the page: the time of the next trusted mousedown/keydown, and a wait for the first frame where `selector` (with `text`) is present. */
const PROBE = `
  window.__t0 = 0;
  for (const type of ['mousedown', 'keydown']) addEventListener(type, (e) => { if (e.isTrusted && !window.__armed) { window.__t0 = e.timeStamp; window.__armed = true; } }, true);
  window.__frameWith = (selector, text, count) => new Promise((resolve) => {
    const found = () => { const els = [...document.querySelectorAll(selector)].filter((e) => !text || e.textContent.includes(text)); return count ? els.length === count : els.length > 0; };
    const tick = (ts) => { if (found()) resolve({ frame: ts, origin: performance.timeOrigin }); else requestAnimationFrame(tick); };
    requestAnimationFrame(tick);
  });
`;

async function timed(page: Page, act: () => Promise<void>, selector: string, text: string | null, count = 0): Promise<number> {
  await page.evaluate(() => { (globalThis as unknown as { __armed: boolean }).__armed = false; });
  const wait = page.evaluate(([s, x, c]) => (globalThis as unknown as { __frameWith(s: unknown, x: unknown, c: unknown): Promise<{ frame: number }> }).__frameWith(s, x, c), [selector, text, count] as const);
  await act();
  const { frame } = await wait;
  const t0 = await page.evaluate(() => (globalThis as unknown as { __t0: number }).__t0);
  return frame - t0;
}

async function round(browser: Browser, t: TestServer, base: string, n: number, out: Record<string, number[]>): Promise<void> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  const page = await context.newPage();
  const wire: Record<string, number> = { js: 0, css: 0 };
  page.on('response', (r) => {
    const type = r.headers()['content-type'] ?? '';
    const kind = type.includes('javascript') ? 'js' : type.includes('text/css') ? 'css' : null;
    if (kind) void r.request().sizes().then((s) => { wire[kind]! += s.responseBodySize + s.responseHeadersSize; });
  });
  await page.addInitScript(PROBE);
  await page.goto(base + '/');
  await page.locator('input[name="address"]').fill(USER);
  await page.locator('input[name="password"]').fill(PASSWORD);
  const newest = `message ${n - 1}`;
  out.login!.push(await timed(page, () => page.locator('.login button[type="submit"]').click(), '.item .subject', newest));
  out.open!.push(await timed(page, () => page.locator('.item', { hasText: newest }).locator('.open-item').click(), '.reader h2', newest));
  await page.locator('.list-scroll').focus();
  out.nextPage!.push(await timed(page, () => page.keyboard.press('End'), '.item .subject', 'message 0'));
  await page.locator('.list-scroll').evaluate((el) => { el.scrollTop = 0; });
  const form = page.getByRole('search');
  await form.getByRole('button', { name: 'Options' }).click();
  await form.getByLabel('Subject', { exact: true }).fill('message 1000');
  out.search!.push(await timed(page, () => form.getByLabel('Subject', { exact: true }).press('Enter'), '.item .subject', 'message 1000', 11));
  await form.getByRole('button', { name: 'Clear' }).click();
  await page.locator('.list-head h2', { hasText: 'Inbox' }).waitFor();
  await page.locator('.item', { hasText: newest }).waitFor();
  const subject = `live ${Date.now()}`;
  const drawn = page.evaluate(([s]) => (globalThis as unknown as { __frameWith(s: unknown, x: unknown, c: unknown): Promise<{ frame: number; origin: number }> }).__frameWith('.item .subject', s, 0), [subject] as const);
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.test' });
  await transport.sendMail({ from: 'live@elsewhere.test', to: USER, subject, text: 'new' });
  const accepted = performance.timeOrigin + performance.now();
  transport.close();
  const { frame, origin } = await drawn;
  out.newMail!.push(origin + frame - accepted);
  out.jsKB!.push(wire.js! / 1024);
  out.cssKB!.push(wire.css! / 1024);
  await context.close();
}

async function main(): Promise<void> {
  const built = spawnSync(process.execPath, ['scripts/build-ui.mjs'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
  const roundcube = spawnSync('dpkg-query', ['-W', '-f=${Status}', 'roundcube'], { encoding: 'utf8' }).stdout.includes('install ok installed');
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox'] });
  const tables: string[] = [];
  try {
    for (const n of SIZES) {
      const t = await startTestServer({ config: { auth: { maxFailuresPerAccount: 1000, maxFailuresPerIp: 1000 } } as never });
      try {
        await t.addUser(USER, PASSWORD);
        const t0 = Date.now();
        await seed(t, n);
        log(`${n} messages in ${((Date.now() - t0) / 1000).toFixed(0)} s`);
        const out: Record<string, number[]> = { login: [], open: [], nextPage: [], search: [], newMail: [], jsKB: [], cssKB: [] };
        for (let r = 0; r < ROUNDS; r++) {
          await round(browser, t, `https://localhost:${t.ports.https}`, n, out);
          log(`${n}: round ${r + 1}: ${Object.entries(out).map(([k, v]) => `${k} ${v[v.length - 1]!.toFixed(0)}`).join(', ')}`);
        }
        const m = (k: string): string => median(out[k]!).toFixed(0);
        const rc = n === 21020 ? ROUNDCUBE_EARLIER : null;
        tables.push([
          `### ${n.toLocaleString('en')} messages (median of ${ROUNDS}, ms unless noted)`,
          '',
          `| step | Postamt | Roundcube 1.6.5 (${roundcube ? 'same run' : 'earlier run, not installed now'}) |`,
          '|---|---|---|',
          `| login → message list drawn | ${m('login')} | ${rc ? rc.login : '–'} |`,
          `| open the newest message | ${m('open')} | ${rc ? rc.open : '–'} |`,
          `| next page (End: the oldest page, fetched on demand) | ${m('nextPage')} | ${rc ? rc.nextPage : '–'} |`,
          `| subject search, 11 hits | ${m('search')} | ${rc ? rc.search : '–'} |`,
          `| new message drawn after the SMTP 250 | ${m('newMail')} | ${rc ? `${rc.newMail} (median; it polls every 60 s)` : '–'} |`,
          `| first-load JavaScript on the wire (KB) | ${median(out.jsKB!).toFixed(1)} | ${rc ? rc.jsKB : '–'} |`,
          `| first-load CSS on the wire (KB) | ${median(out.cssKB!).toFixed(1)} | ${rc ? rc.cssKB : '–'} |`,
        ].join('\n'));
      } finally {
        await t.stop();
      }
    }
  } finally {
    await browser.close();
  }
  if (!roundcube) tables.push('Roundcube: Debian\'s roundcube packages are not installed on this machine, so it did not run beside Postamt; its column shows the figures measured earlier on this machine with the same method.');
  process.stdout.write(tables.join('\n\n') + '\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
