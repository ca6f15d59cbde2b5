/**
 * Comments say what a rule is and why: an issue number, or a TODO addressed to someone, means nothing to the
 * next reader, so none may appear in the code, the tests, the benches or the scripts.
 */
import { it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (name === 'node_modules' || name === 'corpus' || name === 'fixtures' || name === 'results') return [];
    return statSync(path).isDirectory() ? files(path) : /\.(ts|mjs|js)$/.test(name) ? [path] : [];
  });
}

it('no source file points at an issue number', () => {
  const offences: string[] = [];
  const self = fileURLToPath(import.meta.url);
  for (const file of ['src', 'test', 'bench', 'scripts', 'bin'].flatMap((d) => files(join(root, d))).filter((f) => f !== self)) {
    readFileSync(file, 'utf8').split('\n').forEach((line, i) => {
      if (/\bissues? #?\d+\b|\bTODO\(/i.test(line)) offences.push(`${relative(root, file)}:${i + 1}: ${line.trim()}`);
    });
  }
  assert.deepEqual(offences, [], 'reword these comments to say the rule and why');
});
