/**
 * `npm run bench:imap`: IMAP on a big mailbox, Postamt side by side with a private Dovecot on the same
 * messages (issue 5): SELECT, FETCH 1:* (UID FLAGS), FETCH ENVELOPE of the newest 500, SEARCH TEXT,
 * and the memory of 1,000 concurrent IDLE connections. Rounds alternate the servers; medians reported.
 *
 *   npm run bench:imap -- [--messages 100000] [--rounds 3] [--idle 1000] [--idle-inbox 100] [--no-dovecot] [--keep]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMs, freePort, preparePostamt, pssKiB, rssKiB, startPostamt } from './lib/postamt.ts';
import { dovecotAvailable, dovecotImapPids, dovecotMaildir, startDovecot } from './lib/dovecot.ts';
import { fillMaildir, loadPostamtMailbox, NEEDLE } from './lib/mailbox-data.ts';
import { Results, type Scenario, type Server } from './lib/results.ts';
import { ImapClient } from './lib/wire-client.ts';

const args = process.argv.slice(2);
const opt = (name: string, fallback: number): number => {
  const i = args.indexOf(`--${name}`);
  return i >= 0 && args[i + 1] ? Number(args[i + 1]) : fallback;
};
const N = opt('messages', 100_000);
const ROUNDS = opt('rounds', 3);
const IDLE = opt('idle', 1000);
/** Connections idling with the big INBOX selected (each SELECT lists every message: fewer by default). */
const IDLE_INBOX = opt('idle-inbox', 100);
const withDovecot = !args.includes('--no-dovecot') && dovecotAvailable();
const USER = { postamt: 'bench@test.example', dovecot: 'bench' } as const;
const PASSWORD = 'bench';

const S = {
  firstSelect: { key: 'select-first', label: 'first SELECT after start (cold cache/index)', unit: 'ms', higherIsBetter: false },
  select: { key: 'select', label: `SELECT INBOX, ${N} messages`, unit: 'ms', higherIsBetter: false },
  fetchFlags: { key: 'fetch-flags', label: 'FETCH 1:* (UID FLAGS)', unit: 'ms', higherIsBetter: false },
  envelope: { key: 'fetch-envelope', label: 'FETCH ENVELOPE, newest 500', unit: 'ms', higherIsBetter: false },
  search: { key: 'search-text', label: `SEARCH TEXT ${NEEDLE} (4 hits)`, unit: 'ms', higherIsBetter: false },
  idleInbox: { key: 'idle-inbox', label: `memory per IDLE connection, INBOX (${N} msgs) selected (${IDLE_INBOX} conns)`, unit: 'KB', higherIsBetter: false },
  idleSmall: { key: 'idle-small', label: `memory per IDLE connection, empty mailbox selected (${IDLE} conns)`, unit: 'KB', higherIsBetter: false },
} satisfies Record<string, Scenario>;

const log = (text: string): void => void process.stderr.write(`${text}\n`);

async function session(server: Server, port: number, results: Results, first: boolean): Promise<void> {
  const c = await ImapClient.connect(port);
  try {
    await c.login(USER[server], PASSWORD);
    const sel = await c.command('SELECT INBOX');
    results.add(first ? S.firstSelect : S.select, server, sel.ms);
    if (first) return;
    results.add(S.fetchFlags, server, (await c.command('FETCH 1:* (UID FLAGS)')).ms);
    results.add(S.envelope, server, (await c.command(`FETCH ${Math.max(1, N - 499)}:* ENVELOPE`)).ms);
    c.capture = [];
    const search = await c.command(`SEARCH TEXT ${NEEDLE}`);
    const hits = /\* SEARCH([ \d]*)\r\n/.exec(Buffer.concat(c.capture).toString('latin1'))?.[1]?.trim().split(/\s+/).filter(Boolean).length ?? 0;
    c.capture = null;
    if (hits !== 4) log(`warning: ${server} SEARCH TEXT found ${hits} messages, expected 4`);
    results.add(S.search, server, search.ms);
    await c.command('LOGOUT');
  } finally {
    c.close();
  }
}

/** Opens `count` connections (50 at a time), each logged in, `mailbox` selected, in IDLE. */
async function openIdlers(port: number, user: string, mailbox: string, count: number): Promise<ImapClient[]> {
  const clients: ImapClient[] = [];
  for (let i = 0; i < count; i += 50) {
    const batch = await Promise.all(Array.from({ length: Math.min(50, count - i) }, async () => {
      const c = await ImapClient.connect(port);
      await c.login(user, PASSWORD);
      await c.command(`SELECT ${mailbox}`);
      await c.idle();
      return c;
    }));
    clients.push(...batch);
  }
  return clients;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-bench-imap-'));
  chmodSync(dir, 0o755); // Dovecot's auth process (user dovecot) reads the passwd file below it
  const results = new Results('imap', { messages: N, rounds: ROUNDS, idleConnections: IDLE, dovecot: withDovecot });
  const dovecotDir = join(dir, 'dovecot');
  const ports = { dovecotImap: await freePort(), dovecotPop3: await freePort() };
  const prepared = await preparePostamt({ dir, address: USER.postamt, password: PASSWORD, connections: IDLE + 100 });
  let t0 = performance.now();
  await loadPostamtMailbox({ dataDir: prepared.dataDir, address: USER.postamt, n: N, onProgress: (d) => d % 20_000 === 0 && log(`postamt: loaded ${d}`) });
  log(`postamt: ${N} messages loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  results.note(`Postamt bulk load of ${N} messages (store opened directly): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  if (withDovecot) {
    t0 = performance.now();
    fillMaildir(dovecotMaildir(dovecotDir), N);
    log(`dovecot: Maildir of ${N} messages written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  const dovecot = withDovecot
    ? await startDovecot({
      dir: dovecotDir, imapPort: ports.dovecotImap, pop3Port: ports.dovecotPop3,
      // One imap process per connection: allow IDLE+ of them, and as many per user and IP.
      extraConfig: [
        `mail_max_userip_connections = ${IDLE + 100}`, `default_process_limit = ${IDLE + 100}`, `default_client_limit = ${4 * IDLE + 400}`,
        'service imap {', `  process_limit = ${IDLE + 100}`, '}',
      ],
    })
    : null;
  const postamt = await startPostamt(prepared);
  const servers: [Server, number][] = [['postamt', prepared.ports.imap]];
  if (dovecot) servers.push(['dovecot', ports.dovecotImap]);
  try {
    for (const [server, port] of servers) {
      await session(server, port, results, true);
      log(`${server}: first SELECT done`);
    }
    for (let round = 1; round <= ROUNDS; round++) {
      log(`round ${round}/${ROUNDS}`);
      const order = round % 2 ? servers : [...servers].reverse();
      for (const [server, port] of order) await session(server, port, results, false);
    }

    // IDLE memory: Postamt is one process (RSS delta); Dovecot forks one imap process per connection.
    for (const [scenario, mailbox, count] of [[S.idleSmall, 'Drafts', IDLE], [S.idleInbox, 'INBOX', IDLE_INBOX]] as const) {
      for (const [server, port] of servers) {
        if (server === 'dovecot') {
          const c = await ImapClient.connect(port);
          await c.login(USER.dovecot, PASSWORD);
          await c.command(`CREATE ${mailbox}`, { allowNo: true });
          c.close();
        }
        const pid = postamt.child.pid!;
        await sleep(1000);
        const before = rssKiB(pid);
        const cpu0 = cpuMs(pid);
        t0 = performance.now();
        const clients = await openIdlers(port, USER[server], mailbox, count);
        const openMs = performance.now() - t0;
        await sleep(2000);
        let perConn: number;
        if (server === 'postamt') {
          perConn = (rssKiB(pid) - before) / count;
          log(`postamt: ${count} IDLE on ${mailbox} in ${openMs.toFixed(0)} ms (server CPU ${cpuMs(pid) - cpu0} ms); RSS ${before} → ${rssKiB(pid)} KiB`);
        } else {
          const pids = dovecotImapPids(dovecotDir);
          const rss = pids.reduce((a, p) => a + rssKiB(p), 0);
          const pss = pids.reduce((a, p) => a + pssKiB(p), 0);
          perConn = rss / count;
          log(`dovecot: ${count} IDLE on ${mailbox} in ${openMs.toFixed(0)} ms; ${pids.length} imap processes, RSS sum ${rss} KiB, PSS sum ${pss} KiB`);
          results.note(`Dovecot IDLE on ${mailbox}: ${pids.length} imap processes; RSS sum / ${count} = ${(rss / count).toFixed(0)} KB, PSS sum / ${count} = ${(pss / count).toFixed(0)} KB (PSS splits shared library pages)`);
        }
        results.add(scenario, server, perConn);
        for (const c of clients) c.close();
        await sleep(3000);
      }
    }
  } finally {
    await postamt.stop();
    dovecot?.stop();
  }
  console.log(`\n${N} messages of ~5 KB, ${ROUNDS} rounds (medians), ${IDLE} IDLE connections, Dovecot: ${withDovecot ? 'yes' : 'no'}\n`);
  console.log(results.table());
  log(`results: ${results.write()}`);
  if (!args.includes('--keep')) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
