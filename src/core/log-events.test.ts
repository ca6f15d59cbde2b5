/**
 * docs/operations.md lists every log event the code emits, with fields the code really writes: the
 * events are read from the sources (`event: 'name'` in a logger call) and compared with the doc's table.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const SRC = fileURLToPath(new URL('..', import.meta.url));
const DOC = fileURLToPath(new URL('../../docs/operations.md', import.meta.url));

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return sources(path);
    return name.endsWith('.ts') && !name.endsWith('.test.ts') ? [path] : [];
  });
}

/** The text from the `{` that opens the object around `at` to its matching `}`. */
function enclosingObject(text: string, at: number): string {
  let depth = 0;
  let start = at;
  for (; start > 0; start--) {
    const c = text[start];
    if (c === '}') depth++;
    else if (c === '{') {
      if (depth === 0) break;
      depth--;
    }
  }
  depth = 0;
  for (let end = start; end < text.length; end++) {
    const c = text[end];
    if (c === '{') depth++;
    else if (c === '}' && --depth === 0) return text.slice(start, end + 1);
  }
  return text.slice(start);
}

/** Keys written at any depth of an object literal: `name:` and shorthand `name,`; spread constants of the file are followed. */
function keysOf(literal: string, file: string): Set<string> {
  const keys = new Set<string>();
  for (const m of literal.matchAll(/[{,]\s*([A-Za-z_$][\w$]*)\s*(?=[:,}])/g)) keys.add(m[1]!);
  for (const m of literal.matchAll(/\.\.\.([A-Za-z_$][\w$]*)\b/g)) {
    const decl = new RegExp(`const ${m[1]} = \\{`).exec(file);
    if (decl) for (const k of keysOf(enclosingObject(file, decl.index + decl[0].length - 1 + 1), file)) keys.add(k);
  }
  return keys;
}

/** Every event name the code logs, with the union of the fields written with it. */
export function emittedEvents(): Map<string, Set<string>> {
  const events = new Map<string, Set<string>>();
  for (const path of sources(SRC)) {
    const file = readFileSync(path, 'utf8');
    for (const m of file.matchAll(/\bevent: ([^,}]+)/g)) {
      const names = [...m[1]!.matchAll(/'([a-z0-9_]+\.[a-z0-9_.]+)'/g)].map((n) => n[1]!);
      if (names.length === 0) continue;
      const keys = keysOf(enclosingObject(file, m.index!), file);
      keys.delete('event');
      for (const name of names) {
        const set = events.get(name) ?? new Set<string>();
        for (const k of keys) set.add(k);
        events.set(name, set);
      }
    }
  }
  return events;
}

/** The doc's log table: one row per line, its event names (a cell may hold "`a` / `b`") and its fields. */
function documentedRows(): { events: string[]; fields: string[] }[] {
  const text = readFileSync(DOC, 'utf8');
  const section = text.slice(text.indexOf('## Logs'), text.indexOf('\n## ', text.indexOf('## Logs') + 1));
  const rows: { events: string[]; fields: string[] }[] = [];
  for (const line of section.split('\n')) {
    const cells = line.split('|').map((c) => c.trim());
    if (cells.length < 5 || !cells[1]!.startsWith('`')) continue;
    rows.push({ events: [...cells[1]!.matchAll(/`([^`]+)`/g)].map((n) => n[1]!), fields: cells[3]!.split(',').map((f) => f.trim()).filter(Boolean) });
  }
  return rows;
}

test('every event the code logs is in the log table of docs/operations.md, and every documented event is logged', () => {
  const emitted = emittedEvents();
  const documented = new Set(documentedRows().flatMap((r) => r.events));
  assert.ok(emitted.size > 20, `found only ${emitted.size} events in the sources`);
  assert.deepEqual([...emitted.keys()].filter((e) => !documented.has(e)).sort(), [], 'logged but not documented');
  assert.deepEqual([...documented].filter((e) => !emitted.has(e)).sort(), [], 'documented but never logged');
});

test('the fields documented for each row are fields the code writes with one of its events', () => {
  const emitted = emittedEvents();
  const wrong: string[] = [];
  for (const row of documentedRows()) {
    const written = new Set(row.events.flatMap((e) => [...(emitted.get(e) ?? [])]));
    for (const field of row.fields) if (!written.has(field)) wrong.push(`${row.events.join(' / ')}: ${field} (written: ${[...written].sort().join(', ')})`);
  }
  assert.deepEqual(wrong, []);
});
