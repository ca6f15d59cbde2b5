/**
 * DNS block and allow lists of the client IP (RFC 5782): the reversed-octet (IPv4) or reversed-nibble (IPv6)
 * name under each zone, queried in parallel with a per-query timeout. A timeout or error is "no answer",
 * never a listing.
 */
import { reverseLabel } from './ip-prefix.ts';
import { isNxError, type PolicyResolver } from './types.ts';

export interface DnsListZone {
  zone: string;
  /** Added to the spam score when listed (negative for allow lists). */
  score: number;
}

export interface DnsListHit {
  zone: string;
  score: number;
  /** The 127.0.0.x return codes (RFC 5782 §2.3), which some lists use to say why. */
  codes: string[];
}

export interface DnsListResult {
  hits: DnsListHit[];
  /** Zones that did not answer in time or answered with an error. */
  failed: string[];
}

export async function queryDnsLists(options: { ip: string; zones: DnsListZone[]; resolver: PolicyResolver; timeoutMs: number }): Promise<DnsListResult> {
  const label = reverseLabel(options.ip);
  const result: DnsListResult = { hits: [], failed: [] };
  if (!label || options.zones.length === 0) return result;
  await Promise.all(
    options.zones.map(async ({ zone, score }) => {
      const name = `${label}.${zone.replace(/^\.+|\.+$/g, '')}`;
      try {
        const answer = await withTimeout(options.resolver.resolve(name, 'A'), options.timeoutMs);
        const codes = (Array.isArray(answer) ? answer : []).map(String);
        // RFC 5782 §2.1: a listing is an A record in 127.0.0.0/8; 127.255.255.x is what large lists
        // return for refused or malformed queries, which is not a listing.
        const listed = codes.filter((c) => c.startsWith('127.') && !c.startsWith('127.255.255.'));
        if (listed.length > 0) result.hits.push({ zone, score, codes: listed });
        else if (codes.length > 0) result.failed.push(zone);
      } catch (err) {
        if (!isNxError(err)) result.failed.push(zone);
      }
    }),
  );
  result.hits.sort((a, b) => a.zone.localeCompare(b.zone));
  result.failed.sort();
  return result;
}

/** Rejects with code ETIMEOUT after `ms`; the timer never outlives the promise. */
export async function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(Object.assign(new Error('DNS timeout'), { code: 'ETIMEOUT' })), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}
