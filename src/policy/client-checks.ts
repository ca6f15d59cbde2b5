/**
 * Checks of who the client claims to be: forward-confirmed reverse DNS (PTR, then A/AAAA back to the same
 * address) and HELO/EHLO sanity (RFC 5321 §4.1.4: an address literal must be the client's address; a name
 * should be a resolvable FQDN and never our own).
 */
import { isIP } from 'node:net';
import { withTimeout } from './dns-lists.ts';
import { normalizeIp, ptrName, sameIp } from './ip-prefix.ts';
import { isNxError, type PolicyResolver } from './types.ts';

export type FcrdnsResult = { status: 'pass'; hostname: string } | { status: 'mismatch' | 'none' | 'temperror' };

/** At most this many PTR names are followed (RFC 8601 §2.7.3 "iprev" caps the work the same way). */
const MAX_PTR_NAMES = 10;

export async function checkFcrdns(options: { ip: string; resolver: PolicyResolver; timeoutMs: number }): Promise<FcrdnsResult> {
  const name = ptrName(options.ip);
  if (!name) return { status: 'none' };
  let names: string[];
  try {
    names = ((await withTimeout(options.resolver.resolve(name, 'PTR'), options.timeoutMs)) as string[]).slice(0, MAX_PTR_NAMES);
  } catch (err) {
    return { status: isNxError(err) ? 'none' : 'temperror' };
  }
  if (names.length === 0) return { status: 'none' };
  const rrtype = isIP(normalizeIp(options.ip)) === 4 ? 'A' : 'AAAA';
  let sawError = false;
  const answers = await Promise.all(
    names.map(async (host) => {
      try {
        const addrs = (await withTimeout(options.resolver.resolve(host, rrtype), options.timeoutMs)) as string[];
        return addrs.some((a) => sameIp(a, options.ip)) ? host : null;
      } catch (err) {
        if (!isNxError(err)) sawError = true;
        return null;
      }
    }),
  );
  const match = answers.find((h): h is string => h !== null);
  if (match) return { status: 'pass', hostname: match.replace(/\.$/, '').toLowerCase() };
  return { status: sawError ? 'temperror' : 'mismatch' };
}

export type HeloProblem = 'literal-mismatch' | 'bare-ip' | 'our-hostname' | 'no-dot' | 'not-resolving';

export async function checkHelo(options: { helo: string; ip: string; ourHostnames: string[]; resolver: PolicyResolver; timeoutMs: number }): Promise<HeloProblem[]> {
  const helo = options.helo.trim().replace(/\.$/, '');
  const literal = /^\[(?:ipv6:)?([^\]]+)\]$/i.exec(helo);
  if (literal) {
    // RFC 5321 §4.1.3 address literal: it must name the connecting client.
    return sameIp(literal[1]!, options.ip) ? [] : ['literal-mismatch'];
  }
  if (isIP(helo)) return ['bare-ip'];
  const lower = helo.toLowerCase();
  if (options.ourHostnames.some((h) => h.toLowerCase() === lower)) return ['our-hostname'];
  if (!lower.includes('.')) return ['no-dot'];
  const resolves = await Promise.all(
    ['A', 'AAAA'].map((t) =>
      withTimeout(options.resolver.resolve(lower, t), options.timeoutMs).then(
        (a) => Array.isArray(a) && a.length > 0,
        () => false,
      ),
    ),
  );
  return resolves.some(Boolean) ? [] : ['not-resolving'];
}
