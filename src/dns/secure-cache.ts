/**
 * A bounded cache in front of the validating resolver: DANE's MX, address and TLSA answers are kept for their DNS
 * TTL (capped), empty answers for a short negative time; failures (SERVFAIL, timeouts) are never kept.
 */
import { normalizeDnsName } from './resolver.ts';
import type { SecureAddresses, SecureAnswer, SecureMx, SecureResolver, TlsaRecord } from './secure-resolver.ts';

export interface SecureCacheOptions {
  /** Longest time any answer is kept, whatever its TTL says. */
  maxTtlSeconds: number;
  /** How long an answer without records (NXDOMAIN, NODATA) is kept (RFC 2308 negative caching). */
  negativeTtlSeconds: number;
  /** Entries kept; the oldest go first. 0 turns the cache off. */
  maxEntries: number;
  now?: () => number;
}

export class CachedSecureResolver implements SecureResolver {
  readonly #inner: SecureResolver;
  readonly #opts: Required<SecureCacheOptions>;
  readonly #cache = new Map<string, { expiresAt: number; answer: Promise<SecureAnswer<unknown>> }>();

  constructor(inner: SecureResolver, options: SecureCacheOptions) {
    this.#inner = inner;
    this.#opts = { now: Date.now, ...options };
  }

  tlsa(name: string): Promise<SecureAnswer<TlsaRecord>> {
    return this.#cached(`TLSA ${normalizeDnsName(name)}`, () => this.#inner.tlsa(name));
  }

  mx(name: string): Promise<SecureAnswer<SecureMx>> {
    return this.#cached(`MX ${normalizeDnsName(name)}`, () => this.#inner.mx(name));
  }

  addresses(name: string, family: 4 | 6): Promise<SecureAddresses> {
    return this.#cached(`${family === 4 ? 'A' : 'AAAA'} ${normalizeDnsName(name)}`, () => this.#inner.addresses(name, family));
  }

  get size(): number {
    return this.#cache.size;
  }

  #cached<A extends SecureAnswer<unknown>>(key: string, lookup: () => Promise<A>): Promise<A> {
    const now = this.#opts.now();
    const hit = this.#cache.get(key);
    if (hit && hit.expiresAt > now) return hit.answer as Promise<A>;
    if (hit) this.#cache.delete(key);
    const answer = lookup();
    if (this.#opts.maxEntries <= 0) return answer;
    // Concurrent deliveries to one host share the lookup in flight; it is dropped again if it fails.
    this.#put(key, { expiresAt: Number.POSITIVE_INFINITY, answer });
    answer.then((a) => {
      const seconds = Math.min(a.records.length > 0 && a.ttlSeconds !== undefined ? a.ttlSeconds : this.#opts.negativeTtlSeconds, this.#opts.maxTtlSeconds);
      if (this.#cache.get(key)?.answer !== answer) return;
      if (seconds > 0) this.#cache.set(key, { expiresAt: this.#opts.now() + seconds * 1000, answer });
      else this.#cache.delete(key);
    }, () => {
      if (this.#cache.get(key)?.answer === answer) this.#cache.delete(key);
    });
    return answer;
  }

  #put(key: string, entry: { expiresAt: number; answer: Promise<SecureAnswer<unknown>> }): void {
    this.#cache.delete(key);
    this.#cache.set(key, entry);
    while (this.#cache.size > this.#opts.maxEntries) {
      const oldest = this.#cache.keys().next().value;
      if (oldest === undefined) break;
      this.#cache.delete(oldest);
    }
  }
}
