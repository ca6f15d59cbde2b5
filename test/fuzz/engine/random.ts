/** A small seeded PRNG (xorshift128+ folded to 32 bits) so fuzz runs and chunk splits are reproducible. */
export class Random {
  private s0: number;
  private s1: number;

  constructor(seed: number) {
    this.s0 = seed >>> 0 || 0x9e3779b9;
    this.s1 = Math.imul(seed ^ 0x85ebca6b, 0xc2b2ae35) >>> 0 || 0x27d4eb2f;
  }

  next(): number {
    let x = this.s0;
    const y = this.s1;
    this.s0 = y;
    x ^= x << 23;
    x ^= x >>> 17;
    x ^= y ^ (y >>> 26);
    this.s1 = x >>> 0;
    return (this.s0 + this.s1) >>> 0;
  }

  /** An integer in [0, n). */
  below(n: number): number {
    return n <= 1 ? 0 : this.next() % n;
  }

  pick<T>(items: readonly T[]): T {
    return items[this.below(items.length)]!;
  }
}

/** FNV-1a of the bytes: a per-input seed, so one input always splits into the same chunks. */
export function hashBytes(data: Uint8Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < data.length; i++) h = Math.imul(h ^ data[i]!, 0x01000193);
  return h >>> 0;
}

/** Cuts `data` into 1..n chunks at positions derived from the data itself (deterministic per input). */
export function splitChunks(data: Buffer, maxChunks = 8): Buffer[] {
  if (data.length === 0) return [data];
  const random = new Random(hashBytes(data));
  const cuts = new Set<number>();
  const n = random.below(Math.min(maxChunks, data.length));
  for (let i = 0; i < n; i++) cuts.add(1 + random.below(data.length - 1));
  const points = [0, ...[...cuts].sort((a, b) => a - b), data.length];
  const chunks: Buffer[] = [];
  for (let i = 0; i + 1 < points.length; i++) chunks.push(data.subarray(points[i]!, points[i + 1]!));
  return chunks;
}
