/**
 * A small coverage-guided fuzzer: inputs that reach new V8 blocks (coverage.ts) join the corpus,
 * mutate.ts derives new inputs from them, and every crash (throw) or hang (an execution slower than
 * hangMs) is saved under test/fuzz/crashes/<target>/. Simple and honest, not libFuzzer.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CoverageTracker } from './coverage.ts';
import { mutate } from './mutate.ts';
import { Random } from './random.ts';
import type { FuzzTarget } from './target.ts';

export interface FuzzOptions {
  target: FuzzTarget;
  seconds: number;
  /** An execution slower than this is a hang. */
  hangMs: number;
  seed: number;
  /** Read-only seed corpus (committed). */
  corpusDir: string;
  /** Where coverage-increasing inputs are written (gitignored work corpus), or null. */
  workDir: string | null;
  crashDir: string;
  /** Written before every execution so a parent can recover an input that never returns. */
  currentInputFile?: string;
  /** Source URLs whose coverage guides the search. */
  watch: (url: string) => boolean;
  onProgress?: (stats: FuzzStats) => void;
}

export interface FuzzStats {
  target: string;
  executions: number;
  corpus: number;
  features: number;
  crashes: number;
  hangs: number;
  slowestMs: number;
  seconds: number;
  /** First line of each distinct crash message. */
  crashMessages: string[];
}

export function readCorpus(dir: string): Buffer[] {
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return [];
  }
  return names.filter((n) => !n.startsWith('.')).sort().map((n) => readFileSync(join(dir, n)));
}

function sha1(data: Buffer): string {
  return createHash('sha1').update(data).digest('hex');
}

function save(dir: string, name: string, data: Buffer): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, name), data);
}

export async function fuzz(options: FuzzOptions): Promise<FuzzStats> {
  const { target } = options;
  const random = new Random(options.seed);
  const dictionary = target.dictionary.map((t) => Buffer.from(t, 'latin1'));
  const maxLength = target.maxLength ?? 4096;
  const stats: FuzzStats = { target: target.name, executions: 0, corpus: 0, features: 0, crashes: 0, hangs: 0, slowestMs: 0, seconds: 0, crashMessages: [] };
  const seen = new Set<string>();
  const corpus: Buffer[] = [];
  const crashKeys = new Set<string>();
  const coverage = new CoverageTracker({ watch: options.watch });
  const started = performance.now();

  const execute = async (data: Buffer, isSeed: boolean): Promise<void> => {
    if (options.currentInputFile) writeFileSync(options.currentInputFile, data);
    coverage.reset();
    const t0 = performance.now();
    let failure: unknown = null;
    try {
      await target.run(data);
    } catch (error) {
      failure = error;
    }
    const elapsed = performance.now() - t0;
    stats.executions++;
    stats.slowestMs = Math.max(stats.slowestMs, elapsed);
    const features = coverage.take();
    if (failure !== null) {
      const message = (failure instanceof Error ? `${failure.name}: ${failure.message}` : String(failure)).split('\n')[0]!.slice(0, 160);
      stats.crashes++;
      if (!crashKeys.has(message)) {
        crashKeys.add(message);
        stats.crashMessages.push(message);
      }
      save(options.crashDir, `crash-${sha1(data)}`, data);
      return;
    }
    if (elapsed > options.hangMs) {
      stats.hangs++;
      save(options.crashDir, `hang-${sha1(data)}`, data);
      return;
    }
    let isNew = false;
    for (const f of features) {
      if (!seen.has(f)) {
        seen.add(f);
        isNew = true;
      }
    }
    if (isNew || (isSeed && corpus.length === 0)) {
      corpus.push(data);
      if (!isSeed && options.workDir) save(options.workDir, sha1(data), data);
    }
  };

  const initial = [...target.seeds.map((s) => Buffer.from(s, 'latin1')), ...readCorpus(options.corpusDir), ...(options.workDir ? readCorpus(options.workDir) : [])];
  for (const data of initial.length > 0 ? initial : [Buffer.alloc(0)]) await execute(data, true);

  const deadline = started + options.seconds * 1000;
  let nextReport = performance.now() + 5000;
  while (performance.now() < deadline) {
    const base = corpus[random.below(corpus.length)] ?? Buffer.alloc(0);
    const other = corpus[random.below(corpus.length)] ?? Buffer.alloc(0);
    await execute(mutate(base, random, { dictionary, other, maxLength }), false);
    if (options.onProgress && performance.now() > nextReport) {
      nextReport = performance.now() + 5000;
      options.onProgress({ ...stats, corpus: corpus.length, features: seen.size, seconds: (performance.now() - started) / 1000 });
    }
  }
  coverage.close();
  return { ...stats, corpus: corpus.length, features: seen.size, seconds: (performance.now() - started) / 1000 };
}
