/**
 * `Resolver` over node:dns/promises with configurable servers, timeout and tries, and a bounded cache that
 * honours TTLs where node reports them (A/AAAA) and a configurable default elsewhere (MX/TXT/PTR).
 */
import { Resolver as NodeDnsResolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import { AnswerCache } from './answer-cache.ts';
import { DnsError, normalizeDnsName, reverseName, type DnsErrorKind, type MxRecord, type Resolver } from './resolver.ts';

export interface NodeResolverOptions {
  /** e.g. ['127.0.0.1:5353']; default: the system's resolvers. */
  servers?: string[];
  timeoutMs?: number;
  tries?: number;
  /** TTL for answers whose TTL node does not report (MX, TXT, PTR). */
  defaultTtlSeconds?: number;
  /** How long NXDOMAIN/NODATA answers are cached (RFC 2308 negative caching). */
  negativeTtlSeconds?: number;
  maxTtlSeconds?: number;
  /** Entries kept; the oldest go first. 0 disables the cache. */
  cacheSize?: number;
  now?: () => number;
}

type CacheEntry = { value: unknown } | { error: DnsError };

function mapError(err: unknown, hostname: string, rrtype: string): DnsError | 'nodata' {
  const code = (err as { code?: string }).code;
  const kinds: Record<string, DnsErrorKind> = {
    ENOTFOUND: 'nxdomain',
    ESERVFAIL: 'servfail',
    ETIMEOUT: 'timeout',
    EREFUSED: 'refused',
    ECONNREFUSED: 'refused',
  };
  if (code === 'ENODATA') return 'nodata';
  return new DnsError(kinds[code ?? ''] ?? 'servfail', hostname, rrtype, code);
}

export class NodeResolver implements Resolver {
  readonly #dns: NodeDnsResolver;
  readonly #cache: AnswerCache<CacheEntry>;
  readonly #opts: Required<Omit<NodeResolverOptions, 'servers'>>;

  constructor(options: NodeResolverOptions = {}) {
    this.#opts = {
      timeoutMs: options.timeoutMs ?? 5000,
      tries: options.tries ?? 2,
      defaultTtlSeconds: options.defaultTtlSeconds ?? 300,
      negativeTtlSeconds: options.negativeTtlSeconds ?? 60,
      maxTtlSeconds: options.maxTtlSeconds ?? 86400,
      cacheSize: options.cacheSize ?? 10000,
      now: options.now ?? Date.now,
    };
    this.#cache = new AnswerCache({ maxTtlSeconds: this.#opts.maxTtlSeconds, maxEntries: this.#opts.cacheSize, now: this.#opts.now });
    this.#dns = new NodeDnsResolver({ timeout: this.#opts.timeoutMs, tries: this.#opts.tries });
    if (options.servers?.length) this.#dns.setServers(options.servers);
  }

  mx(name: string): Promise<MxRecord[]> {
    return this.#cached('MX', name, async (n) => ({
      value: (await this.#dns.resolveMx(n)).map((r) => ({ exchange: normalizeDnsName(r.exchange), priority: r.priority })),
    }));
  }

  a(name: string): Promise<string[]> {
    return this.#cached('A', name, async (n) => {
      const rs = await this.#dns.resolve4(n, { ttl: true });
      return { value: rs.map((r) => r.address), ttl: Math.min(...rs.map((r) => r.ttl)) };
    });
  }

  aaaa(name: string): Promise<string[]> {
    return this.#cached('AAAA', name, async (n) => {
      const rs = await this.#dns.resolve6(n, { ttl: true });
      return { value: rs.map((r) => r.address), ttl: Math.min(...rs.map((r) => r.ttl)) };
    });
  }

  txt(name: string): Promise<string[][]> {
    return this.#cached('TXT', name, async (n) => ({ value: await this.#dns.resolveTxt(n) }));
  }

  ptr(ip: string): Promise<string[]> {
    if (!isIP(ip)) return Promise.reject(new DnsError('nxdomain', ip, 'PTR', 'not an IP address'));
    return this.#cached('PTR', reverseName(ip), async (n) => ({ value: (await this.#dns.resolvePtr(n)).map(normalizeDnsName) }));
  }

  async #cached<T>(rrtype: string, rawName: string, fetch: (name: string) => Promise<{ value: T; ttl?: number }>): Promise<T> {
    const name = normalizeDnsName(rawName);
    const key = AnswerCache.key(rrtype, name);
    const now = this.#opts.now();
    const hit = this.#cache.get(key);
    if (hit !== undefined) {
      if ('error' in hit) throw hit.error;
      return hit.value as T;
    }
    try {
      const { value, ttl } = await fetch(name);
      this.#cache.put(key, { value }, ttl !== undefined && Number.isFinite(ttl) ? ttl : this.#opts.defaultTtlSeconds, now);
      return value;
    } catch (err) {
      const mapped = mapError(err, name, rrtype);
      if (mapped === 'nodata') {
        this.#cache.put(key, { value: [] }, this.#opts.negativeTtlSeconds, now);
        return [] as T;
      }
      // Only authoritative negatives are cached; SERVFAIL and timeouts are retried next time.
      if (mapped.kind === 'nxdomain') this.#cache.put(key, { error: mapped }, this.#opts.negativeTtlSeconds, now);
      throw mapped;
    }
  }
}
