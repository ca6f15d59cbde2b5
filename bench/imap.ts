/**
 * `npm run bench:imap`: IMAP on a big mailbox, Postamt side by side with a private Dovecot on the same
 * messages: SELECT, FETCH 1:* (UID FLAGS), FETCH 1:* of the header fields a message list shows (what
 * Thunderbird-like clients send at a first sync), FETCH ENVELOPE of the newest 500, SEARCH TEXT,
 * and the memory of 1,000 concurrent IDLE connections. Rounds alternate the servers; medians reported.
 * With imaptest (IMAPTEST=path or --imaptest path), last, its mixed stress workload against both servers
 * (bench/lib/imaptest.ts, mixed-workload.ts): commands per second and latency per command type.
 *
 *   npm run bench:imap -- [--messages 100000] [--size 5120] [--rounds 3] [--idle 1000] [--idle-inbox 100] [--idle-variants 300]
 *                          [--idle-warmup 100] [--heap-diff] [--no-dovecot] [--keep]
 *                          [--imaptest PATH] [--imaptest-only] [--imaptest-hash both|cheap|equal]
 *                          [--imaptest-clients 20] [--imaptest-secs 30] [--imaptest-mbox PATH]
 */
import { chmodSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cpuMs, freePort, postamtCli, preparePostamt, pssKiB, rssKiB, startPostamt, type PostamtChild, type ServerMemory } from './lib/postamt.ts';
import { imaptestBinary, imaptestMbox } from './lib/imaptest.ts';
import { mixedWorkload, STRESS_USER, type HashMode } from './lib/mixed-workload.ts';
import { diffSnapshots, summarizeSnapshot } from './lib/heap-diff.ts';
import { dovecotAvailable, dovecotImapPids, dovecotMaildir, startDovecot } from './lib/dovecot.ts';
import { fillMaildir, loadPostamtMailbox, NEEDLE } from './lib/mailbox-data.ts';
import { Results, type Scenario, type Server } from './lib/results.ts';
import { ImapClient } from './lib/wire-client.ts';
import { openIdlers, type IdlerOptions } from './lib/idlers.ts';
import { benchArgs } from './lib/args.ts';

const args = benchArgs();
const N = args.number('messages', 100_000);
/** Bytes per message (headers and body): 5 KB like make_maildir.py, e.g. 102400 for a mailbox of big messages. */
const SIZE = args.number('size', 5120);
const ROUNDS = args.number('rounds', 3);
const IDLE = args.number('idle', 1000);
/** Connections idling with the big INBOX selected (each SELECT lists every message: fewer by default). */
const IDLE_INBOX = args.number('idle-inbox', 100);
/**
 * Also diff heap snapshots around the idlers and print what grew per connection. Taking snapshots costs
 * native memory (V8's heap profiler keeps its object map), so the malloc and RSS figures of such a run are off.
 */
const HEAP_DIFF = args.flag('heap-diff');
/** Idlers opened and closed before the baseline to warm the code paths (default: min(idlers, 100)). */
const IDLE_WARMUP = args.flag('idle-warmup') ? args.number('idle-warmup', 0) : null;
/** Postamt-only IDLE variants on the empty mailbox: implicit TLS, COMPRESS=DEFLATE, both (this many each). */
const IDLE_VARIANTS = args.number('idle-variants', 300);
const withDovecot = !args.flag('no-dovecot') && dovecotAvailable();
/** imaptest's stress profile against both servers, when the binary is given (else skipped, with a message). */
const IMAPTEST = imaptestBinary(args.list);
const IMAPTEST_ONLY = args.flag('imaptest-only');
const IMAPTEST_HASH = ((): HashMode[] => {
  const v = args.text('imaptest-hash', 'both');
  if (v === 'both') return ['cheap', 'equal'];
  if (v === 'cheap' || v === 'equal') return [v];
  throw new Error(`--imaptest-hash takes both, cheap or equal, not ${v}`);
})();
const USER = { postamt: 'bench@test.example', dovecot: 'bench' } as const;
/** Postamt's is at least auth.min_password_length (8) long; the private Dovecot's passwd file says bench. */
const PASSWORD = { postamt: 'bench-password', dovecot: 'bench' } as const;

/** What Thunderbird-like clients send to fill a message list. */
const HEADER_FIELDS_FETCH = 'FETCH 1:* (UID FLAGS RFC822.SIZE BODY.PEEK[HEADER.FIELDS (FROM TO SUBJECT DATE MESSAGE-ID)])';

const S = {
  firstSelect: { key: 'select-first', label: 'first SELECT after start (cold cache/index)', unit: 'ms', higherIsBetter: false },
  select: { key: 'select', label: `SELECT INBOX, ${N} messages`, unit: 'ms', higherIsBetter: false },
  fetchFlags: { key: 'fetch-flags', label: 'FETCH 1:* (UID FLAGS)', unit: 'ms', higherIsBetter: false },
  headerFieldsFirst: { key: 'fetch-header-fields-first', label: `${HEADER_FIELDS_FETCH}, first time after start`, unit: 'ms', higherIsBetter: false },
  headerFields: { key: 'fetch-header-fields', label: `${HEADER_FIELDS_FETCH}, again`, unit: 'ms', higherIsBetter: false },
  envelope: { key: 'fetch-envelope', label: 'FETCH ENVELOPE, newest 500', unit: 'ms', higherIsBetter: false },
  search: { key: 'search-text', label: `SEARCH TEXT ${NEEDLE} (4 hits)`, unit: 'ms', higherIsBetter: false },
  fetchFlagsCpu: { key: 'fetch-flags-cpu', label: 'FETCH 1:* (UID FLAGS): server CPU', unit: 'ms', higherIsBetter: false },
  headerFieldsFirstCpu: { key: 'fetch-header-fields-first-cpu', label: 'header-field FETCH, first time after start: server CPU', unit: 'ms', higherIsBetter: false },
  headerFieldsCpu: { key: 'fetch-header-fields-cpu', label: 'header-field FETCH, again: server CPU', unit: 'ms', higherIsBetter: false },
} satisfies Record<string, Scenario>;

/** Memory per IDLE connection: the mailbox each idler has selected, and what is counted. */
const IDLE_WHAT = {
  small: `empty mailbox selected (${IDLE} conns)`,
  inbox: `INBOX (${N} msgs) selected (${IDLE_INBOX} conns)`,
  tls: `empty mailbox, implicit TLS (${IDLE_VARIANTS} conns)`,
  compress: `empty mailbox, COMPRESS=DEFLATE (${IDLE_VARIANTS} conns)`,
  tlsCompress: `empty mailbox, TLS + COMPRESS=DEFLATE (${IDLE_VARIANTS} conns)`,
} as const;
const IDLE_MEASURE = {
  live: 'Postamt live V8 heap + malloc in use, Dovecot PSS',
  rss: 'RSS',
  pss: 'PSS',
} as const;
const idleScenario = (what: keyof typeof IDLE_WHAT, measure: keyof typeof IDLE_MEASURE): Scenario => ({
  key: `idle-${what}-${measure}`,
  label: `memory per IDLE connection, ${IDLE_WHAT[what]}: ${IDLE_MEASURE[measure]}`,
  unit: 'KB',
  higherIsBetter: false,
});

const log = (text: string): void => void process.stderr.write(`${text}\n`);

const headerFieldsSeen = new Set<Server>();

/** The server's CPU time in ms so far: Postamt's process, or the sum over Dovecot's imap processes. */
type CpuProbe = () => number;

async function session(server: Server, port: number, results: Results, first: boolean, cpu: CpuProbe): Promise<void> {
  const c = await ImapClient.connect(port);
  /** Wall-clock time and server CPU of one command (CPU in 10 ms ticks: summed over rounds, it evens out). */
  const timed = async (text: string, wall: Scenario, used: Scenario): Promise<void> => {
    const cpu0 = cpu();
    results.add(wall, server, (await c.command(text)).ms);
    results.add(used, server, cpu() - cpu0);
  };
  try {
    await c.login(USER[server], PASSWORD[server]);
    const sel = await c.command('SELECT INBOX');
    results.add(first ? S.firstSelect : S.select, server, sel.ms);
    if (first) return;
    await timed('FETCH 1:* (UID FLAGS)', S.fetchFlags, S.fetchFlagsCpu);
    // The first time reads every header (Postamt keeps the sections it read, Dovecot fills its cache file).
    if (headerFieldsSeen.has(server)) await timed(HEADER_FIELDS_FETCH, S.headerFields, S.headerFieldsCpu);
    else await timed(HEADER_FIELDS_FETCH, S.headerFieldsFirst, S.headerFieldsFirstCpu);
    headerFieldsSeen.add(server);
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

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const kib = (bytes: number): number => bytes / 1024;

/**
 * Postamt is one process. A warm-up (up to 100 idlers opened and closed) compiles the code paths; then
 * memory is read before and after opening `count` idlers, and again after closing them, each time after
 * full GCs. Per connection:
 *  - live: the growth of the live V8 heap (heapUsed) plus the growth of glibc's bytes in use (malloc_info
 *    through gdb: Buffers, libuv handles, every native allocation): the memory the connections hold;
 *  - RSS and PSS: the plain deltas, read after malloc_trim(0) so they do not count free memory glibc
 *    keeps (scrypt's 16 MB per LOGIN would swamp them), but still moving with the size V8 keeps its heap
 *    at (tens of MB either way at this scale).
 */
async function idlePostamt(postamt: PostamtChild, idler: IdlerOptions, what: keyof typeof IDLE_WHAT, count: number, results: Results): Promise<void> {
  const pid = postamt.child.pid!;
  const mailbox = idler.mailbox;
  for (const close of await openIdlers(idler, IDLE_WARMUP ?? Math.min(count, 100))) close();
  await sleep(2000);
  const before = await postamt.memory();
  const diffDir = HEAP_DIFF ? mkdtempSync(join(tmpdir(), 'postamt-heap-')) : null;
  if (diffDir) await postamt.heapSnapshot(join(diffDir, 'before.heapsnapshot'));
  const cpu0 = cpuMs(pid);
  const t0 = performance.now();
  const clients = await openIdlers(idler, count);
  const openMs = performance.now() - t0;
  const cpu = cpuMs(pid) - cpu0;
  // Longer than the driver keeps a COMPRESS connection's compressor after its last output (5 s).
  await sleep(7000);
  const after = await postamt.memory();
  if (diffDir) {
    await postamt.heapSnapshot(join(diffDir, 'after.heapsnapshot'));
    const diff = diffSnapshots(summarizeSnapshot(join(diffDir, 'before.heapsnapshot')), summarizeSnapshot(join(diffDir, 'after.heapsnapshot')), count);
    log(`heap snapshot diff, ${count} IDLE on ${mailbox}: ${(diff.total / count).toFixed(0)} B/conn in total (malloc and RSS figures below include the snapshots' own memory); biggest growth:\n${diff.rows.join('\n')}`);
    rmSync(diffDir, { recursive: true, force: true });
  }
  for (const close of clients) close();
  await sleep(3000);
  const released = await postamt.memory();
  /** KiB resident outside the V8 heap. */
  const outside = (m: ServerMemory): number => m.rollup.Rss! - kib(m.v8Physical);
  const malloc = (m: ServerMemory): number => kib(m.malloc?.inUseBytes ?? NaN);
  const perConn = {
    heapUsed: kib(after.heapUsed - before.heapUsed) / count,
    native: (malloc(after) - malloc(before)) / count,
    outside: (outside(after) - outside(before)) / count,
    rss: (after.rollup.Rss! - before.rollup.Rss!) / count,
    pss: (after.rollup.Pss! - before.rollup.Pss!) / count,
  };
  const trimmed = before.malloc !== null && after.malloc !== null && released.malloc !== null;
  const k = (v: number): string => v.toFixed(0);
  log(`postamt: ${count} IDLE on ${mailbox}${idler.tls ? ' over TLS' : ''}${idler.compress ? ' with COMPRESS' : ''} opened in ${openMs.toFixed(0)} ms (server CPU ${cpu} ms). Before → open → closed, after GC${trimmed ? ' and malloc_trim' : ' (gdb failed: no malloc figures, no trim)'}: `
    + `heapUsed ${k(kib(before.heapUsed))} → ${k(kib(after.heapUsed))} → ${k(kib(released.heapUsed))} KiB, external ${k(kib(before.external))} → ${k(kib(after.external))} → ${k(kib(released.external))} KiB, `
    + `malloc in use ${k(malloc(before))} → ${k(malloc(after))} → ${k(malloc(released))} KiB, V8 resident ${k(kib(before.v8Physical))} → ${k(kib(after.v8Physical))} → ${k(kib(released.v8Physical))} KiB, `
    + `RSS outside the V8 heap ${k(outside(before))} → ${k(outside(after))} → ${k(outside(released))} KiB, `
    + `RSS ${before.rollup.Rss} → ${after.rollup.Rss} → ${released.rollup.Rss} KiB, handles ${before.handles} → ${after.handles} → ${released.handles}`);
  results.note(`Postamt IDLE on ${mailbox}${idler.tls ? ' over TLS' : ''}${idler.compress ? ' with COMPRESS' : ''} (${count} conns): per connection ${(perConn.heapUsed + perConn.native).toFixed(1)} KB = `
    + `${perConn.heapUsed.toFixed(1)} KB live V8 heap + ${perConn.native.toFixed(1)} KB native (malloc in use; of which V8 external ${(kib(after.external - before.external) / count).toFixed(1)} KB); `
    + `RSS outside the V8 heap ${perConn.outside.toFixed(1)} KB; `
    + `plain RSS delta ${perConn.rss.toFixed(1)} KB, PSS delta ${perConn.pss.toFixed(1)} KB (V8 resident heap ${k(kib(before.v8Physical))} → ${k(kib(after.v8Physical))} KiB); `
    + `after closing them heapUsed is ${k(kib(released.heapUsed - before.heapUsed))} KiB and RSS ${released.rollup.Rss! - before.rollup.Rss!} KiB from the baseline`
    + (trimmed ? '' : '; gdb could not read malloc_info nor run malloc_trim, so "native" is unknown and RSS includes free memory kept by glibc'));
  results.add(idleScenario(what, 'live'), 'postamt', perConn.heapUsed + perConn.native);
  results.add(idleScenario(what, 'rss'), 'postamt', perConn.rss);
  results.add(idleScenario(what, 'pss'), 'postamt', perConn.pss);
}

/** Dovecot forks one imap process per connection: the sums of their RSS and PSS, divided by `count`. */
async function idleDovecot(port: number, dovecotDir: string, what: keyof typeof IDLE_WHAT, mailbox: string, count: number, results: Results): Promise<void> {
  const c = await ImapClient.connect(port);
  await c.login(USER.dovecot, PASSWORD.dovecot);
  await c.command(`CREATE ${mailbox}`, { allowNo: true });
  await c.command('LOGOUT');
  c.close();
  await sleep(1000);
  const t0 = performance.now();
  const clients = await openIdlers({ port, user: USER.dovecot, password: PASSWORD.dovecot, mailbox }, count);
  const openMs = performance.now() - t0;
  await sleep(2000);
  const pids = dovecotImapPids(dovecotDir);
  const rss = pids.reduce((a, p) => a + rssKiB(p), 0);
  const pss = pids.reduce((a, p) => a + pssKiB(p), 0);
  log(`dovecot: ${count} IDLE on ${mailbox} opened in ${openMs.toFixed(0)} ms; ${pids.length} imap processes, RSS sum ${rss} KiB, PSS sum ${pss} KiB`);
  results.note(`Dovecot IDLE on ${mailbox} (${count} conns): ${pids.length} imap processes; RSS sum / ${count} = ${(rss / count).toFixed(0)} KB, `
    + `PSS sum / ${count} = ${(pss / count).toFixed(0)} KB (PSS splits shared pages between the processes sharing them)`);
  results.add(idleScenario(what, 'live'), 'dovecot', pss / count);
  results.add(idleScenario(what, 'rss'), 'dovecot', rss / count);
  results.add(idleScenario(what, 'pss'), 'dovecot', pss / count);
  for (const close of clients) close();
  await sleep(3000);
}

async function main(): Promise<void> {
  if (IMAPTEST === null) log('imaptest: not given (IMAPTEST=path or --imaptest path): the mixed workload is skipped');
  else if (IMAPTEST_ONLY) log('imaptest: --imaptest-only: only the mixed workload runs');
  if (IMAPTEST === null && IMAPTEST_ONLY) throw new Error('--imaptest-only needs imaptest (IMAPTEST=path or --imaptest path)');
  const dir = mkdtempSync(join(tmpdir(), 'postamt-bench-imap-'));
  chmodSync(dir, 0o755); // Dovecot's auth process (user dovecot) reads the passwd file below it
  const results = new Results('imap', { messages: IMAPTEST_ONLY ? 0 : N, size: SIZE, rounds: ROUNDS, idleConnections: IDLE, dovecot: withDovecot, imaptest: IMAPTEST });
  const dovecotDir = join(dir, 'dovecot');
  const ports = { dovecotImap: await freePort(), dovecotPop3: await freePort() };
  // The HTTP listener serves /metrics: the mixed workload reads Postamt's time per IMAP command there.
  const prepared = await preparePostamt({ dir, address: USER.postamt, password: PASSWORD.postamt, connections: Math.max(IDLE, IDLE_VARIANTS) + 100, imaps: true, http: IMAPTEST !== null });
  if (IMAPTEST !== null) postamtCli(prepared.config, ['user', 'add', STRESS_USER.postamt, '--password-stdin'], `${STRESS_USER.password}\n`);
  let t0 = performance.now();
  if (!IMAPTEST_ONLY) {
    await loadPostamtMailbox({ dataDir: prepared.dataDir, address: USER.postamt, n: N, size: SIZE, onProgress: (d) => d % 20_000 === 0 && log(`postamt: loaded ${d}`) });
    log(`postamt: ${N} messages loaded in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    results.note(`Postamt bulk load of ${N} messages (store opened directly): ${((performance.now() - t0) / 1000).toFixed(1)} s`);
  }
  if (withDovecot) {
    const maildir = dovecotMaildir(dovecotDir); // also the instance's directories, which --imaptest-only needs
    if (!IMAPTEST_ONLY) {
      t0 = performance.now();
      fillMaildir(maildir, N, SIZE);
      log(`dovecot: Maildir of ${N} messages written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    }
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
  let postamt = await startPostamt(prepared, { probe: true });
  await postamt.quiet();
  const servers: [Server, number][] = [['postamt', prepared.ports.imap]];
  if (dovecot) servers.push(['dovecot', ports.dovecotImap]);
  const cpuOf = (server: Server): number => (server === 'postamt' ? cpuMs(postamt.child.pid!) : dovecotImapPids(dovecotDir).reduce((a, p) => a + cpuMs(p), 0));
  try {
    for (const [server, port] of IMAPTEST_ONLY ? [] : servers) {
      await session(server, port, results, true, () => cpuOf(server));
      log(`${server}: first SELECT done`);
    }
    for (let round = 1; round <= (IMAPTEST_ONLY ? 0 : ROUNDS); round++) {
      log(`round ${round}/${ROUNDS}`);
      const order = round % 2 ? servers : [...servers].reverse();
      for (const [server, port] of order) await session(server, port, results, false, () => cpuOf(server));
    }

    for (const [key, mailbox, count] of [['small', 'Drafts', IDLE], ['inbox', 'INBOX', IDLE_INBOX]] as const) {
      if (count === 0 || IMAPTEST_ONLY) continue;
      for (const [server, port] of servers) {
        if (server === 'postamt') await idlePostamt(postamt, { port, user: USER.postamt, password: PASSWORD.postamt, mailbox }, key, count, results);
        else await idleDovecot(port, dovecotDir, key, mailbox, count, results);
      }
    }
    // The Dovecot instance has neither TLS nor COMPRESS (imap_zlib) configured: Postamt alone.
    if (IDLE_VARIANTS > 0 && !IMAPTEST_ONLY) {
      for (const [key, tls, compress] of [['tls', true, false], ['compress', false, true], ['tlsCompress', true, true]] as const) {
        const port = tls ? prepared.ports.imaps! : prepared.ports.imap;
        await idlePostamt(postamt, { port, user: USER.postamt, password: PASSWORD.postamt, mailbox: 'Drafts', tls, compress }, key, IDLE_VARIANTS, results);
      }
    }
    if (IMAPTEST !== null) {
      postamt = await mixedWorkload({
        binary: IMAPTEST, mbox: imaptestMbox(IMAPTEST, args.list), modes: IMAPTEST_HASH,
        clients: args.number('imaptest-clients', 20), secs: args.number('imaptest-secs', 30),
        postamt, restartPostamt: (env) => startPostamt(prepared, { probe: true, env }), postamtPorts: prepared.ports,
        dovecot: dovecot ? { port: ports.dovecotImap, dir: dovecotDir } : null, results, log,
      });
    }
  } finally {
    await postamt.stop();
    dovecot?.stop();
  }
  console.log(IMAPTEST_ONLY ? `\nimaptest mixed workload only, Dovecot: ${withDovecot ? 'yes' : 'no'}\n` : `\n${N} messages of ~${(SIZE / 1024).toFixed(0)} KB, ${ROUNDS} rounds (medians), ${IDLE} IDLE connections, Dovecot: ${withDovecot ? 'yes' : 'no'}\n`);
  console.log(results.table());
  log(`results: ${results.write()}`);
  if (!args.flag('keep')) rmSync(dir, { recursive: true, force: true });
  else log(`kept ${dir}`);
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});
