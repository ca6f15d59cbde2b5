/**
 * Writes docs/configuration.md from src/config/schema.ts: `node --import tsx scripts/gen-config-doc.ts`.
 * With `--check` it only compares and exits 1 when the file is out of date.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { renderConfigDoc } from '../src/config/doc.ts';

const target = fileURLToPath(new URL('../docs/configuration.md', import.meta.url));
const text = renderConfigDoc();
if (process.argv.includes('--check')) {
  let current = '';
  try { current = readFileSync(target, 'utf8'); } catch { /* missing counts as stale */ }
  if (current !== text) {
    console.error('docs/configuration.md is out of date: run node --import tsx scripts/gen-config-doc.ts');
    process.exit(1);
  }
} else {
  writeFileSync(target, text);
  console.log(`wrote ${target}`);
}
