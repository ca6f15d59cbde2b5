/**
 * The DNS contract the rest of Postamt uses (MX/A/AAAA/TXT/PTR) with typed failures:
 * NXDOMAIN is permanent, SERVFAIL/timeout are temporary, NODATA is an empty answer (not an error).
 */

export type DnsErrorKind = 'nxdomain' | 'servfail' | 'timeout' | 'refused';

export class DnsError extends Error {
  readonly kind: DnsErrorKind;
  readonly hostname: string;
  readonly rrtype: string;
  constructor(kind: DnsErrorKind, hostname: string, rrtype: string, detail?: string) {
    super(`${rrtype} ${hostname}: ${detail ?? kind}`);
    this.name = 'DnsError';
    this.kind = kind;
    this.hostname = hostname;
    this.rrtype = rrtype;
  }
  /** NXDOMAIN: the name does not exist; retrying will not help. */
  get isPermanent(): boolean {
    return this.kind === 'nxdomain';
  }
}

export interface MxRecord {
  exchange: string; // lower-case, no trailing dot; '' for the null MX "." (RFC 7505)
  priority: number;
}

/**
 * Every method resolves to [] when the name exists but has no record of that type (NODATA),
 * and rejects with DnsError for NXDOMAIN, SERVFAIL, REFUSED and timeouts.
 */
export interface Resolver {
  mx(name: string): Promise<MxRecord[]>;
  a(name: string): Promise<string[]>;
  aaaa(name: string): Promise<string[]>;
  /** Each record is its list of character-strings; join them for SPF/DKIM (RFC 7208 §3.3). */
  txt(name: string): Promise<string[][]>;
  ptr(ip: string): Promise<string[]>;
}

export function normalizeDnsName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/** The in-addr.arpa / ip6.arpa name for an address (RFC 1035 §3.5, RFC 3596 §2.5). */
export function reverseName(ip: string): string {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.split('.').reverse().join('.') + '.in-addr.arpa';
  const [head = '', tail] = ip.split('::');
  const h = head ? head.split(':') : [];
  const t = tail ? tail.split(':') : [];
  const fill = tail === undefined ? [] : Array<string>(8 - h.length - t.length).fill('0');
  const hex = [...h, ...fill, ...t].map((p) => p.padStart(4, '0')).join('');
  return hex.split('').reverse().join('.') + '.ip6.arpa';
}
