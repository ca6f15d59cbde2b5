/**
 * A map bounded by what its entries cost in bytes (the caller's estimate of their memory): reading an
 * entry makes it the most recently used, and adding one drops least recently used entries until the total fits.
 */
export class ByteLru<K, V> {
  /** In least-recently-used order (a Map iterates in insertion order), each with the cost it was counted at. */
  private readonly entries = new Map<K, { value: V; cost: number }>();
  private total = 0;

  constructor(readonly maxBytes: number) {}

  /** Entries held. */
  get size(): number {
    return this.entries.size;
  }

  /** The summed cost of the entries held. */
  get bytes(): number {
    return this.total;
  }

  /** The value, now the most recently used. */
  get(key: K): V | undefined {
    const entry = this.entries.get(key);
    if (entry === undefined) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  /** The value, its place in the order unchanged. */
  peek(key: K): V | undefined {
    return this.entries.get(key)?.value;
  }

  /**
   * Adds or replaces an entry as the most recently used, then drops the least recently used ones past
   * maxBytes. A value costing more than the whole budget is not kept (an older value of the key is dropped
   * all the same: it is superseded); false then.
   */
  set(key: K, value: V, cost: number): boolean {
    this.delete(key);
    if (cost > this.maxBytes) return false;
    this.entries.set(key, { value, cost });
    this.total += cost;
    for (const [k, e] of this.entries) {
      if (this.total <= this.maxBytes) break;
      this.entries.delete(k);
      this.total -= e.cost;
    }
    return true;
  }

  delete(key: K): boolean {
    const entry = this.entries.get(key);
    if (entry === undefined) return false;
    this.entries.delete(key);
    this.total -= entry.cost;
    return true;
  }

  /** The values, least recently used first (the order is not changed). */
  *values(): IterableIterator<V> {
    for (const e of this.entries.values()) yield e.value;
  }
}
