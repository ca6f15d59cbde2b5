/**
 * The bounded TTL cache behind both resolvers (node-resolver.ts, secure-cache.ts): answers keyed by record type and
 * normalized name, kept for their TTL capped by a maximum, the oldest dropped first beyond the entry limit.
 */
import { normalizeDnsName } from './resolver.ts';

export interface AnswerCacheOptions {
  /** Longest time any answer is kept, whatever its TTL says. */
  maxTtlSeconds: number;
  /** Entries kept; the oldest go first. 0 turns the cache off. */
  maxEntries: number;
  now: () => number;
}

export class AnswerCache<V> {
  readonly #entries = new Map<string, { expiresAt: number; value: V }>();
  readonly #opts: AnswerCacheOptions;

  constructor(options: AnswerCacheOptions) {
    this.#opts = options;
  }

  static key(rrtype: string, name: string): string {
    return `${rrtype} ${normalizeDnsName(name)}`;
  }

  get enabled(): boolean {
    return this.#opts.maxEntries > 0;
  }

  get size(): number {
    return this.#entries.size;
  }

  /** The unexpired answer under `key`; an expired one is dropped. */
  get(key: string): V | undefined {
    const hit = this.#entries.get(key);
    if (hit === undefined) return undefined;
    if (hit.expiresAt > this.#opts.now()) return hit.value;
    this.#entries.delete(key);
    return undefined;
  }

  /** What is held under `key`, expired or not: to tell whether an entry is still the one a caller put there. */
  peek(key: string): V | undefined {
    return this.#entries.get(key)?.value;
  }

  /**
   * Keeps `value` for `ttlSeconds` (capped by maxTtlSeconds) counted from `from` (default now); a TTL of 0 keeps
   * nothing and drops what was there. `Infinity`: until replaced or dropped (a lookup in flight).
   */
  put(key: string, value: V, ttlSeconds: number, from = this.#opts.now()): void {
    if (this.#opts.maxEntries <= 0) return;
    const seconds = ttlSeconds === Number.POSITIVE_INFINITY ? ttlSeconds : Math.min(ttlSeconds, this.#opts.maxTtlSeconds);
    if (!(seconds > 0)) {
      this.#entries.delete(key);
      return;
    }
    // A key already held keeps its place in the eviction order (a lookup in flight becoming its answer).
    this.#entries.set(key, { expiresAt: from + seconds * 1000, value });
    while (this.#entries.size > this.#opts.maxEntries) {
      const oldest = this.#entries.keys().next().value;
      if (oldest === undefined) break;
      this.#entries.delete(oldest);
    }
  }

  delete(key: string): void {
    this.#entries.delete(key);
  }
}
