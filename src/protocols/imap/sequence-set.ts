/**
 * IMAP sequence sets (RFC 9051 §9 sequence-set): `1:3,5,7:*`, resolved against the selected
 * mailbox's message count or UID list. `$` (RFC 5182 SEARCHRES) resolves to the saved result.
 */
import { ImapSyntaxError } from './parser/tokenizer.ts';
import { UidMap, type SortedUids } from './uid-map.ts';

export type SequenceRange = { from: number; to: number }; // 0 stands for `*`
export type SequenceSet = SequenceRange[] | '$';

const MAX_RANGES = 10_000;

export function parseSequenceSet(text: string): SequenceSet {
  if (text === '$') return '$';
  const parts = text.split(',');
  if (parts.length > MAX_RANGES) throw new ImapSyntaxError('Sequence set too long');
  const out: SequenceRange[] = [];
  for (const p of parts) {
    const m = /^(\d{1,10}|\*)(?::(\d{1,10}|\*))?$/.exec(p);
    if (m === null) throw new ImapSyntaxError('Invalid sequence set');
    const a = m[1] === '*' ? 0 : Number(m[1]);
    const b = m[2] === undefined ? a : m[2] === '*' ? 0 : Number(m[2]);
    // RFC 9051 §9: seq-number is nz-number (or *); 0 is invalid.
    if ((m[1] !== '*' && a === 0) || (m[2] !== undefined && m[2] !== '*' && b === 0) || a > 0xffffffff || b > 0xffffffff) {
      throw new ImapSyntaxError('Invalid sequence number');
    }
    out.push({ from: a, to: b });
  }
  return out;
}

export function isSequenceSet(text: string): boolean {
  return text === '$' || /^(\d{1,10}|\*)(:(\d{1,10}|\*))?(,(\d{1,10}|\*)(:(\d{1,10}|\*))?)*$/.test(text);
}

/** Sorted, merged [lo, hi] intervals; ranges are folded without visiting every number. */
function mergeIntervals(intervals: [number, number][]): [number, number][] {
  intervals.sort((x, y) => x[0] - y[0]);
  const out: [number, number][] = [];
  for (const iv of intervals) {
    const prev = out[out.length - 1];
    if (prev !== undefined && iv[0] <= prev[1] + 1) prev[1] = Math.max(prev[1], iv[1]);
    else out.push([iv[0], iv[1]]);
  }
  return out;
}

function expand(intervals: [number, number][], offset: number): number[] {
  const out: number[] = [];
  for (const [lo, hi] of intervals) for (let n = lo; n <= hi; n++) out.push(n + offset);
  return out;
}

/** Message sequence numbers (1-based) selected by the set, ascending, deduplicated. */
export function resolveSequenceNumbers(set: SequenceRange[], count: number): number[] {
  return expand(sequenceIndexIntervals(set, count), 1);
}

/** The messages a sequence-number set selects as merged, ascending [first, last] 0-based indexes. */
export function sequenceIndexIntervals(set: SequenceRange[], count: number): [number, number][] {
  const intervals: [number, number][] = [];
  for (const r of set) {
    const a = r.from === 0 ? count : r.from;
    const b = r.to === 0 ? count : r.to;
    const lo = Math.max(1, Math.min(a, b));
    const hi = Math.min(count, Math.max(a, b));
    if (lo <= hi) intervals.push([lo - 1, hi - 1]);
  }
  return mergeIntervals(intervals);
}

/**
 * Indexes (0-based) into the ascending `uids` selected by a UID set. RFC 9051 §6.4.8: `*` is the
 * largest UID in use, and a range `n:*` always includes it even when n is larger.
 */
export function resolveUidIndexes(set: SequenceRange[], uids: SortedUids | ArrayLike<number>): number[] {
  return expand(uidIndexIntervals(set, uids), 0);
}

/** Like resolveUidIndexes, as merged, ascending [first, last] index intervals (nothing expanded). */
export function uidIndexIntervals(set: SequenceRange[], uids: SortedUids | ArrayLike<number>): [number, number][] {
  const list = asSorted(uids);
  const max = list.length > 0 ? list.at(list.length - 1)! : 0;
  const intervals: [number, number][] = [];
  for (const r of set) {
    const a = r.from === 0 ? max : r.from;
    const b = r.to === 0 ? max : r.to;
    const first = lowerBound(list, Math.min(a, b));
    // Indexes of UIDs ≤ hi end just before the lower bound of hi + 1.
    const last = lowerBound(list, Math.max(a, b) + 1) - 1;
    if (first <= last) intervals.push([first, last]);
  }
  return mergeIntervals(intervals);
}

function asSorted(uids: SortedUids | ArrayLike<number>): SortedUids {
  if (typeof (uids as SortedUids).at === 'function') return uids as SortedUids;
  const arr = uids as ArrayLike<number>;
  return { length: arr.length, at: (i: number) => arr[i] };
}

export function lowerBound(arr: SortedUids | ArrayLike<number>, value: number): number {
  if (arr instanceof UidMap) return arr.lowerBound(value);
  const list = asSorted(arr);
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (list.at(mid)! < value) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether `uid` is in the UID set (for UID ranges beyond the known list, e.g. COPYUID checks). */
export function uidInSet(set: SequenceRange[], uid: number, maxUid: number): boolean {
  return set.some((r) => {
    const a = r.from === 0 ? maxUid : r.from;
    const b = r.to === 0 ? maxUid : r.to;
    return uid >= Math.min(a, b) && uid <= Math.max(a, b);
  });
}

/** Compact form of ascending numbers: `1:3,7,9:10` (COPYUID, ESEARCH ALL, VANISHED). */
export function formatSequenceSet(numbers: readonly number[]): string {
  if (numbers.length === 0) return '';
  const parts: string[] = [];
  let start = numbers[0]!;
  let prev = start;
  for (let i = 1; i <= numbers.length; i++) {
    const n = numbers[i];
    if (n !== undefined && n === prev + 1) {
      prev = n;
      continue;
    }
    parts.push(start === prev ? String(start) : `${start}:${prev}`);
    if (n !== undefined) {
      start = n;
      prev = n;
    }
  }
  return parts.join(',');
}
