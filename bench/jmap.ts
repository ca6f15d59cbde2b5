/**
 * `npm run bench:jmap`: the first page a mail client shows of a big INBOX, JMAP over HTTP beside IMAP on a
 * private Dovecot with the same messages, and the memory of idle push connections.
 * - JMAP (a `postamt serve` child, HTTP keep-alive, Basic auth on loopback): Email/query (inMailbox,
 *   receivedAt descending, limit 50) plus Email/get of those ids with the list properties in one request,
 *   and Email/changes after 100 new messages. Dovecot: UID SORT (REVERSE ARRIVAL) then UID FETCH of the
 *   newest 50 (ENVELOPE FLAGS) on one IMAP connection. p50/p99 of each.
 * - Memory: N idle EventSource, then N idle WebSocket connections (TLS, push enabled) held by a client
 *   process; the server's heap+external and RSS after full collections, before and after, per connection.
 *
 *   npm run bench:jmap -- [--messages 100000] [--iterations 200] [--idle 1000] [--no-dovecot] [--keep]
 */
import { spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStore } from '../src/store/open.ts';
import { dovecotAvailable, dovecotMaildir, startDovecot } from './lib/dovecot.ts';
import { benchMessage, fillMaildir, loadPostamtMailbox } from './lib/mailbox-data.ts';
import { freePort, preparePostamt, startPostamt, type PostamtChild } from './lib/postamt.ts';
import { ImapClient } from './lib/wire-client.ts';
import { benchArgs } from './lib/args.ts';

const args = benchArgs();
const N = args.number('messages', 100_000);
const ITERATIONS = args.number('iterations', 200);
const IDLE = args.number('idle', 1000);
const withDovecot = !args.flag('no-dovecot') && dovecotAvailable();
const USER = { postamt: 'bench@test.example', dovecot: 'bench' } as const;
const PASSWORD = { postamt: 'bench password', dovecot: 'bench' } as const;
const LIST_PROPERTIES = ['id', 'threadId', 'mailboxIds', 'keywords', 'size', 'receivedAt', 'from', 'subject', 'preview', 'hasAttachment'];
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];

function log(text: string): void {
  process.stderr.write(`[bench:jmap] ${text}\n`);
}

function percentile(xs: number[], p: number): number {
  const sorted = [...xs].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

async function timed(n: number, fn: () => Promise<void>): Promise<number[]> {
  const out: number[] = [];
  for (let i = 0; i < n; i++) {
    const t0 = performance.now();
    await fn();
    out.push(performance.now() - t0);
  }
  return out;
}

type Invocation = [string, Record<string, unknown> & { list?: unknown[]; created?: unknown[]; state?: string; ids?: string[] }, string];

/** Holds `n` idle push connections of one kind open from a child process; resolves with its stop function. */
async function holdPushConnections(kind: 'eventsource' | 'websocket', server: PostamtChild, auth: string, n: number): Promise<() => Promise<void>> {
  const ca = readFileSync(join(server.dataDir, 'tls', 'selfsigned.crt'));
  const script = fileURLToPath(new URL('./lib/push-idlers.mjs', import.meta.url));
  const child = spawn(process.execPath, [script, kind, String(server.ports.https), auth, String(n), ca.toString('base64')], { stdio: ['pipe', 'pipe', 'inherit'] });
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d) => String(d).includes('ready') && resolve());
    child.once('exit', (code) => reject(new Error(`${kind} client exited ${code}`)));
  });
  // Let the server finish each connection's set-up (first StateChange, timers) before measuring.
  await new Promise((r) => setTimeout(r, 2000));
  return () => new Promise<void>((resolve) => {
    child.once('exit', () => resolve());
    child.stdin.end();
  });
}

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-bench-jmap-'));
  chmodSync(dir, 0o755);
  const prepared = await preparePostamt({ dir, address: USER.postamt, password: PASSWORD.postamt, connections: 2 * IDLE + 200, http: true });
  let t0 = performance.now();
  await loadPostamtMailbox({ dataDir: prepared.dataDir, address: USER.postamt, n: N, onProgress: (d) => d % 20_000 === 0 && log(`postamt: loaded ${d}`) });
  log(`postamt: ${N} messages loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const server = await startPostamt(prepared, { probe: true });
  // The search index catches up with the seeded mailbox first: what a client meets after the first minutes.
  await server.quiet();
  const auth = `Basic ${Buffer.from(`${USER.postamt}:${PASSWORD.postamt}`).toString('base64')}`;
  const apiUrl = `http://127.0.0.1:${prepared.ports.http}/jmap/api`;
  const api = async (methodCalls: unknown[]): Promise<Invocation[]> => {
    const res = await fetch(apiUrl, { method: 'POST', headers: { authorization: auth, 'content-type': 'application/json' }, body: JSON.stringify({ using: USING, methodCalls }) });
    if (res.status !== 200) throw new Error(`API ${res.status}: ${await res.text()}`);
    return ((await res.json()) as { methodResponses: Invocation[] }).methodResponses;
  };
  let jmapPage: number[];
  let changes: number[];
  const memory: { kind: string; heapPerConn: number; rssPerConn: number }[] = [];
  try {
    const session = (await (await fetch(`http://127.0.0.1:${prepared.ports.http}/jmap/session`, { headers: { authorization: auth } })).json()) as { primaryAccounts: Record<string, string> };
    const A = session.primaryAccounts['urn:ietf:params:jmap:mail']!;
    const [[, inboxQuery]] = await api([['Mailbox/query', { accountId: A, filter: { role: 'inbox' } }, 'm']]);
    const inboxId = inboxQuery.ids![0]!;
    const firstPage = async (): Promise<void> => {
      const r = await api([
        ['Email/query', { accountId: A, filter: { inMailbox: inboxId }, sort: [{ property: 'receivedAt', isAscending: false }], limit: 50, calculateTotal: true }, 'q'],
        ['Email/get', { accountId: A, '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: LIST_PROPERTIES }, 'g'],
      ]);
      if (r[1]![1].list?.length !== 50) throw new Error(`first page: ${JSON.stringify(r[1]).slice(0, 200)}`);
    };
    await firstPage();
    jmapPage = await timed(ITERATIONS, firstPage);
    log(`JMAP first page: p50 ${percentile(jmapPage, 50).toFixed(2)} ms, p99 ${percentile(jmapPage, 99).toFixed(2)} ms`);

    // 100 new messages written by another process on the same store (as the CLI or a second node would).
    const state = (await api([['Email/get', { accountId: A, ids: [], properties: ['id'] }, 'g']]))[0]![1].state as string;
    const store = await openStore({ dataDir: prepared.dataDir });
    const account = (await store.getAccount(USER.postamt))!;
    const inbox = (await store.getMailbox(account.id, 'INBOX'))!;
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 100; i++) {
      const tx = store.beginDelivery();
      tx.write(benchMessage(N + i, N + 100, now));
      await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
    }
    await store.close();
    changes = await timed(ITERATIONS, async () => {
      const r = await api([['Email/changes', { accountId: A, sinceState: state }, 'c']]);
      if (r[0]![1].created?.length !== 100) throw new Error(`changes: ${JSON.stringify(r[0]).slice(0, 200)}`);
    });
    log(`JMAP Email/changes: p50 ${percentile(changes, 50).toFixed(2)} ms, p99 ${percentile(changes, 99).toFixed(2)} ms`);

    // Warm the push paths once so one-time costs are not counted per connection.
    await (await holdPushConnections('eventsource', server, auth, 5))();
    await (await holdPushConnections('websocket', server, auth, 5))();
    for (const kind of ['eventsource', 'websocket'] as const) {
      const before = await server.memory();
      const stop = await holdPushConnections(kind, server, auth, IDLE);
      const after = await server.memory();
      memory.push({ kind, heapPerConn: (after.heapUsed + after.external - before.heapUsed - before.external) / IDLE, rssPerConn: (after.rss - before.rss) / IDLE });
      log(`${kind}: ${JSON.stringify(memory[memory.length - 1])}`);
      await stop();
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await server.stop();
  }

  let imapPage: number[] | null = null;
  if (withDovecot) {
    const dovecotDir = join(dir, 'dovecot');
    t0 = performance.now();
    fillMaildir(dovecotMaildir(dovecotDir), N);
    log(`dovecot: Maildir of ${N} messages written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    const port = await freePort();
    const dovecot = await startDovecot({ dir: dovecotDir, imapPort: port, pop3Port: await freePort() });
    try {
      const c = await ImapClient.connect(port);
      await c.login(USER.dovecot, PASSWORD.dovecot);
      await c.command('SELECT INBOX');
      const page = async (): Promise<void> => {
        // The SORT reply is read from the captured bytes (the client keeps only the tagged line).
        c.capture = [];
        await c.command('UID SORT (REVERSE ARRIVAL) UTF-8 ALL');
        const text = Buffer.concat(c.capture).toString('latin1');
        c.capture = null;
        const line = /\* SORT([^\r\n]*)/.exec(text)?.[1] ?? '';
        const uids = line.trim().split(' ').slice(0, 50).join(',');
        await c.command(`UID FETCH ${uids} (ENVELOPE FLAGS)`);
      };
      await page();
      imapPage = await timed(ITERATIONS, page);
      await c.command('LOGOUT');
    } finally {
      dovecot.stop();
    }
  }

  const row = (label: string, xs: number[] | null): string => (xs === null ? `| ${label} | - | - |` : `| ${label} | ${percentile(xs, 50).toFixed(2)} | ${percentile(xs, 99).toFixed(2)} |`);
  console.log(`\n${N} messages of ~5 KB in INBOX, ${ITERATIONS} iterations, times in ms; load average ${loadavg().map((l) => l.toFixed(2)).join(' ')}\n`);
  console.log('| scenario | p50 | p99 |\n|---|---|---|');
  console.log(row('Postamt JMAP over HTTP: Email/query newest 50 + Email/get list properties (one request)', jmapPage));
  console.log(row('Postamt JMAP over HTTP: Email/changes after 100 new messages', changes));
  console.log(row('Dovecot IMAP: UID SORT (REVERSE ARRIVAL) + UID FETCH 50 (ENVELOPE FLAGS)', imapPage));
  console.log(`\n${IDLE} idle push connections of each kind over TLS, per connection (KB = 1024 bytes)\n`);
  console.log('| connection | heap + external | RSS |\n|---|---|---|');
  for (const m of memory) console.log(`| ${m.kind === 'eventsource' ? 'EventSource' : 'WebSocket (RFC 8887)'} | ${(m.heapPerConn / 1024).toFixed(1)} KB | ${(m.rssPerConn / 1024).toFixed(1)} KB |`);
  if (!args.flag('keep')) rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
