/**
 * The import rule of docs/decisions/0007 for the JMAP engine: src/protocols/jmap imports only core/, message/,
 * its own files and zod (tests may also use node:test, node:assert and fast-check). No socket, file or store.
 */
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const engineDir = join(root, 'src/protocols/jmap');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : name.endsWith('.ts') ? [path] : [];
  });
}

function specifiers(source: string): string[] {
  return [...source.matchAll(/(?:^|\n)\s*(?:import|export)[^'"]*?from\s*'([^']+)'|import\(\s*'([^']+)'\s*\)|(?:^|\n)\s*import\s+'([^']+)'/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
}

describe('src/protocols/jmap import rules (ADR 0007)', () => {
  it('imports only core/, message/, its own files and zod', () => {
    const offences: string[] = [];
    for (const file of files(engineDir)) {
      const isTest = file.endsWith('.test.ts');
      for (const spec of specifiers(readFileSync(file, 'utf8'))) {
        if (spec.startsWith('.')) {
          const target = relative(join(root, 'src'), resolve(dirname(file), spec));
          if (!/^(protocols\/jmap|core|message)\//.test(target)) offences.push(`${relative(root, file)} → ${spec}`);
        } else if (!(spec === 'zod' || (isTest && ['node:test', 'node:assert/strict', 'fast-check'].includes(spec)))) {
          offences.push(`${relative(root, file)} → ${spec}`);
        }
      }
    }
    assert.deepEqual(offences, []);
  });

  it('the checker sees a forbidden import', () => {
    assert.deepEqual(specifiers("import { x } from '../../store/mail-store.ts';\nimport net from 'node:net';\nconst m = await import('node:fs');\nimport 'node:http';"), ['../../store/mail-store.ts', 'node:net', 'node:fs', 'node:http']);
  });
});
