/**
 * `npm run bench:webmail`: the webmail's steps timed inside the page, in headless Debian chromium, beside a
 * private Roundcube (bench/lib/roundcube.ts) on a private Dovecot holding the same messages, in the same run
 * with rounds alternating. Each step runs from the person's mousedown, keydown or wheel (the event's time) to
 * the first animation frame in which the result is in the DOM: login → list drawn, open the newest message,
 * the next page (rows 51-100), the last page (the oldest message), a new message drawn after the 250 of its
 * delivery, and a subject search with 11 hits. Median of the rounds, a fresh browser context each. First-load
 * JavaScript and CSS are counted on the wire. Postamt runs as a `postamt serve` child process (its store
 * seeded before it starts), so its figures and its CPU time are its own. Without Roundcube's packages only
 * Postamt runs.
 *
 *   npm run bench:webmail -- [--sizes 21020,100000] [--rounds 5] [--only postamt|roundcube]
 */
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import nodemailer from 'nodemailer';
import { startDovecot } from './lib/dovecot.ts';
import { loadPostamtMailbox } from './lib/mailbox-data.ts';
import { cpuMs, freePort, preparePostamt, startPostamtOnFreshPorts } from './lib/postamt.ts';
import { median } from './lib/results.ts';
import { roundcubeMissing, startRoundcube } from './lib/roundcube.ts';
import { benchArgs } from './lib/args.ts';

const args = benchArgs();
const SIZES = args.text('sizes', '21020,100000').split(',').map(Number);
const ROUNDS = args.number('rounds', 5);
const ONLY = args.text('only', '');
const USER = 'bench@test.example';
const PASSWORD = 'bench password';
const CHROMIUM = '/usr/bin/chromium';
/** Roundcube's "check for new mail" runs every 60 s by default: wait up to two periods. */
const NEW_MAIL_TIMEOUT_MS = 130_000;
const STEP_TIMEOUT_MS = 300_000;

const STEPS = [
  ['login', 'login → message list drawn'],
  ['open', 'open the newest message'],
  ['nextPage', 'next page (rows 51–100)'],
  ['lastPage', 'last page (the oldest message)'],
  ['newMail', 'new message drawn after the 250 of its delivery'],
  ['search', 'subject search (11 hits)'],
] as const;
type Step = (typeof STEPS)[number][0];
type Samples = Record<Step | 'jsKB' | 'cssKB' | 'jsDecodedKB' | 'cssDecodedKB' | 'searchCpu' | 'roundCpu', number[]>;
const emptySamples = (): Samples => ({ login: [], open: [], nextPage: [], search: [], lastPage: [], newMail: [], jsKB: [], cssKB: [], jsDecodedKB: [], cssDecodedKB: [], searchCpu: [], roundCpu: [] });

/** bench/lib/fill-maildir.ts in a child process. */
function fillMaildirChild(maildir: string, n: number): Promise<void> {
  return new Promise((res, rej) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(import.meta.dirname, 'lib', 'fill-maildir.ts'), maildir, String(n)], { stdio: ['ignore', 'ignore', 'inherit'] });
    child.once('error', rej);
    child.once('exit', (code) => (code === 0 ? res() : rej(new Error(`fill-maildir.ts exited ${code}`))));
  });
}

function log(text: string): void {
  process.stderr.write(`[bench:webmail] ${new Date().toISOString().slice(11, 19)} ${text}\n`);
}

/**
 * In every document and frame: the wall-clock time of the first trusted mousedown/keydown/wheel after the
 * bench armed it, and of the first animation frame in which the wanted element is present. Both are kept in
 * sessionStorage, so a step that loads a new page (Roundcube's login) or draws into a frame is timed the same
 * way; times are performance.timeOrigin + the event's or frame's own timestamp.
 */
const PROBE = `(() => {
  let ss;
  try { ss = sessionStorage; } catch { return; }
  for (const type of ['mousedown', 'keydown', 'wheel']) addEventListener(type, (e) => {
    if (e.isTrusted && ss.getItem('bench.armed') === '1') { ss.setItem('bench.armed', '0'); ss.setItem('bench.t0', String(performance.timeOrigin + e.timeStamp)); }
  }, { capture: true, passive: true });
  let watching = false;
  const tick = (ts) => {
    const want = ss.getItem('bench.want');
    if (!want) { watching = false; return; }
    const { selector, text, count } = JSON.parse(want);
    const els = [...document.querySelectorAll(selector)].filter((e) => !text || e.textContent.includes(text));
    if (count ? els.length === count : els.length > 0) {
      ss.removeItem('bench.want');
      ss.setItem('bench.frame', String(performance.timeOrigin + ts));
      watching = false;
      return;
    }
    requestAnimationFrame(tick);
  };
  window.__benchWatch = () => { if (!watching) { watching = true; requestAnimationFrame(tick); } };
  if (ss.getItem('bench.want')) window.__benchWatch();
})();`;

/** The page's sessionStorage, as far as the probe uses it (the bench's types have no DOM). */
interface SessionStorage { getItem(k: string): string | null; setItem(k: string, v: string): void; removeItem(k: string): void }

interface Want { selector: string; text?: string; count?: number }

/** Arms the probe, runs `act`, and waits for the frame with `want`; returns that frame's wall-clock time and the event's. */
async function frameAfter(page: Page, act: () => Promise<void>, want: Want, timeoutMs = STEP_TIMEOUT_MS, arm = true): Promise<{ t0: number; frame: number }> {
  await page.evaluate(([w, a]) => {
    const ss = (globalThis as unknown as { sessionStorage: SessionStorage }).sessionStorage;
    for (const k of ['bench.t0', 'bench.frame']) ss.removeItem(k);
    ss.setItem('bench.want', JSON.stringify(w));
    if (a) ss.setItem('bench.armed', '1');
    (globalThis as unknown as { __benchWatch(): void }).__benchWatch();
  }, [want, arm] as const);
  await act();
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    // The page may be between documents (a form post): then ask again.
    const got = await page.evaluate(() => {
      const ss = (globalThis as unknown as { sessionStorage: SessionStorage }).sessionStorage;
      return [ss.getItem('bench.t0'), ss.getItem('bench.frame')];
    }).catch(() => null);
    if (got?.[1]) return { t0: Number(got[0]), frame: Number(got[1]) };
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${JSON.stringify(want)}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}

async function timed(page: Page, act: () => Promise<void>, want: Want): Promise<number> {
  const { t0, frame } = await frameAfter(page, act, want);
  if (!t0) throw new Error(`no trusted input event before ${JSON.stringify(want)}`);
  return frame - t0;
}

/** One webmail under test: how a person does each step in it, and where its result shows. */
interface Webmail {
  name: 'postamt' | 'roundcube';
  url: string;
  login(page: Page): Promise<void>;
  /** From the list's first page (the newest row on top). */
  open(page: Page, subject: string): Promise<number>;
  nextPage(page: Page, subject: string): Promise<number>;
  lastPage(page: Page, subject: string): Promise<number>;
  firstPage(page: Page, subject: string): Promise<void>;
  /** Delivers a message (SMTP to Postamt, LMTP to Dovecot) and resolves at its 250. */
  deliver(subject: string): Promise<number>;
  search(page: Page, words: string, hits: number): Promise<number>;
  listRow: string;
  /** The server process's CPU time so far (ms, /proc), where the server is one process (Postamt). */
  serverCpu?: () => number;
}

function postamt(url: string, smtpPort: number, pid: number): Webmail {
  const row = '.item .subject';
  return {
    name: 'postamt', url, listRow: row, serverCpu: () => cpuMs(pid),
    async login(page) {
      await page.locator('input[name="address"]').fill(USER);
      await page.locator('input[name="password"]').fill(PASSWORD);
    },
    open: (page, subject) => timed(page, () => page.locator('.item', { hasText: subject }).locator('.open-item').click(), { selector: '.reader h2', text: subject }),
    async nextPage(page, subject) {
      // One turn of the wheel over the list that scrolls it by 50 rows: those rows are asked for then.
      const box = (await page.locator('.list-scroll').boundingBox())!;
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      return timed(page, () => page.mouse.wheel(0, 50 * 76), { selector: row, text: subject });
    },
    async lastPage(page, subject) {
      await page.locator('.list-scroll').focus();
      return timed(page, () => page.keyboard.press('End'), { selector: row, text: subject });
    },
    async firstPage(page, subject) {
      await page.locator('.list-scroll').evaluate((el) => { el.scrollTop = 0; });
      await page.locator('.item', { hasText: subject }).waitFor();
    },
    async deliver(subject) {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: smtpPort, secure: false, ignoreTLS: true, name: 'client.test' });
      try {
        await transport.sendMail({ from: 'live@elsewhere.test', to: USER, subject, text: 'new' });
        return Date.now();
      } finally {
        transport.close();
      }
    },
    async search(page, words, hits) {
      const form = page.getByRole('search');
      await form.getByRole('button', { name: 'Options' }).click();
      const field = form.getByLabel('Subject', { exact: true });
      await field.fill(words);
      return timed(page, () => field.press('Enter'), { selector: row, text: words, count: hits });
    },
  };
}

function roundcube(url: string, lmtpPort: number): Webmail {
  const row = '#messagelist tbody tr td.subject';
  const button = (page: Page, cls: string) => page.locator(`.pagenav a.${cls}`).first();
  return {
    name: 'roundcube', url, listRow: row,
    async login(page) {
      await page.locator('#rcmloginuser').fill('bench');
      await page.locator('#rcmloginpwd').fill('bench');
    },
    // A click selects the row; Roundcube loads the message into its preview frame 60 ms later.
    open: (page, subject) => timed(page, () => page.locator('#messagelist tbody tr', { hasText: subject }).locator('td.subject').click(), { selector: 'h2.subject', text: subject }),
    nextPage: (page, subject) => timed(page, () => button(page, 'nextpage').click(), { selector: row, text: subject }),
    lastPage: (page, subject) => timed(page, () => button(page, 'lastpage').click(), { selector: row, text: subject }),
    async firstPage(page, subject) {
      await button(page, 'firstpage').click();
      await page.locator('#messagelist tbody tr', { hasText: subject }).waitFor();
    },
    async deliver(subject) {
      const transport = nodemailer.createTransport({ host: '127.0.0.1', port: lmtpPort, lmtp: true, name: 'client.test' });
      try {
        await transport.sendMail({ from: 'live@elsewhere.test', to: USER, subject, text: 'new' });
        return Date.now();
      } finally {
        transport.close();
      }
    },
    async search(page, words, hits) {
      const field = page.locator('#mailsearchform');
      await field.fill(words);
      return timed(page, () => field.press('Enter'), { selector: row, text: words, count: hits });
    },
  };
}

/** Subject of bench message i (bench/lib/mailbox-data.ts). */
const subjectOf = (i: number): string => `message ${i}`;
/**
 * The words of the subject search and its hits: "message 1000" finds message 1000 and 10000 to 10009 in
 * 21,020 or 100,000 messages; a small trial mailbox (300 to 10,010 messages) searches for "message 29".
 */
function searchFor(n: number): { words: string; hits: number } {
  const prefix = n > 10_010 ? '1000' : '29';
  let hits = 0;
  for (let i = 0; i < n; i++) if (String(i).startsWith(prefix)) hits++;
  return { words: `message ${prefix}`, hits };
}

/**
 * Roundcube looks for new mail every 60 s from its page's load, so when in that period a message arrives
 * decides its wait: round r of `rounds` delivers (r + 0.5) / rounds of the period after the login, spreading
 * the rounds evenly over it (for both webmails, though Postamt's push does not depend on it).
 */
const POLL_PERIOD_MS = 60_000;

/** Round `r` of `rounds`; `rounds` 0 (the warm-up) delivers at once. */
async function round(browser: Browser, w: Webmail, n: number, out: Samples, r: number, rounds: number): Promise<void> {
  const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
  // A step on a large mailbox under load may take long: Playwright's calls wait as long as a step may.
  context.setDefaultTimeout(STEP_TIMEOUT_MS);
  try {
    const page = await context.newPage();
    const cpu0 = w.serverCpu?.();
    const wire = { js: 0, css: 0, jsDecoded: 0, cssDecoded: 0 };
    let counting = true;
    const pending: Promise<void>[] = [];
    const seen = new Set<string>();
    page.on('response', (r) => {
      if (!counting) return;
      const type = r.headers()['content-type'] ?? '';
      const kind = type.includes('javascript') ? 'js' : type.includes('text/css') ? 'css' : null;
      if (!kind) return;
      pending.push(r.request().sizes().then((s) => { wire[kind] += s.responseBodySize + s.responseHeadersSize; }).catch(() => undefined));
      // Decoded once per file: the second page's copy of a file the login page loaded comes from the cache.
      if (seen.has(r.url())) return;
      seen.add(r.url());
      pending.push(r.body().then((b) => { wire[`${kind}Decoded`] += b.length; }).catch(() => undefined));
    });
    await page.addInitScript(PROBE);
    await page.goto(w.url);
    await w.login(page);
    const submit = w.name === 'postamt' ? page.locator('.login button[type="submit"]') : page.locator('#rcmloginsubmit');
    const newest = subjectOf(n - 1);
    out.login.push(await timed(page, () => submit.click(), { selector: w.listRow, text: newest }));
    const loggedIn = Date.now();
    counting = false;
    await Promise.all(pending);
    out.jsKB.push(wire.js / 1024);
    out.cssKB.push(wire.css / 1024);
    out.jsDecodedKB.push(wire.jsDecoded / 1024);
    out.cssDecodedKB.push(wire.cssDecoded / 1024);
    out.open.push(await w.open(page, newest));
    out.nextPage.push(await w.nextPage(page, subjectOf(n - 51)));
    out.lastPage.push(await w.lastPage(page, subjectOf(0)));
    await w.firstPage(page, newest);
    if (rounds > 0) await new Promise((res) => setTimeout(res, Math.max(0, loggedIn + ((r + 0.5) / rounds) * POLL_PERIOD_MS - Date.now())));
    const subject = `live ${Date.now()}`;
    const drawn = frameAfter(page, async () => undefined, { selector: w.listRow, text: subject }, NEW_MAIL_TIMEOUT_MS, false);
    const accepted = await w.deliver(subject);
    out.newMail.push((await drawn).frame - accepted);
    const { words, hits } = searchFor(n);
    const cpu1 = w.serverCpu?.();
    out.search.push(await w.search(page, words, hits));
    if (w.serverCpu) {
      const cpu2 = w.serverCpu();
      out.searchCpu.push(cpu2 - cpu1!);
      out.roundCpu.push(cpu2 - cpu0!);
    }
  } finally {
    await context.close();
  }
}

async function main(): Promise<void> {
  const built = spawnSync(process.execPath, ['scripts/build-ui.mjs'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
  const missing = ONLY === 'postamt' ? 'left out (--only postamt)' : roundcubeMissing();
  if (missing) log(`Roundcube does not run: ${missing}`);
  // No smooth scrolling: a wheel turn moves the list at once in both webmails.
  const browser = await chromium.launch({ executablePath: CHROMIUM, args: ['--no-sandbox', '--disable-smooth-scrolling'] });
  const tables: string[] = [];
  const cleanup: (() => Promise<void> | void)[] = [];
  try {
    for (const n of SIZES) {
      const webmails: Webmail[] = [];
      const withRoundcube = !missing && ONLY !== 'postamt';
      const dir = mkdtempSync(join(tmpdir(), 'bench-roundcube-'));
      cleanup.push(() => rmSync(dir, { recursive: true, force: true }));
      // Dovecot's auth and Roundcube's php-fpm and nginx workers run as other users and must reach their files.
      chmodSync(dir, 0o755);
      const dovecotDir = join(dir, 'dovecot');
      // The Maildir is written by a child process while this one loads Postamt's store: two cores, both busy.
      const t0 = Date.now();
      const maildir = withRoundcube ? fillMaildirChild(join(dovecotDir, 'home', 'bench', 'Maildir'), n)
        .then(() => log(`Dovecot: ${n} messages written to the Maildir in ${((Date.now() - t0) / 1000).toFixed(1)} s`)) : null;
      maildir?.catch(() => undefined);
      if (ONLY !== 'roundcube') {
        // `postamt serve` in a process of its own, as a user runs it: the browser's steps are then never held
        // up by the bench's own work (Playwright's calls, the SMTP client) on one event loop, nor the reverse.
        const postamtDir = join(dir, 'postamt');
        mkdirSync(postamtDir);
        const prepared = await preparePostamt({ dir: postamtDir, address: USER, password: PASSWORD, connections: 1000, http: true, smtp: true });
        await loadPostamtMailbox({ dataDir: prepared.dataDir, address: USER, n, onProgress: (done) => { if (done % 20000 === 0) log(`Postamt: ${done}/${n}`); } });
        log(`Postamt: ${n} messages stored in ${((Date.now() - t0) / 1000).toFixed(1)} s`);
        const server = await startPostamtOnFreshPorts(prepared, log);
        cleanup.push(() => server.stop());
        // A server that has been running has its search index filled: measure that, not the catching up.
        const t1 = Date.now();
        await server.quiet();
        log(`Postamt: serving; search index caught up (server quiet) in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
        webmails.push(postamt(`https://localhost:${prepared.ports.https}/`, prepared.ports.smtp!, server.child.pid!));
      }
      if (maildir) {
        await maildir;
        const [imapPort, pop3Port, lmtpPort, httpPort] = [await freePort(), await freePort(), await freePort(), await freePort()];
        const dovecot = await startDovecot({
          dir: dovecotDir, imapPort, pop3Port,
          extraConfig: [
            'protocols = imap pop3 lmtp',
            // LMTP delivers bench@test.example to the user "bench" that Roundcube logs in as.
            'auth_username_format = %Ln',
            `service lmtp {\n  inet_listener lmtp {\n    address = 127.0.0.1\n    port = ${lmtpPort}\n  }\n}`,
          ],
        });
        cleanup.push(() => dovecot.stop());
        // Dovecot indexes a Maildir when it is first opened; do that before any measurement.
        const t1 = Date.now();
        let indexed = spawnSync('true', { encoding: 'utf8' });
        // Its auth process may still be starting when the ports answer: ask again for a few seconds.
        for (let i = 0; i < 20; i++) {
          indexed = spawnSync('doveadm', ['-c', join(dovecotDir, 'dovecot.conf'), 'mailbox', 'status', '-u', 'bench', 'messages', 'INBOX'], { encoding: 'utf8' });
          if (indexed.status === 0) break;
          await new Promise((r) => setTimeout(r, 500));
        }
        if (indexed.status !== 0) throw new Error(`doveadm mailbox status failed: ${indexed.stderr}`);
        log(`Dovecot: INBOX indexed (${indexed.stdout.trim()}) in ${((Date.now() - t1) / 1000).toFixed(1)} s`);
        const rc = await startRoundcube({ dir: join(dir, 'roundcube'), httpPort, imapPort });
        cleanup.push(() => rc.stop());
        webmails.push(roundcube(rc.url, lmtpPort));
      }
      const out = new Map(webmails.map((w) => [w.name, emptySamples()]));
      // One round each first, not counted: caches warm (Dovecot's header cache, PHP's opcache, the store's pages).
      for (const w of webmails) {
        await round(browser, w, n, emptySamples(), 0, 0);
        log(`${n}: ${w.name}: warm-up round done`);
      }
      for (let r = 0; r < ROUNDS; r++) {
        for (const w of r % 2 ? [...webmails].reverse() : webmails) {
          const o = out.get(w.name)!;
          await round(browser, w, n, o, r, ROUNDS);
          log(`${n}: ${w.name} round ${r + 1}: ${Object.entries(o).filter(([, v]) => v.length > 0).map(([k, v]) => `${k} ${v[v.length - 1]!.toFixed(0)}`).join(', ')} (load ${loadavg()[0]!.toFixed(1)})`);
        }
      }
      tables.push(table(n, out));
      while (cleanup.length) await cleanup.pop()!();
    }
  } finally {
    while (cleanup.length) await Promise.resolve(cleanup.pop()!()).catch((err: unknown) => log(`cleanup: ${String(err)}`));
    await browser.close();
  }
  if (missing) tables.push(`Roundcube did not run beside Postamt: ${missing}.`);
  process.stdout.write(tables.join('\n\n') + '\n');
}

function table(n: number, out: Map<string, Samples>): string {
  const p = out.get('postamt');
  const r = out.get('roundcube');
  const cell = (s: Samples | undefined, k: keyof Samples, digits = 0): string => (s && s[k].length > 0 ? median(s[k]).toFixed(digits) : '–');
  const ratio = (k: keyof Samples): string => {
    if (!p || !r) return '–';
    const x = median(r[k]) / median(p[k]);
    return `${x.toFixed(x < 1 ? 2 : 1)}×`;
  };
  return [
    `### ${n.toLocaleString('en')} messages (median of ${ROUNDS} rounds, ms unless noted)`,
    '',
    '| step | Postamt | Roundcube 1.6 | Roundcube ÷ Postamt |',
    '|---|---|---|---|',
    ...STEPS.map(([k, label]) => `| ${label} | ${cell(p, k)} | ${cell(r, k)} | ${ratio(k)} |`),
    `| first-load JavaScript on the wire (KB) | ${cell(p, 'jsKB', 1)} | ${cell(r, 'jsKB', 1)} | ${ratio('jsKB')} |`,
    `| first-load JavaScript decoded (KB) | ${cell(p, 'jsDecodedKB', 1)} | ${cell(r, 'jsDecodedKB', 1)} | ${ratio('jsDecodedKB')} |`,
    `| first-load CSS on the wire (KB) | ${cell(p, 'cssKB', 1)} | ${cell(r, 'cssKB', 1)} | ${ratio('cssKB')} |`,
    `| first-load CSS decoded (KB) | ${cell(p, 'cssDecodedKB', 1)} | ${cell(r, 'cssDecodedKB', 1)} | ${ratio('cssDecodedKB')} |`,
    `| Postamt server CPU: the subject search (ms) | ${cell(p, 'searchCpu')} | – | |`,
    `| Postamt server CPU: the whole round (ms) | ${cell(p, 'roundCpu')} | – | |`,
    '',
    `Load average (1 min) at the end: ${loadavg()[0]!.toFixed(1)} on ${cpus().length} cores.`,
  ].join('\n');
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
