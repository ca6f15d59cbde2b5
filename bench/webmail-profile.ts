/**
 * `npm run bench:webmail-profile`: where the webmail's login → list, jump to the last page and subject search
 * spend their time in the page. Headless chromium with a performance trace: each request's start and end and
 * the page's main-thread tasks (script, style, layout, paint) from the person's input to the frame with the
 * result, so the page's own cost is told apart from the wait for the server; Postamt runs as a `postamt serve`
 * child and its CPU time over each step is printed.
 *
 *   npm run bench:webmail-profile -- [--messages 21020]
 */
import { spawnSync } from 'node:child_process';
import { chromium, type Page } from 'playwright-core';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadPostamtMailbox } from './lib/mailbox-data.ts';
import { cpuMs, preparePostamt, startPostamtOnFreshPorts } from './lib/postamt.ts';
import { benchArgs } from './lib/args.ts';

const N = benchArgs().number('messages', 21_020);
const USER = 'bench@test.example';
const PASSWORD = 'bench password';

interface TraceEvent { name: string; cat: string; ph: string; ts: number; dur?: number; pid: number; tid: number; args?: Record<string, unknown> }

/** The wall-clock time (ms) of the next trusted mousedown/keydown, and of the first frame where `text` is in a row. */
const PROBE = `
  addEventListener('mousedown', (e) => { if (e.isTrusted) window.__t0 = performance.timeOrigin + e.timeStamp; }, true);
  addEventListener('keydown', (e) => { if (e.isTrusted) window.__t0 = performance.timeOrigin + e.timeStamp; }, true);
  window.__frameWith = (text) => new Promise((resolve) => {
    const tick = (ts) => {
      if ([...document.querySelectorAll('.item .subject')].some((e) => e.textContent.includes(text))) resolve(performance.timeOrigin + ts);
      else requestAnimationFrame(tick);
    };
    requestAnimationFrame(tick);
  });
`;

let serverPid = 0;

async function profile(page: Page, label: string, act: () => Promise<void>, text: string): Promise<void> {
  const browser = page.context().browser()!;
  await browser.startTracing(page, { categories: ['devtools.timeline', 'disabled-by-default-devtools.timeline', 'blink.user_timing'] });
  await page.evaluate(() => { (globalThis as unknown as { __t0: number }).__t0 = 0; performance.clearResourceTimings(); });
  const drawn = page.evaluate((x) => (globalThis as unknown as { __frameWith(x: string): Promise<number> }).__frameWith(x), text);
  const cpu0 = cpuMs(serverPid);
  await act();
  const frame = await drawn;
  const serverCpu = cpuMs(serverPid) - cpu0;
  const { t0, origin, resources } = await page.evaluate(() => ({
    t0: (globalThis as unknown as { __t0: number }).__t0,
    origin: performance.timeOrigin,
    resources: (performance.getEntriesByType('resource') as unknown as { name: string; startTime: number; responseEnd: number; responseStart: number; requestStart: number; transferSize: number }[]).map((r) => ({ name: r.name, start: r.startTime, end: r.responseEnd, wait: r.responseStart - r.requestStart, bytes: r.transferSize })),
  }));
  const trace = JSON.parse((await browser.stopTracing()).toString('utf8')) as { traceEvents: TraceEvent[] };
  const total = frame - t0;
  console.log(`\n## ${label}: ${total.toFixed(0)} ms from input to the frame with "${text}" (server CPU ${serverCpu} ms)\n`);
  console.log('| request | starts (ms) | ends (ms) | server wait (ms) | bytes |\n|---|---|---|---|---|');
  for (const r of resources) {
    const start = origin + r.start - t0;
    if (start < -5 || start > total) continue;
    console.log(`| ${new URL(r.name).pathname} | ${start.toFixed(0)} | ${(origin + r.end - t0).toFixed(0)} | ${r.wait.toFixed(0)} | ${r.bytes} |`);
  }
  // The renderer's main thread: its top-level tasks inside [t0, frame], by what ran inside them.
  const main = trace.traceEvents.find((e) => e.name === 'thread_name' && e.args?.name === 'CrRendererMain' && trace.traceEvents.some((x) => x.pid === e.pid && x.name === 'RunTask'));
  if (!main) return;
  const events = trace.traceEvents.filter((e) => e.pid === main.pid && e.tid === main.tid && e.ph === 'X');
  // Trace timestamps are monotonic µs; line them up with the page's clock through the frame's own timestamp.
  const tasks = events.filter((e) => e.name === 'RunTask');
  const kinds = new Map<string, number>();
  const inWindow = (e: TraceEvent, lo: number, hi: number): boolean => e.ts >= lo && e.ts + (e.dur ?? 0) <= hi;
  const lastTask = tasks.at(-1)!;
  const hi = lastTask.ts + (lastTask.dur ?? 0);
  const lo = hi - total * 1000 - 50_000;
  let busy = 0;
  for (const task of tasks.filter((e) => inWindow(e, lo, hi))) {
    busy += task.dur ?? 0;
    for (const e of events) {
      if (e === task || !inWindow(e, task.ts, task.ts + (task.dur ?? 0))) continue;
      if (['FunctionCall', 'EvaluateScript', 'v8.compile', 'EventDispatch', 'TimerFire', 'FireAnimationFrame', 'UpdateLayoutTree', 'Layout', 'Paint', 'PrePaint', 'Layerize', 'ParseHTML', 'ResourceReceivedData', 'XHRLoad'].includes(e.name)) {
        kinds.set(e.name, (kinds.get(e.name) ?? 0) + (e.dur ?? 0));
      }
    }
  }
  console.log(`\nmain thread busy ${(busy / 1000).toFixed(1)} ms of ${total.toFixed(0)} ms (the rest is waiting for the network and the server)`);
  console.log([...kinds].sort((a, b) => b[1] - a[1]).map(([k, v]) => `${k} ${(v / 1000).toFixed(1)} ms`).join(', '));
}

async function main(): Promise<void> {
  const built = spawnSync(process.execPath, ['scripts/build-ui.mjs'], { encoding: 'utf8' });
  if (built.status !== 0) throw new Error(built.stderr);
  const dir = mkdtempSync(join(tmpdir(), 'bench-webmail-profile-'));
  mkdirSync(join(dir, 'postamt'));
  const prepared = await preparePostamt({ dir: join(dir, 'postamt'), address: USER, password: PASSWORD, connections: 1000, http: true });
  await loadPostamtMailbox({ dataDir: prepared.dataDir, address: USER, n: N });
  const server = await startPostamtOnFreshPorts(prepared);
  serverPid = server.child.pid!;
  // The search index caught up with the seeded messages, as on a server that has been running.
  await server.quiet();
  const browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: ['--no-sandbox', '--disable-smooth-scrolling'] });
  try {
    for (let round = 0; round < 2; round++) {
      const context = await browser.newContext({ ignoreHTTPSErrors: true, viewport: { width: 1280, height: 800 } });
      const page = await context.newPage();
      await page.addInitScript(PROBE);
      await page.goto(`https://localhost:${prepared.ports.https}/`);
      await page.locator('input[name="address"]').fill(USER);
      await page.locator('input[name="password"]').fill(PASSWORD);
      await profile(page, `round ${round + 1}: login → list`, () => page.locator('.login button[type="submit"]').click(), `message ${N - 1}`);
      await page.locator('.list-scroll').focus();
      await profile(page, `round ${round + 1}: End → last page`, () => page.keyboard.press('End'), 'message 0');
      const form = page.getByRole('search');
      await form.getByRole('button', { name: 'Options' }).click();
      const field = form.getByLabel('Subject', { exact: true });
      await field.fill('message 1000');
      await profile(page, `round ${round + 1}: subject search, Enter → the hits`, () => field.press('Enter'), 'message 10009');
      await context.close();
    }
  } finally {
    await browser.close();
    await server.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
