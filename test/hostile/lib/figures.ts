/**
 * Figures recorded by hostile cases: each file collects rows (case, figure, limit, pass), writes them
 * to test/hostile/.results/<file>.json and prints a table from its `after` hook. HOSTILE_LONG scales counts.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { after } from 'node:test';

export const LONG = process.env.HOSTILE_LONG === '1';
/** Scales a count or duration: the short form uses `short`, the long form `long`. */
export const scale = (short: number, long: number): number => (LONG ? long : short);

export interface FigureRow {
  case: string;
  figure: string;
  limit: string;
  pass: boolean;
}

const RESULTS = join(dirname(fileURLToPath(import.meta.url)), '..', '.results');

export interface Figures {
  record(row: FigureRow): void;
  rows: FigureRow[];
}

export function formatTable(rows: FigureRow[]): string {
  const head: FigureRow = { case: 'case', figure: 'figure', limit: 'limit', pass: true };
  const cells = [head, ...rows].map((r, i) => [r.case, r.figure, r.limit, i === 0 ? 'pass' : r.pass ? 'yes' : 'NO']);
  const widths = [0, 1, 2, 3].map((c) => Math.max(...cells.map((row) => row[c]!.length)));
  const line = (row: string[]): string => `| ${row.map((v, c) => v.padEnd(widths[c]!)).join(' | ')} |`;
  return [line(cells[0]!), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...cells.slice(1).map(line)].join('\n');
}

/** Rows for one test file; the table is written and printed when the file's tests end. */
export function figures(testFile: string): Figures {
  const rows: FigureRow[] = [];
  const name = basename(testFile).replace(/\.test\.ts$/, '');
  after(() => {
    mkdirSync(RESULTS, { recursive: true });
    writeFileSync(join(RESULTS, `${name}.json`), JSON.stringify({ file: name, long: LONG, at: new Date().toISOString(), rows }, null, 2));
    process.stdout.write(`\n# hostile figures: ${name}${LONG ? ' (long)' : ''}\n${formatTable(rows).split('\n').map((l) => `# ${l}`).join('\n')}\n`);
  });
  return { rows, record: (row) => rows.push(row) };
}

/** Every row of the last run of every file (for docs/reliability.md). */
export function allResults(): Array<{ file: string; rows: FigureRow[] }> {
  let names: string[];
  try {
    names = readdirSync(RESULTS).filter((n) => n.endsWith('.json'));
  } catch {
    return [];
  }
  return names.sort().map((n) => JSON.parse(readFileSync(join(RESULTS, n), 'utf8')));
}
