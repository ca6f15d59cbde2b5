/**
 * Where a JMAP push may go: only https URLs (RFC 8620 §7.2), and, unless allowed, never to loopback,
 * private or link-local addresses, checked on the addresses actually connected to (no DNS rebinding).
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { BlockList, isIP } from 'node:net';
import { ipInCidr } from '../policy/ip-prefix.ts';

const INTERNAL = new BlockList();
for (const [net, bits] of [['0.0.0.0', 8], ['10.0.0.0', 8], ['100.64.0.0', 10], ['127.0.0.0', 8], ['169.254.0.0', 16], ['172.16.0.0', 12], ['192.168.0.0', 16], ['198.18.0.0', 15], ['224.0.0.0', 3]] as const) INTERNAL.addSubnet(net, bits, 'ipv4');
for (const [net, bits] of [['::', 127], ['fc00::', 7], ['fe80::', 10], ['ff00::', 8]] as const) INTERNAL.addSubnet(net, bits, 'ipv6');

/** Loopback, private, link-local, shared, multicast or unspecified (IPv4-mapped IPv6 as its IPv4). */
export function isInternalAddress(ip: string): boolean {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(ip);
  if (mapped) return INTERNAL.check(mapped[1]!, 'ipv4');
  const family = isIP(ip);
  return family === 0 ? true : INTERNAL.check(ip, family === 4 ? 'ipv4' : 'ipv6');
}

/** An internal address not in the allowed networks (`http.push_allowed_networks`). */
export function isRefusedAddress(ip: string, allowed: readonly string[]): boolean {
  return isInternalAddress(ip) && !allowed.some((cidr) => ipInCidr(ip, cidr));
}

/** Why the URL cannot receive pushes (null: it can, as far as its text goes). */
export function pushUrlProblem(url: string, allowed: readonly string[]): string | null {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return 'not a URL';
  }
  if (parsed.protocol !== 'https:') return 'only https URLs';
  if (parsed.username !== '' || parsed.password !== '') return 'credentials in the URL';
  const host = parsed.hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0 && isRefusedAddress(host, allowed)) return 'an internal address';
  return null;
}

type LookupCallback = (err: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void;

/** A `lookup` for http(s).request that refuses internal addresses outside the allowed networks. */
export function guardedLookup(allowed: readonly string[]) {
  return (hostname: string, options: { all?: boolean; family?: number }, callback: LookupCallback): void => {
    dnsLookup(hostname, { family: options.family ?? 0, all: true }, (err, addresses) => {
      if (err) return callback(err, []);
      const bad = addresses.find((a) => isRefusedAddress(a.address, allowed));
      if (bad) {
        const refused = Object.assign(new Error(`${hostname} resolves to an internal address (${bad.address})`), { code: 'EINTERNAL' });
        return callback(refused, []);
      }
      if (options.all) return callback(null, addresses);
      return callback(null, addresses[0]!.address, addresses[0]!.family);
    });
  };
}

/** Resolves the URL's host now, for refusing a subscription at once (the connection checks again). */
export async function resolvesRefused(url: string, allowed: readonly string[]): Promise<boolean> {
  const host = new URL(url).hostname.replace(/^\[|\]$/g, '');
  if (isIP(host) !== 0) return isRefusedAddress(host, allowed);
  return new Promise((resolve) => {
    dnsLookup(host, { all: true }, (err, addresses) => resolve(err ? false : addresses.some((a) => isRefusedAddress(a.address, allowed))));
  });
}
