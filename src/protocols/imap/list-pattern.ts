/**
 * LIST patterns (RFC 9051 §6.3.9): `*` matches anything, `%` anything but the hierarchy separator. Matched
 * by walking the pattern's states over the name once (no backtracking regular expression), so a pattern
 * such as `*a*a*a*a*b` costs at most name length × pattern length, never an exponential search.
 */
import { HIERARCHY_SEPARATOR } from './mailbox-name.ts';

const STAR = -1;
const PERCENT = -2;
const SEPARATOR = HIERARCHY_SEPARATOR.charCodeAt(0);

export interface ListMatcher {
  (name: string): boolean;
  /** State steps taken so far: a LIST over many names gives the event loop a turn every so many. */
  readonly work: number;
}

export function listMatcher(reference: string, pattern: string): ListMatcher {
  let full = reference + pattern;
  // INBOX is case-insensitive (RFC 9051 §5.1), the rest is case-sensitive.
  if (/^inbox(?=$|[/*%])/i.test(full)) full = 'INBOX' + full.slice(5);
  // Tokens: a UTF-16 code unit, or a wildcard. A run of wildcards is one: `*` if any of them is `*`.
  const tokens: number[] = [];
  let literals = 0;
  for (let i = 0; i < full.length; i++) {
    const ch = full.charCodeAt(i);
    const wild = ch === 0x2a ? STAR : ch === 0x25 ? PERCENT : 0;
    if (wild === 0) {
      tokens.push(ch);
      literals++;
      continue;
    }
    const last = tokens.length - 1;
    if (last >= 0 && tokens[last]! < 0) {
      if (wild === STAR) tokens[last] = STAR;
    } else tokens.push(wild);
  }
  const end = tokens.length;
  // The literal text before the first and after the last wildcard rules most names out at once.
  const firstWild = tokens.findIndex((t) => t < 0);
  const prefix = firstWild < 0 ? full : String.fromCharCode(...tokens.slice(0, firstWild));
  const suffix = firstWild < 0 ? '' : String.fromCharCode(...tokens.slice(tokens.findLastIndex((t) => t < 0) + 1));
  if (firstWild < 0) return Object.assign((name: string) => name === prefix, { work: 0 });
  if (end === 1 && tokens[0] === STAR) return Object.assign(() => true, { work: 0 });

  // The set of live states, as a list plus a stamp per state (no clearing between steps).
  let current = new Int32Array(end + 1);
  let next = new Int32Array(end + 1);
  const stamp = new Uint32Array(end + 1);
  let generation = 0;
  let count = 0;
  const add = (list: Int32Array, s: number): void => {
    // A wildcard may match nothing: the state after it is live too.
    for (;;) {
      if (stamp[s] !== generation) {
        stamp[s] = generation;
        list[count++] = s;
      }
      if (s >= end || tokens[s]! >= 0) return;
      s++;
    }
  };
  const nextGeneration = (): void => {
    if (++generation === 0xffffffff) {
      stamp.fill(0);
      generation = 1;
    }
  };
  let work = 0;
  const matches = (name: string): boolean => {
    // Every literal consumes one unit of the name.
    if (literals > name.length || !name.startsWith(prefix) || !name.endsWith(suffix)) return false;
    nextGeneration();
    count = 0;
    add(current, 0);
    let live = count;
    for (let i = 0; i < name.length && live > 0; i++) {
      const ch = name.charCodeAt(i);
      nextGeneration();
      count = 0;
      // A live `*` stays live to the end and every way to the end passes through it: the states before the
      // last live `*` add nothing (the greedy rule of glob matching), so only it and those after it go on.
      let from = 0;
      for (let k = 0; k < live; k++) if (tokens[current[k]!] === STAR && current[k]! > current[from]!) from = k;
      const floor = tokens[current[from]!] === STAR ? current[from]! : -1;
      for (let k = 0; k < live; k++) {
        const s = current[k]!;
        if (s === end || s < floor) continue;
        const t = tokens[s]!;
        if (t === STAR || (t === PERCENT && ch !== SEPARATOR)) add(next, s);
        else if (t === ch) add(next, s + 1);
      }
      work += live;
      live = count;
      const swap = current;
      current = next;
      next = swap;
    }
    for (let k = 0; k < live; k++) if (current[k] === end) return true;
    return false;
  };
  return Object.defineProperty(matches, 'work', { get: () => work }) as ListMatcher;
}
