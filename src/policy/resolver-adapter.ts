/**
 * Adapts the app's typed `Resolver` (src/dns, with its TTL cache) to the `(name, rrtype)` shape mailauth and
 * policy use: empty answers become ENODATA and DnsError kinds become node's error codes, which is how
 * mailauth tells a void lookup (RFC 7208 §4.6.4) from a temporary error.
 */
import { DnsError, type Resolver } from '../dns/resolver.ts';
import type { PolicyResolver } from './types.ts';

const CODES: Record<string, string> = { nxdomain: 'ENOTFOUND', servfail: 'ESERVFAIL', timeout: 'ETIMEOUT', refused: 'EREFUSED' };

function dnsError(code: string, name: string, rrtype: string): Error {
  return Object.assign(new Error(`${rrtype} ${name}: ${code}`), { code, hostname: name });
}

/** "4.3.2.1.in-addr.arpa" → "1.2.3.4"; the nibble form under ip6.arpa → an IPv6 address; else null. */
export function ipFromReverseName(name: string): string | null {
  const n = name.toLowerCase().replace(/\.$/, '');
  const v4 = /^(\d+)\.(\d+)\.(\d+)\.(\d+)\.in-addr\.arpa$/.exec(n);
  if (v4) return [v4[4], v4[3], v4[2], v4[1]].join('.');
  const v6 = /^((?:[0-9a-f]\.){32})ip6\.arpa$/.exec(n);
  if (!v6) return null;
  const hex = v6[1]!.split('.').filter(Boolean).reverse().join('');
  return hex.match(/.{4}/g)!.join(':');
}

export function policyResolverFrom(resolver: Resolver): PolicyResolver {
  return {
    async resolve(name: string, rrtype: string): Promise<unknown> {
      let answer: unknown[];
      try {
        switch (rrtype.toUpperCase()) {
          case 'A':
            answer = await resolver.a(name);
            break;
          case 'AAAA':
            answer = await resolver.aaaa(name);
            break;
          case 'MX':
            answer = await resolver.mx(name);
            break;
          case 'TXT':
            answer = await resolver.txt(name);
            break;
          case 'PTR': {
            const ip = ipFromReverseName(name);
            if (!ip) throw dnsError('ENOTFOUND', name, rrtype);
            answer = await resolver.ptr(ip);
            break;
          }
          default:
            throw dnsError('ENOTIMP', name, rrtype);
        }
      } catch (err) {
        if (err instanceof DnsError) throw dnsError(CODES[err.kind] ?? 'ESERVFAIL', name, rrtype);
        throw err;
      }
      if (answer.length === 0) throw dnsError('ENODATA', name, rrtype);
      return answer;
    },
  };
}
