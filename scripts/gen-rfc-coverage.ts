/**
 * Writes the generated part of docs/rfc-coverage.md (the RFC citations in the code) below its hand-kept
 * table: `node --import tsx scripts/gen-rfc-coverage.ts`. With `--check` it only compares and exits 1.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { REGENERATE, renderRfcCoverage } from './rfc-coverage.ts';

const root = fileURLToPath(new URL('..', import.meta.url));
const target = fileURLToPath(new URL('../docs/rfc-coverage.md', import.meta.url));
const current = readFileSync(target, 'utf8');
const text = renderRfcCoverage(root, current);
if (process.argv.includes('--check')) {
  if (current !== text) {
    console.error(`docs/rfc-coverage.md is out of date: run ${REGENERATE}`);
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
