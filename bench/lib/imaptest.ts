/**
 * Bench helper: Dovecot's imaptest (github dovecot/imaptest) as a mixed IMAP workload: many clients LOGIN,
 * SELECT, FETCH, STORE, EXPUNGE, APPEND and LOGOUT on one mailbox at once. Runs the binary against a
 * server and reads its output: commands per type, commands per second, average ms per type, errors.
 */
import { spawn, spawnSync } from 'node:child_process';
import { accessSync, constants, existsSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';

/** imaptest's column names, in its order, and what they count. */
export const IMAPTEST_COLUMNS: Record<string, string> = {
  Logi: 'LOGIN', List: 'LIST', Stat: 'STATUS', Sele: 'SELECT', Fetc: 'FETCH (flags, envelope)', Fet2: 'FETCH (bodies)',
  Stor: 'STORE (flags)', Dele: 'STORE \\Deleted', Expu: 'EXPUNGE', Appe: 'APPEND', Logo: 'LOGOUT',
};

export interface ImaptestRun {
  /** Commands per column over the whole run (imaptest's Totals). */
  totals: Record<string, number>;
  /** Average ms per command of each column, weighted by the commands of each 10 s block. */
  avgMs: Record<string, number>;
  commands: number;
  commandsPerSecond: number;
  /** Lines imaptest reported as errors (protocol errors, unexpected replies, lost connections). */
  errors: string[];
  output: string;
}

/**
 * The imaptest binary: `--imaptest PATH` or the IMAPTEST environment variable; null (the caller skips the
 * workload) when neither is given. Throws when the path given is not an executable that runs.
 */
export function imaptestBinary(args: readonly string[]): string | null {
  const i = args.indexOf('--imaptest');
  const given = i >= 0 ? args[i + 1] : process.env.IMAPTEST;
  if (given === undefined || given === '') return null;
  const path = resolve(given);
  accessSync(path, constants.X_OK);
  const r = spawnSync(path, ['--help'], { env: imaptestEnv(), encoding: 'utf8' });
  if (r.error || /error while loading shared libraries/.test(r.stderr ?? '')) {
    throw new Error(`${path} does not run: ${r.error?.message ?? r.stderr.trim()}`);
  }
  return path;
}

/** The mbox imaptest APPENDs from: `--imaptest-mbox PATH`, else tests/default.mbox beside the binary. */
export function imaptestMbox(binary: string, args: readonly string[]): string {
  const i = args.indexOf('--imaptest-mbox');
  const path = i >= 0 && args[i + 1] ? resolve(args[i + 1]!) : join(dirname(binary), 'tests', 'default.mbox');
  if (!existsSync(path)) throw new Error(`no mbox for imaptest at ${path} (give one with --imaptest-mbox)`);
  return path;
}

/** A build against Debian's dovecot-dev links libdovecot.so.0, which lives in /usr/lib/dovecot. */
function imaptestEnv(): NodeJS.ProcessEnv {
  const paths = ['/usr/lib/dovecot', process.env.LD_LIBRARY_PATH].filter(Boolean);
  return { ...process.env, LD_LIBRARY_PATH: paths.join(':') };
}

/** Runs imaptest's default stress profile (no `test=`): `clients` clients for `secs` seconds. */
export async function runImaptest(options: {
  binary: string; port: number; user: string; password: string; mbox: string; clients: number; secs: number;
}): Promise<ImaptestRun> {
  const argv = [
    'host=127.0.0.1', `port=${options.port}`, `user=${options.user}`, `pass=${options.password}`,
    `mbox=${options.mbox}`, `clients=${options.clients}`, `secs=${options.secs}`,
  ];
  const output = await new Promise<string>((res, rej) => {
    const child = spawn(options.binary, argv, { env: imaptestEnv(), stdio: ['ignore', 'pipe', 'pipe'] });
    const chunks: Buffer[] = [];
    child.stdout.on('data', (c: Buffer) => chunks.push(c));
    child.stderr.on('data', (c: Buffer) => chunks.push(c));
    // imaptest stops by itself after secs (plus the LOGOUTs); a hang must not hold the bench forever.
    const timer = setTimeout(() => child.kill('SIGKILL'), (options.secs + 60) * 1000);
    child.on('error', rej);
    child.on('close', () => {
      clearTimeout(timer);
      res(Buffer.concat(chunks).toString('utf8'));
    });
  });
  return { ...parseImaptest(output, options.secs), output };
}

/**
 * imaptest prints, every second, one row of commands per column, and every 10 s a row of averages
 * ending in "ms/cmd avg" for those 10 s; at the end "Totals:" with the column names and the sums.
 */
export function parseImaptest(output: string, secs: number): Omit<ImaptestRun, 'output'> {
  const lines = output.split('\n');
  let columns: string[] = [];
  const totals: Record<string, number> = {};
  const weighted: Record<string, { ms: number; n: number }> = {};
  let block: number[] = [];
  const errors: string[] = [];
  const numbers = (line: string): number[] => line.trim().split(/\s+/).map(Number);
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^(Error|Panic|Fatal)\b/i.test(line.trim())) errors.push(line.trim());
    if (/^\s*Logi\s/.test(line)) {
      columns = line.trim().split(/\s+/);
      continue;
    }
    if (line.startsWith('Totals:')) {
      // Column names, two percentage rows, then the sums.
      for (let j = i + 1; j < lines.length; j++) {
        if (/^\s*\d+(\s+\d+)+\s*$/.test(lines[j]!)) {
          numbers(lines[j]!).forEach((v, k) => (totals[columns[k]!] = v));
          break;
        }
      }
      break;
    }
    if (/ms\/cmd avg\s*$/.test(line)) {
      const avgs = numbers(line.replace(/ms\/cmd avg\s*$/, ''));
      avgs.forEach((ms, k) => {
        const name = columns[k]!;
        const w = (weighted[name] ??= { ms: 0, n: 0 });
        w.ms += ms * (block[k] ?? 0);
        w.n += block[k] ?? 0;
      });
      block = [];
      continue;
    }
    // A per-second row: counts per column, then "active/clients".
    const m = /^\s*(\d+(?:\s+\d+)+)\s+\d+\/\s*\d+\s*$/.exec(line);
    if (m) numbers(m[1]!).forEach((v, k) => (block[k] = (block[k] ?? 0) + v));
  }
  const avgMs: Record<string, number> = {};
  for (const [name, w] of Object.entries(weighted)) avgMs[name] = w.n > 0 ? w.ms / w.n : NaN;
  // LOGOUT ends what LOGIN began: the sum counts every command once.
  const commands = Object.values(totals).reduce((a, b) => a + b, 0);
  return { totals, avgMs, commands, commandsPerSecond: commands / secs, errors };
}

/** Cumulative bucket counts of one Prometheus histogram, by label value: label → [[le, count]...]. */
export type HistogramBuckets = Map<string, [number, number][]>;

/** The buckets of histogram `name` by its `label` in a Prometheus text exposition. */
export function readHistogram(text: string, name: string, label: string): HistogramBuckets {
  const out: HistogramBuckets = new Map();
  const re = new RegExp(`^${name}_bucket\\{(.*)\\} (\\d+(?:\\.\\d+)?(?:e[+-]?\\d+)?)$`, 'gm');
  for (const m of text.matchAll(re)) {
    const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)].map((l) => [l[1]!, l[2]!]));
    const key = labels[label];
    if (key === undefined || labels.le === undefined) continue;
    const le = labels.le === '+Inf' ? Infinity : Number(labels.le);
    if (!out.has(key)) out.set(key, []);
    out.get(key)!.push([le, Number(m[2])]);
  }
  for (const b of out.values()) b.sort((x, y) => x[0] - y[0]);
  return out;
}

/**
 * Quantiles from the difference of two scrapes of a histogram (the commands of the run alone), by linear
 * interpolation inside the bucket the quantile falls in (Prometheus's histogram_quantile does the same).
 */
export function histogramQuantiles(before: HistogramBuckets, after: HistogramBuckets, qs: readonly number[]): Map<string, { count: number; quantiles: number[]; withinMs: (ms: number) => number }> {
  const out = new Map<string, { count: number; quantiles: number[]; withinMs: (ms: number) => number }>();
  for (const [key, buckets] of after) {
    const base = new Map(before.get(key) ?? []);
    const diff = buckets.map(([le, c]) => [le, c - (base.get(le) ?? 0)] as [number, number]);
    const count = diff.at(-1)?.[1] ?? 0;
    if (count === 0) continue;
    const quantile = (q: number): number => {
      const rank = q * count;
      let prevLe = 0;
      let prevCount = 0;
      for (const [le, c] of diff) {
        if (c >= rank) {
          if (!Number.isFinite(le)) return prevLe; // beyond the last bucket: its bound is all we know
          return prevLe + ((le - prevLe) * (rank - prevCount)) / Math.max(1, c - prevCount);
        }
        prevLe = le;
        prevCount = c;
      }
      return prevLe;
    };
    // The share of commands answered within `ms` (exact at bucket bounds: 1, 2.5, 5, 10, 25, 50 ms...).
    const withinMs = (ms: number): number => (diff.find(([le]) => le >= ms / 1000)?.[1] ?? count) / count;
    out.set(key, { count, quantiles: qs.map(quantile), withinMs });
  }
  return out;
}
