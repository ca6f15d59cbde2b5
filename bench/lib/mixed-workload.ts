/**
 * Bench helper: imaptest's stress profile against Postamt and the private Dovecot in the same run, each
 * on its own user (not the big INBOX of the other scenarios), in two password-hashing set-ups:
 *  - cheap: Postamt's verified-credentials cache on (scrypt once per run), Dovecot's PLAIN passwords;
 *  - equal: both pay the same hash at every LOGIN: Postamt's cache off (scrypt each time), Dovecot with
 *    SHA512-CRYPT at the rounds that cost what Postamt's scrypt costs, measured in this run.
 * Reports commands per second and imaptest's average ms per command type for both, and Postamt's p50/p99
 * per command from its own postamt_imap_command_seconds histogram (scraped before and after).
 */
import { spawnSync } from 'node:child_process';
import { loadavg } from 'node:os';
import { HashPool } from '../../src/accounts/hash-pool.ts';
import { passwordFunctions } from '../../src/accounts/passwords.ts';
import { setDovecotPassword } from './dovecot.ts';
import { cpuMs, type PostamtChild } from './postamt.ts';
import { histogramQuantiles, IMAPTEST_COLUMNS, readHistogram, runImaptest, type ImaptestRun } from './imaptest.ts';
import { median, type Results, type Server } from './results.ts';

export type HashMode = 'cheap' | 'equal';

/** The users imaptest logs in as (their mailboxes start empty; imaptest fills them from its mbox). */
export const STRESS_USER = { postamt: 'stress@test.example', dovecot: 'stress', password: 'stress-password' } as const;

const MODE_TEXT: Record<HashMode, string> = {
  cheap: 'login cached/cheap',
  equal: 'equal hash per login',
};

export interface MixedWorkloadOptions {
  binary: string;
  mbox: string;
  modes: HashMode[];
  clients: number;
  secs: number;
  /** The running Postamt (verified-credentials cache on, the default). */
  postamt: PostamtChild;
  /** Starts Postamt again on the same config with these environment variables. */
  restartPostamt: (env: Record<string, string>) => Promise<PostamtChild>;
  postamtPorts: { imap: number; http?: number };
  dovecot: { port: number; dir: string } | null;
  results: Results;
  log: (text: string) => void;
}

/** Runs every mode; returns the Postamt process then running (the caller stops it). */
export async function mixedWorkload(o: MixedWorkloadOptions): Promise<PostamtChild> {
  let postamt = o.postamt;
  let cacheOn = true;
  for (const mode of o.modes) {
    let dovecotHash = `{PLAIN}${STRESS_USER.password}`;
    if (mode === 'equal') {
      const cal = await calibrate(o.log);
      dovecotHash = cal.hash;
      o.results.note(`imaptest, ${MODE_TEXT.equal}: Postamt's scrypt verify took ${cal.scryptMs.toFixed(1)} ms (median, this run); Dovecot's SHA512-CRYPT with rounds=${cal.rounds} `
        + `${cal.sha512Ms.toFixed(1)} ms (doveadm pw -t, process start subtracted); Postamt runs with auth.verified_cache_ttl = "0s", Dovecot without auth cache (its default)`);
    } else {
      o.results.note(`imaptest, ${MODE_TEXT.cheap}: Postamt's verified-credentials cache on (the default: one scrypt per run), Dovecot's passwd-file with {PLAIN} (no hash at all)`);
    }
    const wantCache = mode === 'cheap';
    if (wantCache !== cacheOn) {
      await postamt.stop();
      postamt = await o.restartPostamt(wantCache ? {} : { POSTAMT_AUTH_VERIFIED_CACHE_TTL: '0s' });
      cacheOn = wantCache;
    }
    if (o.dovecot) setDovecotPassword(o.dovecot.dir, STRESS_USER.dovecot, dovecotHash);
    const servers: Server[] = o.dovecot ? ['postamt', 'dovecot'] : ['postamt'];
    for (const server of servers) {
      const port = server === 'postamt' ? o.postamtPorts.imap : o.dovecot!.port;
      const user = server === 'postamt' ? STRESS_USER.postamt : STRESS_USER.dovecot;
      const metricsBefore = server === 'postamt' ? await scrapeMetrics(o.postamtPorts.http) : null;
      const cpuBefore = server === 'postamt' ? cpuMs(postamt.child.pid!) : 0;
      const loadBefore = loadavg()[0]!;
      o.log(`imaptest (${MODE_TEXT[mode]}): ${server}, ${o.clients} clients, ${o.secs} s, load ${loadBefore.toFixed(1)}`);
      const run = await runImaptest({ binary: o.binary, port, user, password: STRESS_USER.password, mbox: o.mbox, clients: o.clients, secs: o.secs });
      const loadAfter = loadavg()[0]!;
      record(o.results, mode, server, run);
      o.log(`imaptest (${MODE_TEXT[mode]}): ${server}: ${run.commands} commands, ${run.commandsPerSecond.toFixed(0)}/s, ${run.errors.length} errors, load ${loadAfter.toFixed(1)}`);
      let detail = '';
      if (server === 'postamt') {
        const cpu = cpuMs(postamt.child.pid!) - cpuBefore;
        detail = `; server CPU ${(cpu / Math.max(1, run.commands)).toFixed(3)} ms per command`;
        const metricsAfter = await scrapeMetrics(o.postamtPorts.http);
        if (metricsBefore !== null && metricsAfter !== null) detail += `; ${latencyNote(metricsBefore, metricsAfter)}`;
      }
      o.results.note(`imaptest, ${MODE_TEXT[mode]}, ${server}: ${run.commands} commands in ${o.secs} s (${Object.entries(run.totals).map(([k, v]) => `${k} ${v}`).join(', ')}); `
        + `${run.errors.length} errors${run.errors.length ? ` (first: ${run.errors[0]})` : ''}; load average ${loadBefore.toFixed(1)} → ${loadAfter.toFixed(1)}${detail}`);
    }
  }
  return postamt;
}

function record(results: Results, mode: HashMode, server: Server, run: ImaptestRun): void {
  results.add({ key: `imaptest-${mode}-cps`, label: `imaptest stress, ${MODE_TEXT[mode]}: commands per second`, unit: 'cmd/s', higherIsBetter: true }, server, run.commandsPerSecond);
  results.add({ key: `imaptest-${mode}-errors`, label: `imaptest stress, ${MODE_TEXT[mode]}: errors`, unit: 'count', higherIsBetter: false }, server, run.errors.length);
  for (const [column, what] of Object.entries(IMAPTEST_COLUMNS)) {
    const ms = run.avgMs[column];
    if (ms === undefined) continue;
    results.add({ key: `imaptest-${mode}-avg-${column}`, label: `imaptest stress, ${MODE_TEXT[mode]}: ${what}, average`, unit: 'ms', higherIsBetter: false }, server, ms);
  }
}

async function scrapeMetrics(httpPort: number | undefined): Promise<string | null> {
  if (httpPort === undefined) return null;
  try {
    return await (await fetch(`http://127.0.0.1:${httpPort}/metrics`)).text();
  } catch {
    return null;
  }
}

/** Postamt's own p50/p99 per command (from the histogram's buckets) and the shares within 5 and 50 ms. */
function latencyNote(before: string, after: string): string {
  const name = 'postamt_imap_command_seconds';
  const q = histogramQuantiles(readHistogram(before, name, 'command'), readHistogram(after, name, 'command'), [0.5, 0.99]);
  const rows = [...q].sort((a, b) => b[1].count - a[1].count).map(([command, r]) => {
    const [p50, p99] = r.quantiles.map((s) => (s * 1000).toFixed(1));
    return `${command} ×${r.count} p50 ${p50} / p99 ${p99} ms (${(r.withinMs(5) * 100).toFixed(0)} % ≤ 5 ms, ${(r.withinMs(50) * 100).toFixed(1)} % ≤ 50 ms)`;
  });
  return `Postamt's time per command (${name}, server side, interpolated in its buckets): ${rows.join('; ')}`;
}

/**
 * Postamt's password verification (scrypt with the parameters `user add` uses, on a hash thread as the server
 * and the CLI run it) timed in this process, and the SHA512-CRYPT rounds that cost as much in Dovecot's doveadm
 * (its start-up, timed with a PLAIN check, subtracted). Medians of several tries: the machine may be busy.
 */
async function calibrate(log: (text: string) => void): Promise<{ scryptMs: number; rounds: number; sha512Ms: number; hash: string }> {
  const pool = new HashPool({ threads: 1, nice: 0 });
  const passwords = passwordFunctions({ pool });
  const scryptTimes: number[] = [];
  try {
    const stored = await passwords.hashPassword(STRESS_USER.password);
    for (let i = 0; i < 9; i++) {
      const t0 = performance.now();
      if (!(await passwords.verifyPassword(stored, STRESS_USER.password))) throw new Error('scrypt verification failed');
      scryptTimes.push(performance.now() - t0);
    }
  } finally {
    await pool.close();
  }
  const scryptMs = median(scryptTimes);
  const doveadmMs = (hash: string): number => {
    const times: number[] = [];
    for (let i = 0; i < 5; i++) {
      const t0 = performance.now();
      const r = spawnSync('doveadm', ['pw', '-t', hash, '-p', STRESS_USER.password], { encoding: 'utf8' });
      times.push(performance.now() - t0);
      if (!/verified/.test(r.stdout + r.stderr)) throw new Error(`doveadm pw -t did not verify ${hash}: ${r.stdout}${r.stderr}`);
    }
    return median(times);
  };
  const make = (rounds: number): string => {
    const r = spawnSync('doveadm', ['pw', '-s', 'SHA512-CRYPT', '-r', String(rounds), '-p', STRESS_USER.password], { encoding: 'utf8' });
    const hash = r.stdout.trim();
    if (!hash.startsWith('{SHA512-CRYPT}')) throw new Error(`doveadm pw failed: ${r.stderr}`);
    return hash;
  };
  const start = doveadmMs(`{PLAIN}${STRESS_USER.password}`);
  const probeRounds = 200_000;
  const perRound = Math.max(1e-6, (doveadmMs(make(probeRounds)) - start) / probeRounds);
  const rounds = Math.min(999_999_999, Math.max(1000, Math.round(scryptMs / perRound)));
  const hash = make(rounds);
  const sha512Ms = doveadmMs(hash) - start;
  log(`imaptest: scrypt verify ${scryptMs.toFixed(1)} ms; SHA512-CRYPT rounds=${rounds} ${sha512Ms.toFixed(1)} ms`);
  return { scryptMs, rounds, sha512Ms, hash };
}
