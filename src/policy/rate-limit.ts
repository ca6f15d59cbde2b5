/**
 * Connection and message rate limits per client IP and per client network (/24 for IPv4, /64 for IPv6):
 * token buckets in a bounded map (least recently used buckets are dropped first; a dropped bucket is full,
 * which only ever lets a client through, never blocks it wrongly).
 */
import { networkKey, normalizeIp } from './ip-prefix.ts';
import type { Clock, GateVerdict } from './types.ts';

export interface BucketRate {
  /** Sustained rate: this many events per `perSeconds`. 0 disables the limit. */
  count: number;
  perSeconds: number;
  /** Bucket size; defaults to `count` (a full window's worth at once). */
  burst?: number;
}

export interface RateLimitOptions {
  enabled: boolean;
  connectionsPerIp: BucketRate;
  connectionsPerNetwork: BucketRate;
  messagesPerIp: BucketRate;
  messagesPerNetwork: BucketRate;
  /** Bound on tracked buckets (all four kinds together). */
  maxTrackedKeys: number;
}

export const DEFAULT_RATE_LIMIT_OPTIONS: RateLimitOptions = {
  enabled: true,
  connectionsPerIp: { count: 60, perSeconds: 60 },
  connectionsPerNetwork: { count: 300, perSeconds: 60 },
  messagesPerIp: { count: 120, perSeconds: 3600 },
  messagesPerNetwork: { count: 600, perSeconds: 3600 },
  maxTrackedKeys: 100_000,
};

/** 'c': connections, 'm': messages. */
export type RateKind = 'c' | 'm';

interface Bucket {
  tokens: number;
  updatedMs: number;
}

export class RateLimiter {
  readonly #options: RateLimitOptions;
  readonly #now: Clock;
  readonly #buckets = new Map<string, Bucket>();

  readonly #onTake: ((kind: RateKind, ip: string) => void) | undefined;

  /** `onTake`: each token taken here, so nodes sharing a store can take it from each other's buckets (`applyRemote`). */
  constructor(deps: { options: RateLimitOptions; now?: Clock; onTake?: (kind: RateKind, ip: string) => void }) {
    this.#options = deps.options;
    this.#now = deps.now ?? Date.now;
    this.#onTake = deps.onTake;
  }

  /** Tokens another node took: taken here too (a bucket may go below zero, so the cluster as a whole keeps the rate). */
  applyRemote(kind: RateKind, ip: string, count: number): void {
    if (!this.#options.enabled) return;
    const [perIp, perNet] = kind === 'c' ? [this.#options.connectionsPerIp, this.#options.connectionsPerNetwork] : [this.#options.messagesPerIp, this.#options.messagesPerNetwork];
    const now = this.#now();
    for (const [key, rate] of [[`${kind}|ip|${normalizeIp(ip)}`, perIp], [`${kind}|net|${networkKey(ip)}`, perNet]] as const) {
      const bucket = this.#refill(key, rate, now);
      if (bucket) bucket.tokens = Math.max(-(rate.burst ?? rate.count), bucket.tokens - count);
    }
  }

  /** At connect. Too many connections get 421 4.7.0 and the connection closes (RFC 5321 §3.8). */
  onConnection(ip: string): GateVerdict {
    if (!this.#options.enabled) return { action: 'accept' };
    const ok = this.#takeBoth('c', ip, this.#options.connectionsPerIp, this.#options.connectionsPerNetwork);
    return ok ? { action: 'accept' } : { action: 'tempfail', reply: { code: 421, enhancedCode: '4.7.0', text: 'Too many connections from your network, try again later', rule: 'rate_connections' } };
  }

  /** At MAIL FROM: one token per message. */
  onMessage(ip: string): GateVerdict {
    if (!this.#options.enabled) return { action: 'accept' };
    const ok = this.#takeBoth('m', ip, this.#options.messagesPerIp, this.#options.messagesPerNetwork);
    return ok ? { action: 'accept' } : { action: 'tempfail', reply: { code: 451, enhancedCode: '4.7.1', text: 'Too many messages from your network, try again later', rule: 'rate_messages' } };
  }

  get trackedKeys(): number {
    return this.#buckets.size;
  }

  #takeBoth(kind: string, ip: string, perIp: BucketRate, perNet: BucketRate): boolean {
    const ipKey = `${kind}|ip|${normalizeIp(ip)}`;
    const netKey = `${kind}|net|${networkKey(ip)}`;
    const now = this.#now();
    const a = this.#refill(ipKey, perIp, now);
    const b = this.#refill(netKey, perNet, now);
    if ((a && a.tokens < 1) || (b && b.tokens < 1)) return false;
    if (a) a.tokens -= 1;
    if (b) b.tokens -= 1;
    if (a || b) this.#onTake?.(kind as RateKind, ip);
    return true;
  }

  #refill(key: string, rate: BucketRate, now: number): Bucket | null {
    if (rate.count <= 0) return null;
    const burst = rate.burst ?? rate.count;
    const existing = this.#buckets.get(key);
    const bucket = existing ?? { tokens: burst, updatedMs: now };
    const elapsed = Math.max(0, now - bucket.updatedMs) / 1000;
    bucket.tokens = Math.min(burst, bucket.tokens + (elapsed * rate.count) / rate.perSeconds);
    bucket.updatedMs = now;
    this.#buckets.delete(key);
    this.#buckets.set(key, bucket);
    while (this.#buckets.size > this.#options.maxTrackedKeys) this.#buckets.delete(this.#buckets.keys().next().value as string);
    return bucket;
  }
}
