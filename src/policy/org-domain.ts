/**
 * The organizational domain of RFC 7489 §3.2 from the Public Suffix List (tldts), with the same list sections
 * mailauth uses for DMARC alignment, so that our reports group and align exactly as the verdicts were made.
 */
import { getDomain } from 'tldts';

const OPTIONS = { allowIcannDomains: true, allowPrivateDomains: true };

/**
 * RFC 7489 §3.2: the public suffix plus one label ("a.b.example.co.uk" → "example.co.uk"); a name that is itself
 * a public suffix, or not a domain name at all, is its own organizational domain.
 */
export function organizationalDomain(domain: string): string {
  const d = domain.toLowerCase().replace(/\.$/, '');
  return getDomain(d, OPTIONS) ?? d;
}

/** RFC 7489 §3.1 relaxed alignment: both names share one organizational domain. */
export function isRelaxedAligned(a: string, b: string): boolean {
  return a !== '' && b !== '' && organizationalDomain(a) === organizationalDomain(b);
}
