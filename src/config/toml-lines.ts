/**
 * Finds the line of a key in TOML source text. smol-toml reports no positions for values, so we scan the
 * table headers and `key =` lines ourselves; good enough for error messages ("postamt.toml:12").
 */

/** Splits a dotted key (`tls.sni."example.org"`) into its segments, unquoting quoted parts. */
export function splitDottedKey(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  const s = text.trim();
  while (i < s.length) {
    while (s[i] === ' ' || s[i] === '\t') i++;
    let segment = '';
    if (s[i] === '"' || s[i] === "'") {
      const quote = s[i]!;
      i++;
      while (i < s.length && s[i] !== quote) {
        if (quote === '"' && s[i] === '\\' && i + 1 < s.length) i++;
        segment += s[i];
        i++;
      }
      i++;
    } else {
      while (i < s.length && s[i] !== '.' && s[i] !== ' ' && s[i] !== '\t') segment += s[i++];
    }
    out.push(segment);
    while (s[i] === ' ' || s[i] === '\t') i++;
    if (s[i] === '.') i++;
    else break;
  }
  return out;
}

const HEADER = /^\s*\[\[?\s*((?:[^\]"']|"(?:[^"\\]|\\.)*"|'[^']*')+?)\s*\]\]?\s*(?:#.*)?$/;
const KEY_LINE = /^\s*((?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"(?:[^"\\]|\\.)*"|'[^']*'))*)\s*=/;

function startsWith(path: string[], prefix: string[]): boolean {
  return prefix.length <= path.length && prefix.every((p, i) => p === path[i]);
}

/**
 * The 1-based line where `path` is set (or where its table starts), or null when not found. When the exact
 * key is not on a line of its own (inline tables), the line of its nearest enclosing key or table is given.
 */
export function findKeyLine(source: string, path: string[]): number | null {
  const lines = source.split(/\r?\n/);
  let table: string[] = [];
  let best: { line: number; depth: number } | null = null;
  for (let n = 0; n < lines.length; n++) {
    const line = lines[n]!;
    const header = HEADER.exec(line);
    if (header) {
      table = splitDottedKey(header[1]!);
      if (startsWith(path, table) && (!best || table.length > best.depth)) best = { line: n + 1, depth: table.length };
      continue;
    }
    const key = KEY_LINE.exec(line);
    if (!key) continue;
    const full = [...table, ...splitDottedKey(key[1]!)];
    if (full.length === path.length && startsWith(path, full)) return n + 1;
    if (startsWith(path, full) && (!best || full.length > best.depth)) best = { line: n + 1, depth: full.length };
  }
  return best ? best.line : null;
}
