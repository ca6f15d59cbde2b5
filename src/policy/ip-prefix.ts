/**
 * IP address helpers for policy: canonical text, network prefixes (/24 for IPv4, /64 for IPv6) used as
 * rate-limit and greylist keys, CIDR matching, and DNSBL query names (reversed octets / nibbles).
 */
import { isIP, isIPv4 } from 'node:net';

/** Strips an IPv4-mapped IPv6 prefix (::ffff:1.2.3.4) so the same client has one key. */
export function normalizeIp(ip: string): string {
  const m = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  return m ? m[1]! : ip.toLowerCase();
}

/** The 16 bytes (IPv6) or 4 bytes (IPv4) of an address, or null when it is not an IP literal. */
export function ipBytes(ip: string): number[] | null {
  const addr = normalizeIp(ip);
  const family = isIP(addr);
  if (family === 4) return addr.split('.').map((p) => Number(p));
  if (family !== 6) return null;
  let text = addr;
  let tail: number[] = [];
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4) {
    const b = v4[1]!.split('.').map(Number);
    tail = [(b[0]! << 8) | b[1]!, (b[2]! << 8) | b[3]!];
    text = text.slice(0, -v4[1]!.length) + '0:0';
  }
  const [head, rest] = text.split('::') as [string, string | undefined];
  const h = head ? head.split(':') : [];
  const r = rest !== undefined && rest !== '' ? rest.split(':') : [];
  const fill = rest !== undefined ? 8 - h.length - r.length : 0;
  const groups = [...h, ...Array(fill).fill('0'), ...r].map((g) => parseInt(g, 16));
  if (tail.length) groups.splice(6, 2, ...tail);
  const bytes: number[] = [];
  for (const g of groups) bytes.push((g >> 8) & 0xff, g & 0xff);
  return bytes;
}

const DEFAULT_PREFIXES = { v4: 24, v6: 64 };

/** The network a client belongs to for per-network limits: a.b.c.0/24 or the IPv6 /64. */
export function networkKey(ip: string, prefixes: { v4: number; v6: number } = DEFAULT_PREFIXES): string {
  // A dotted quad (no leading zeros, as isIPv4 requires) under a /24: its first three octets as written.
  // Every connection and message asks; this skips the byte arrays of the general path.
  if (prefixes.v4 === 24 && isIPv4(ip)) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
  const bytes = ipBytes(ip);
  if (!bytes) return ip;
  const bits = bytes.length === 4 ? prefixes.v4 : prefixes.v6;
  const masked = maskBytes(bytes, bits);
  if (bytes.length === 4) return `${masked.join('.')}/${bits}`;
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((masked[i]! << 8) | masked[i + 1]!).toString(16));
  return `${groups.join(':')}/${bits}`;
}

function maskBytes(bytes: number[], bits: number): number[] {
  return bytes.map((b, i) => {
    const keep = Math.max(0, Math.min(8, bits - i * 8));
    return keep === 0 ? 0 : b & ((0xff << (8 - keep)) & 0xff);
  });
}

/** Does `ip` fall inside `cidr` ("192.0.2.0/24", "2001:db8::/32", or a single address)? */
export function ipInCidr(ip: string, cidr: string): boolean {
  const [net, lenText] = cidr.split('/') as [string, string | undefined];
  const a = ipBytes(ip);
  const b = ipBytes(net);
  if (!a || !b || a.length !== b.length) return false;
  const bits = lenText === undefined ? a.length * 8 : Number(lenText);
  if (!Number.isInteger(bits) || bits < 0 || bits > a.length * 8) return false;
  const ma = maskBytes(a, bits);
  const mb = maskBytes(b, bits);
  return ma.every((x, i) => x === mb[i]);
}

/**
 * The DNSBL query label of an address (RFC 5782 §2.1 reversed octets for IPv4, §2.4 reversed nibbles for IPv6),
 * without the zone: 1.2.3.4 → "4.3.2.1".
 */
export function reverseLabel(ip: string): string | null {
  const bytes = ipBytes(ip);
  if (!bytes) return null;
  if (bytes.length === 4) return [...bytes].reverse().join('.');
  const nibbles: string[] = [];
  for (const b of bytes) nibbles.push((b >> 4).toString(16), (b & 0xf).toString(16));
  return nibbles.reverse().join('.');
}

/** The PTR query name: "4.3.2.1.in-addr.arpa" or the nibble form under ip6.arpa. */
export function ptrName(ip: string): string | null {
  const label = reverseLabel(ip);
  if (!label) return null;
  return `${label}.${ipBytes(ip)!.length === 4 ? 'in-addr.arpa' : 'ip6.arpa'}`;
}

export function sameIp(a: string, b: string): boolean {
  const x = ipBytes(a);
  const y = ipBytes(b);
  return !!x && !!y && x.length === y.length && x.every((v, i) => v === y[i]);
}
