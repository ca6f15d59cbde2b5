/** Replays a target's seeds and committed corpus (test/fuzz/corpus/<target>/) inside `npm test`. */
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { readCorpus } from './engine/fuzzer.ts';
import type { FuzzTarget } from './engine/target.ts';

const corpusRoot = join(dirname(fileURLToPath(import.meta.url)), 'corpus');

export async function replayCorpus(target: FuzzTarget): Promise<number> {
  const inputs = [...target.seeds.map((s) => Buffer.from(s, 'latin1')), ...readCorpus(join(corpusRoot, target.name))];
  for (const input of inputs) {
    try {
      await target.run(input);
    } catch (error) {
      throw new Error(`${target.name}: corpus input ${JSON.stringify(input.toString('latin1').slice(0, 200))} failed: ${error instanceof Error ? error.message : String(error)}`, { cause: error });
    }
  }
  return inputs.length;
}
