/**
 * `npm run bench:jmap`: the first page a mail client shows of a big INBOX, JMAP beside IMAP on a private
 * Dovecot with the same messages. JMAP: Email/query (inMailbox, receivedAt descending, limit 50) plus
 * Email/get of those ids with the list properties, and Email/changes after 100 new messages, run through
 * the JMAP engine on the server's store in this process (no HTTP: the API's own cost). Dovecot: UID SORT
 * (REVERSE ARRIVAL) then UID FETCH of the newest 50 (ENVELOPE FLAGS) on one IMAP connection. p50/p99.
 *
 *   npm run bench:jmap -- [--messages 100000] [--iterations 200] [--no-dovecot] [--keep]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { silentLogger } from '../src/core/log.ts';
import { StoreMailAccess } from '../src/mail/service.ts';
import { StoreJmapMailBackend } from '../src/app/jmap-mail-backend.ts';
import type { JmapAccount, JmapBackend } from '../src/protocols/jmap/backend.ts';
import { CORE_CAPABILITY, MAIL_CAPABILITY } from '../src/protocols/jmap/capabilities.ts';
import { JmapEngine } from '../src/protocols/jmap/engine.ts';
import type { JmapMailBackend } from '../src/protocols/jmap/mail/backend.ts';
import { mailAccountCapability, mailMethods } from '../src/protocols/jmap/mail/index.ts';
import type { MethodTable } from '../src/protocols/jmap/method.ts';
import { CORE_METHODS } from '../src/protocols/jmap/methods/index.ts';
import { openStore } from '../src/store/open.ts';
import { dovecotAvailable, dovecotMaildir, startDovecot } from './lib/dovecot.ts';
import { benchMessage, fillMaildir, loadPostamtMailbox } from './lib/mailbox-data.ts';
import { freePort, preparePostamt } from './lib/postamt.ts';
import { ImapClient } from './lib/wire-client.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const N = opt('messages', 100_000);
const ITERATIONS = opt('iterations', 200);
const withDovecot = !args.includes('--no-dovecot') && dovecotAvailable();
const USER = { postamt: 'bench@test.example', dovecot: 'bench' } as const;
const PASSWORD = 'bench password';
const LIST_PROPERTIES = ['id', 'threadId', 'mailboxIds', 'keywords', 'size', 'receivedAt', 'from', 'subject', 'preview', 'hasAttachment'];

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

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-bench-jmap-'));
  chmodSync(dir, 0o755);
  const prepared = await preparePostamt({ dir, address: USER.postamt, password: PASSWORD, connections: 100 });
  let t0 = performance.now();
  await loadPostamtMailbox({ dataDir: prepared.dataDir, address: USER.postamt, n: N, onProgress: (d) => d % 20_000 === 0 && log(`postamt: loaded ${d}`) });
  log(`postamt: ${N} messages loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  const store = await openStore({ dataDir: prepared.dataDir });
  const account = (await store.getAccount(USER.postamt))!;
  const inbox = (await store.getMailbox(account.id, 'INBOX'))!;
  const A = `a${account.id}`;
  const jmapAccount: JmapAccount = { name: USER.postamt, isPersonal: true, isReadOnly: false, accountCapabilities: { [CORE_CAPABILITY]: {}, [MAIL_CAPABILITY]: mailAccountCapability() } };
  const base: JmapBackend = { accountsFor: async () => ({ [A]: jmapAccount }), accountFor: async (_i, id) => (id === A ? jmapAccount : null), primaryAccountsFor: async () => ({}), sessionState: async () => 's' };
  const backend = new StoreJmapMailBackend({ mail: new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: 0 }), base, storeAccountId: (id) => (id === A ? account.id : null) });
  const engine = new JmapEngine<JmapMailBackend>({ backend, methods: { ...(CORE_METHODS as MethodTable<JmapMailBackend>), ...mailMethods() }, capabilities: { [MAIL_CAPABILITY]: {} }, logger: silentLogger() });
  type Invocation = [string, Record<string, unknown> & { list?: unknown[]; created?: unknown[]; state?: string }, string];
  const api = async (methodCalls: unknown[]): Promise<Invocation[]> => {
    const r = await engine.handle({ username: USER.postamt }, { body: JSON.stringify({ using: [CORE_CAPABILITY, MAIL_CAPABILITY], methodCalls }), contentType: 'application/json' });
    return (r.body as unknown as { methodResponses: Invocation[] }).methodResponses;
  };
  const firstPage = async (): Promise<void> => {
    const r = await api([
      ['Email/query', { accountId: A, filter: { inMailbox: `M${inbox.id}` }, sort: [{ property: 'receivedAt', isAscending: false }], limit: 50, calculateTotal: true }, 'q'],
      ['Email/get', { accountId: A, '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: LIST_PROPERTIES }, 'g'],
    ]);
    if (r[1]![1].list?.length !== 50) throw new Error(`first page: ${JSON.stringify(r[1]).slice(0, 200)}`);
  };
  await firstPage();
  const jmapPage = await timed(ITERATIONS, firstPage);

  const state = (await api([['Email/get', { accountId: A, ids: [], properties: ['id'] }, 'g']]))[0]![1].state as string;
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < 100; i++) {
    const tx = store.beginDelivery();
    tx.write(benchMessage(N + i, N + 100, now));
    await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
  }
  const changes = await timed(ITERATIONS, async () => {
    const r = await api([['Email/changes', { accountId: A, sinceState: state }, 'c']]);
    if (r[0]![1].created?.length !== 100) throw new Error(`changes: ${JSON.stringify(r[0]).slice(0, 200)}`);
  });
  await store.close();

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
      await c.login(USER.dovecot, PASSWORD);
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
  console.log(`\n${N} messages of ~5 KB in INBOX, ${ITERATIONS} iterations, times in ms\n`);
  console.log('| scenario | p50 | p99 |\n|---|---|---|');
  console.log(row('Postamt JMAP: Email/query newest 50 + Email/get list properties (engine, no HTTP)', jmapPage));
  console.log(row('Postamt JMAP: Email/changes after 100 new messages', changes));
  console.log(row('Dovecot IMAP: UID SORT (REVERSE ARRIVAL) + UID FETCH 50 (ENVELOPE FLAGS)', imapPage));
  if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
