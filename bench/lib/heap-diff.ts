/**
 * Bench helper: compares two V8 heap snapshots (.heapsnapshot) by object kind: the count and self size
 * of every (node type, constructor or name) group, and what grew between them. Used by
 * `bench/imap.ts --heap-diff` to show what one idle connection holds.
 */
import { readFileSync } from 'node:fs';

interface Group {
  count: number;
  bytes: number;
}

type Summary = Map<string, Group>;

interface RawSnapshot {
  snapshot: { meta: { node_fields: string[]; node_types: [string[], ...unknown[]] } };
  nodes: number[];
  strings: string[];
}

/** Node types whose name is data (a string's text, a closure's code), not a kind: grouped by type only. */
const BY_TYPE_ONLY = new Set(['string', 'concatenated string', 'sliced string', 'number', 'code', 'hidden', 'array']);

export function summarizeSnapshot(file: string): Summary {
  const raw = JSON.parse(readFileSync(file, 'utf8')) as RawSnapshot;
  const fields = raw.snapshot.meta.node_fields;
  const types = raw.snapshot.meta.node_types[0];
  const width = fields.length;
  const typeAt = fields.indexOf('type');
  const nameAt = fields.indexOf('name');
  const sizeAt = fields.indexOf('self_size');
  const out: Summary = new Map();
  for (let i = 0; i < raw.nodes.length; i += width) {
    const type = types[raw.nodes[i + typeAt]!]!;
    const name = raw.strings[raw.nodes[i + nameAt]!]!;
    const key = BY_TYPE_ONLY.has(type) ? `(${type})` : type === 'closure' ? `closure ${name || '(anonymous)'}` : type === 'object' ? name : `${type} ${name.slice(0, 60)}`;
    const g = out.get(key) ?? { count: 0, bytes: 0 };
    g.count++;
    g.bytes += raw.nodes[i + sizeAt]!;
    out.set(key, g);
  }
  return out;
}

/** The groups that grew, biggest growth first, with the growth divided by `per` (e.g. connections). */
export function diffSnapshots(before: Summary, after: Summary, per: number, top = 40): { total: number; rows: string[] } {
  const rows: { key: string; count: number; bytes: number }[] = [];
  let total = 0;
  for (const [key, a] of after) {
    const b = before.get(key) ?? { count: 0, bytes: 0 };
    const bytes = a.bytes - b.bytes;
    total += bytes;
    if (bytes > 0) rows.push({ key, count: a.count - b.count, bytes });
  }
  for (const [key, b] of before) if (!after.has(key)) total -= b.bytes;
  rows.sort((x, y) => y.bytes - x.bytes);
  return {
    total,
    rows: rows.slice(0, top).map((r) => `${(r.bytes / per).toFixed(0).padStart(7)} B/conn  ${(r.count / per).toFixed(2).padStart(7)} objs/conn  ${r.key}`),
  };
}
