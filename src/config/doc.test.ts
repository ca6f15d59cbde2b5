import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { renderConfigDoc } from './doc.ts';
import { listKeys } from './load.ts';

test('docs/configuration.md is the text generated from the schema (run scripts/gen-config-doc.ts)', () => {
  const committed = readFileSync(new URL('../../docs/configuration.md', import.meta.url), 'utf8');
  assert.equal(committed, renderConfigDoc());
});

test('the reference lists every key and its environment variable', () => {
  const text = renderConfigDoc();
  for (const k of listKeys()) {
    assert.ok(text.includes(`| \`${k.tomlPath.at(-1)}\` |`), k.tomlPath.join('.'));
    if (k.field.envSettable) assert.ok(text.includes(k.envName), k.envName);
  }
});
