/**
 * The ascending UID list of a selected mailbox, stored as runs of consecutive UIDs (UIDs are mostly
 * contiguous, so a 100,000-message mailbox is a handful of runs): index ↔ UID by binary search.
 */

/** What sequence-set resolution needs; number[] and Uint32Array satisfy it too. */
export interface SortedUids {
  readonly length: number;
  at(index: number): number | undefined;
}

export class UidMap implements SortedUids {
  /** First UID of each run. */
  private starts: Uint32Array;
  /** Messages in runs 0..i (so run i covers indexes [ends[i-1], ends[i])). */
  private ends: Uint32Array;
  private runs = 0;

  private constructor(capacity: number) {
    this.starts = new Uint32Array(capacity);
    this.ends = new Uint32Array(capacity);
  }

  /** Builds the map from ascending UIDs. */
  static from(uids: ArrayLike<number>): UidMap {
    const map = new UidMap(4);
    for (let i = 0; i < uids.length; i++) map.push(uids[i]!);
    return map;
  }

  /** An independent copy (a session's map changes as it reports expunges and arrivals). */
  clone(): UidMap {
    const map = new UidMap(Math.max(4, this.runs));
    map.starts.set(this.starts.subarray(0, this.runs));
    map.ends.set(this.ends.subarray(0, this.runs));
    map.runs = this.runs;
    return map;
  }

  /** Number of runs of consecutive UIDs. */
  get runCount(): number {
    return this.runs;
  }

  get length(): number {
    return this.runs === 0 ? 0 : this.ends[this.runs - 1]!;
  }

  get last(): number {
    if (this.runs === 0) return 0;
    const r = this.runs - 1;
    return this.starts[r]! + this.ends[r]! - (r > 0 ? this.ends[r - 1]! : 0) - 1;
  }

  /** The UID at a 0-based index (message sequence number - 1). */
  at(index: number): number | undefined {
    if (index < 0 || index >= this.length || !Number.isInteger(index)) return undefined;
    // First run whose end is beyond the index.
    let lo = 0;
    let hi = this.runs - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! > index) hi = mid;
      else lo = mid + 1;
    }
    return this.starts[lo]! + index - (lo > 0 ? this.ends[lo - 1]! : 0);
  }

  /** The index of the first UID ≥ `uid` (length when none). */
  lowerBound(uid: number): number {
    // Last run starting at or before uid.
    let lo = 0;
    let hi = this.runs;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.starts[mid]! <= uid) lo = mid + 1;
      else hi = mid;
    }
    const r = lo - 1;
    if (r < 0) return 0;
    const base = r > 0 ? this.ends[r - 1]! : 0;
    const offset = uid - this.starts[r]!;
    return offset < this.ends[r]! - base ? base + offset : this.ends[r]!;
  }

  /** The 0-based index of `uid`, -1 when absent. */
  indexOf(uid: number): number {
    const i = this.lowerBound(uid);
    return i < this.length && this.at(i) === uid ? i : -1;
  }

  /** Appends a UID larger than every UID present (others are ignored). */
  push(uid: number): void {
    const n = this.runs;
    if (n > 0) {
      const last = this.last;
      if (uid <= last) return;
      if (uid === last + 1) {
        this.ends[n - 1]!++;
        return;
      }
    }
    if (n === this.starts.length) {
      const starts = new Uint32Array(n * 2);
      const ends = new Uint32Array(n * 2);
      starts.set(this.starts);
      ends.set(this.ends);
      this.starts = starts;
      this.ends = ends;
    }
    this.starts[n] = uid;
    this.ends[n] = (n > 0 ? this.ends[n - 1]! : 0) + 1;
    this.runs = n + 1;
  }

  /** Removes the given UIDs (any order; absent ones ignored). */
  remove(uids: readonly number[]): void {
    if (uids.length === 0) return;
    const gone = [...uids].sort((a, b) => a - b);
    const old = { starts: this.starts, ends: this.ends, runs: this.runs };
    this.starts = new Uint32Array(Math.max(4, old.runs + 1));
    this.ends = new Uint32Array(Math.max(4, old.runs + 1));
    this.runs = 0;
    let g = 0;
    for (let r = 0; r < old.runs; r++) {
      const first = old.starts[r]!;
      const end = first + old.ends[r]! - (r > 0 ? old.ends[r - 1]! : 0); // exclusive
      let u = first;
      while (g < gone.length && gone[g]! < first) g++;
      while (u < end) {
        const stop = g < gone.length && gone[g]! < end ? gone[g]! : end;
        this.pushRun(u, stop - u);
        if (stop === end) break;
        u = stop + 1;
        g++;
        while (g < gone.length && gone[g]! < u) g++;
      }
    }
  }

  private pushRun(first: number, count: number): void {
    if (count <= 0) return;
    this.push(first);
    this.ends[this.runs - 1]! += count - 1;
  }

  /** UIDs at indexes [from, to) as a plain array. */
  slice(from = 0, to = this.length): number[] {
    const out: number[] = [];
    const end = Math.min(to, this.length);
    if (from >= end) return out;
    let uid = this.at(from)!;
    let r = this.runOf(from);
    for (let i = from; i < end; i++) {
      if (i >= this.ends[r]!) {
        r++;
        uid = this.starts[r]!;
      }
      out.push(uid++);
    }
    return out;
  }

  /**
   * Calls `fn(index, uid, count)` for each stretch of indexes [from, to) whose UIDs are consecutive:
   * indexes index..index+count-1 hold UIDs uid..uid+count-1. Lets callers work on ranges, not messages.
   */
  forEachSpan(from: number, to: number, fn: (index: number, uid: number, count: number) => void): void {
    const end = Math.min(to, this.length);
    let i = Math.max(0, from);
    if (i >= end) return;
    let r = this.runOf(i);
    while (i < end) {
      const base = r > 0 ? this.ends[r - 1]! : 0;
      const stop = Math.min(end, this.ends[r]!);
      fn(i, this.starts[r]! + i - base, stop - i);
      i = stop;
      r++;
    }
  }

  private runOf(index: number): number {
    let lo = 0;
    let hi = this.runs - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (this.ends[mid]! > index) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
