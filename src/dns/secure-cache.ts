/**
 * A bounded cache in front of the validating resolver: DANE's MX, address and TLSA answers are kept for their DNS
 * TTL (capped), empty answers for a short negative time; failures (SERVFAIL, timeouts) are never kept.
 */
import { AnswerCache } from './answer-cache.ts';
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
  readonly #negativeTtlSeconds: number;
  readonly #cache: AnswerCache<Promise<SecureAnswer<unknown>>>;

  constructor(inner: SecureResolver, options: SecureCacheOptions) {
    this.#inner = inner;
    this.#negativeTtlSeconds = options.negativeTtlSeconds;
    this.#cache = new AnswerCache({ maxTtlSeconds: options.maxTtlSeconds, maxEntries: options.maxEntries, now: options.now ?? Date.now });
  }

  tlsa(name: string): Promise<SecureAnswer<TlsaRecord>> {
    return this.#cached(AnswerCache.key('TLSA', name), () => this.#inner.tlsa(name));
  }

  mx(name: string): Promise<SecureAnswer<SecureMx>> {
    return this.#cached(AnswerCache.key('MX', name), () => this.#inner.mx(name));
  }

  addresses(name: string, family: 4 | 6): Promise<SecureAddresses> {
    return this.#cached(AnswerCache.key(family === 4 ? 'A' : 'AAAA', name), () => this.#inner.addresses(name, family));
  }

  get size(): number {
    return this.#cache.size;
  }

  #cached<A extends SecureAnswer<unknown>>(key: string, lookup: () => Promise<A>): Promise<A> {
    const hit = this.#cache.get(key);
    if (hit !== undefined) return hit as Promise<A>;
    const answer = lookup();
    if (!this.#cache.enabled) return answer;
    // Concurrent deliveries to one host share the lookup in flight; it is dropped again if it fails.
    this.#cache.put(key, answer, Number.POSITIVE_INFINITY);
    answer.then((a) => {
      if (this.#cache.peek(key) !== answer) return;
      this.#cache.put(key, answer, a.records.length > 0 && a.ttlSeconds !== undefined ? a.ttlSeconds : this.#negativeTtlSeconds);
    }, () => {
      if (this.#cache.peek(key) === answer) this.#cache.delete(key);
    });
    return answer;
  }
}
