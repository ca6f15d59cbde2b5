/**
 * One long fuzz run of one target, in its own process so that the parent (scripts/fuzz.mjs) can kill
 * an input that never returns. Usage: node --import tsx test/fuzz/engine/worker.ts <target>
 * Env: FUZZ_SECONDS (60), FUZZ_HANG_MS (500), FUZZ_SEED (time). Prints progress lines and, last,
 * one line `RESULT {json}`.
 */
import { mkdirSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { fuzz } from './fuzzer.ts';
import { TARGETS } from '../targets/index.ts';

const fuzzDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const srcUrl = pathToFileURL(resolve(fuzzDir, '../../src')).href + '/';

const name = process.argv[2];
const loader = name ? TARGETS[name] : undefined;
if (!loader) {
  console.error(`unknown target ${name}; known: ${Object.keys(TARGETS).join(', ')}`);
  process.exit(2);
}
const target = await loader();
if (target === null) {
  console.log(`RESULT ${JSON.stringify({ target: name, skipped: 'module under test not present yet' })}`);
  process.exit(0);
}
const workDir = join(fuzzDir, '.work', target.name);
mkdirSync(workDir, { recursive: true });
const stats = await fuzz({
  target,
  seconds: Number(process.env.FUZZ_SECONDS ?? 60),
  hangMs: Number(process.env.FUZZ_HANG_MS ?? 500),
  seed: Number(process.env.FUZZ_SEED ?? Date.now() % 2 ** 31),
  corpusDir: join(fuzzDir, 'corpus', target.name),
  workDir,
  crashDir: join(fuzzDir, 'crashes', target.name),
  currentInputFile: join(workDir, '.current'),
  watch: (url) => url.startsWith(srcUrl),
  onProgress: (s) => console.log(`PROGRESS ${s.target} ${s.seconds.toFixed(0)}s exec=${s.executions} corpus=${s.corpus} features=${s.features} crashes=${s.crashes} hangs=${s.hangs}`),
});
console.log(`RESULT ${JSON.stringify(stats)}`);
