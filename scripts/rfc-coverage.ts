/**
 * docs/rfc-coverage.md in two parts: the hand-kept table of what each RFC covers (everything above the
 * generated marker), and the list of `RFC NNNN §x` citations found in the server's code, per RFC, which
 * this module renders. scripts/gen-rfc-coverage.ts writes it; test/layout/rfc-coverage.test.ts checks it.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative, sep } from 'node:path';

export const GENERATED_MARKER = '<!-- Generated below by scripts/gen-rfc-coverage.ts from the code: do not edit. -->';
export const REGENERATE = 'node --import tsx scripts/gen-rfc-coverage.ts';

export interface RfcCitations {
  rfc: number;
  /** Distinct sections cited ("4.5.3.1.4"), in document order; empty when only the RFC is named. */
  sections: string[];
  /** Files (relative to the repository, forward slashes) and how many citations each holds. */
  files: Map<string, number>;
}

/**
 * The server's code: src/ without tests, test doubles (testing/, testing.ts) and the store contract suites,
 * so that a citation marks a line that enforces a rule.
 */
function sourceFiles(dir: string): string[] {
  return readdirSync(dir).sort().flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return ['testing', 'contract', 'node_modules'].includes(name) ? [] : sourceFiles(path);
    return /\.(ts|mjs)$/.test(name) && !name.endsWith('.test.ts') && name !== 'testing.ts' ? [path] : [];
  });
}

// "RFC 5321 §4.5.3.1.4", "RFC 9051", "RFC5322 § 3.6.4"; a section ends before a trailing full stop.
const CITATION = /\bRFC ?(\d{3,5})\b(?: ?§ ?(\d+(?:\.\d+)*))?/g;

export function collectCitations(root: string): RfcCitations[] {
  const byRfc = new Map<number, RfcCitations>();
  for (const file of sourceFiles(join(root, 'src'))) {
    const name = relative(root, file).split(sep).join('/');
    for (const m of readFileSync(file, 'utf8').matchAll(CITATION)) {
      const rfc = Number(m[1]);
      let entry = byRfc.get(rfc);
      if (!entry) byRfc.set(rfc, (entry = { rfc, sections: [], files: new Map() }));
      if (m[2] && !entry.sections.includes(m[2])) entry.sections.push(m[2]);
      entry.files.set(name, (entry.files.get(name) ?? 0) + 1);
    }
  }
  for (const entry of byRfc.values()) entry.sections.sort(compareSections);
  return [...byRfc.values()].sort((a, b) => a.rfc - b.rfc);
}

function compareSections(a: string, b: string): number {
  const x = a.split('.').map(Number);
  const y = b.split('.').map(Number);
  for (let i = 0; i < Math.max(x.length, y.length); i++) {
    const d = (x[i] ?? -1) - (y[i] ?? -1);
    if (d !== 0) return d;
  }
  return 0;
}

/** The RFC numbers the hand-kept part names in its tables' first column ("2034 / 3463", "2177, 4315"). */
export function rfcsInTable(handKept: string): Set<number> {
  const out = new Set<number>();
  for (const line of handKept.split('\n')) {
    const first = /^\|([^|]*)\|/.exec(line)?.[1] ?? '';
    for (const n of first.matchAll(/\b\d{3,5}\b/g)) out.add(Number(n[0]));
  }
  return out;
}

export function renderCitations(citations: RfcCitations[], inTable: Set<number>): string {
  const total = citations.reduce((n, c) => n + [...c.files.values()].reduce((a, b) => a + b, 0), 0);
  const lines = [
    GENERATED_MARKER,
    '',
    '## Citations in the code',
    '',
    `Every \`RFC NNNN §x\` the server's code cites (src/, without tests): ${total} citations of ${citations.length} RFCs.`,
    'A citation stands at the line that enforces the rule; the count per file is in brackets. An RFC marked',
    '"not in the table" is cited but has no row above yet. Regenerate with `' + REGENERATE + '`.',
    '',
    '| RFC | Sections cited | Files |',
    '|---|---|---|',
  ];
  for (const c of citations) {
    const rfc = inTable.has(c.rfc) ? `${c.rfc}` : `${c.rfc} (not in the table)`;
    const sections = c.sections.map((s) => `§${s}`).join(', ') || '(the whole RFC)';
    const files = [...c.files].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([f, n]) => `\`${f}\` (${n})`).join(', ');
    lines.push(`| ${rfc} | ${sections} | ${files} |`);
  }
  return lines.join('\n') + '\n';
}

/** The whole document: the hand-kept part of `current` as it is, then the citations rendered afresh. */
export function renderRfcCoverage(root: string, current: string): string {
  const at = current.indexOf(GENERATED_MARKER);
  const handKept = (at < 0 ? current : current.slice(0, at)).trimEnd() + '\n\n';
  return handKept + renderCitations(collectCitations(root), rfcsInTable(handKept));
}
