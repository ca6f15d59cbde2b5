/**
 * `npm run bench:search`: in one process, on an INBOX of bench messages, what the search index saves the
 * JMAP methods the webmail calls: Email/get of a page of 50 list rows (the webmail's list properties) and
 * Email/query text searches, each with the index and without it (reading every message, as before the index),
 * alternating, median ms per call; and the indexer's rate. CPU time on a shared machine: compare the columns
 * of one run, not runs on different days.
 *
 *   npm run bench:search -- [--messages 5000] [--rounds 10]
 */
import { loadavg } from 'node:os';
import { SearchIndexer } from '../src/app/search-indexer.ts';
import { silentLogger } from '../src/core/log.ts';
import type { StoreJmapMailBackend } from '../src/app/jmap-mail-backend.ts';
import { CORE_CAPABILITY, MAIL_CAPABILITY } from '../src/protocols/jmap/capabilities.ts';
import type { JmapEngine } from '../src/protocols/jmap/engine.ts';
import type { JmapMailBackend } from '../src/protocols/jmap/mail/backend.ts';
import { ADDRESS, openJmapMailFixture } from '../test/harness/jmap-mail-fixture.ts';
import { loadPostamtStore, NEEDLE } from './lib/mailbox-data.ts';
import { median } from './lib/results.ts';
import { benchArgs } from './lib/args.ts';

const args = benchArgs();
const N = args.number('messages', 5000);
const ROUNDS = args.number('rounds', 10);
/**
 * The properties of a webmail list row, as ui/webmail/types.ts LIST_PROPS: not imported, since that module
 * brings preact's DOM types into the server's type check.
 */
const LIST_PROPS = ['threadId', 'mailboxIds', 'from', 'to', 'subject', 'preview', 'receivedAt', 'keywords', 'hasAttachment'];
const fixture = await openJmapMailFixture();
const { store } = fixture;
try {
  const loadStart = Date.now();
  await loadPostamtStore({ store, address: ADDRESS, n: N, batch: 1000 });
  console.log(`${N} messages of ~5 KB loaded in ${Date.now() - loadStart} ms; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);

  const plain = Object.assign(Object.create(fixture.mail) as StoreJmapMailBackend, { searchEmails: undefined, emailSummaries: undefined });
  const engines = { index: fixture.engine(), none: fixture.engine(plain) };
  const call = async (engine: JmapEngine<JmapMailBackend>, methodCalls: unknown[]): Promise<{ ms: number; body: unknown }> => {
    const started = performance.now();
    const r = await engine.handle({ username: ADDRESS }, { body: JSON.stringify({ using: [CORE_CAPABILITY, MAIL_CAPABILITY], methodCalls }), contentType: 'application/json' });
    return { ms: performance.now() - started, body: r.body };
  };

  const indexer = new SearchIndexer({ store, logger: silentLogger(), delayMs: 0, batchSize: 50, busyUtilization: 1, busyWaitMs: 0 });
  const indexStart = performance.now();
  indexer.start();
  await indexer.idle();
  const indexMs = performance.now() - indexStart;
  await indexer.stop();
  console.log(`indexer: ${indexer.stats.indexed} messages in ${indexMs.toFixed(0)} ms (${(indexer.stats.indexed / (indexMs / 1000)).toFixed(0)} messages/s)`);

  const A = fixture.accountId;
  const inbox = fixture.inbox;
  const pages = [0, Math.floor(N / 2), Math.max(0, N - 50)];
  // The ids of the newest, a middle and the oldest page, asked for once (Email/get alone is timed).
  const pageIds = new Map<number, string[]>();
  for (const position of pages) {
    const r = await call(engines.index, [['Email/query', { accountId: A, filter: { inMailbox: `M${inbox}` }, position, limit: 50 }, 'q']]);
    pageIds.set(position, (r.body as { methodResponses: [string, { ids: string[] }][] }).methodResponses[0]![1].ids);
  }
  const cases: { name: string; calls: (page: number) => unknown[] }[] = [
    { name: 'Email/get, 50 list rows (webmail LIST_PROPS), ids known', calls: (position) => [['Email/get', { accountId: A, ids: pageIds.get(position), properties: LIST_PROPS }, 'g']] },
    { name: `Email/query subject "message ${Math.floor(N / 3)}" (1 hit + prefixes)`, calls: () => [['Email/query', { accountId: A, filter: { inMailbox: `M${inbox}`, subject: `message ${Math.floor(N / 3)}` }, limit: 50 }, 'q']] },
    { name: `Email/query text "${NEEDLE}" (4 hits, in bodies)`, calls: () => [['Email/query', { accountId: A, filter: { inMailbox: `M${inbox}`, text: NEEDLE }, limit: 50 }, 'q']] },
  ];
  console.log(`\n${ROUNDS} rounds, alternating; median ms per request (in-process, no HTTP)\n`);
  console.log('| request | with the index | without (reading the messages) | ratio |');
  console.log('|---|---|---|---|');
  for (const c of cases) {
    const times = { index: [] as number[], none: [] as number[] };
    const rounds = c.name.startsWith('Email/get') ? ROUNDS * 3 : Math.max(3, Math.floor(ROUNDS / 2));
    for (let r = 0; r < rounds; r++) {
      const page = pages[r % pages.length]!;
      for (const which of (r % 2 === 0 ? ['index', 'none'] : ['none', 'index']) as ('index' | 'none')[]) times[which].push((await call(engines[which], c.calls(page))).ms);
    }
    const a = median(times.index);
    const b = median(times.none);
    console.log(`| ${c.name} | ${a.toFixed(1)} | ${b.toFixed(1)} | ${(a / b).toFixed(3)} |`);
  }
  const heap = process.memoryUsage();
  console.log(`\nheap used ${(heap.heapUsed / 1048576).toFixed(0)} MiB, rss ${(heap.rss / 1048576).toFixed(0)} MiB; load average ${loadavg().map((l) => l.toFixed(1)).join(' ')}`);
} finally {
  await fixture.close();
}
