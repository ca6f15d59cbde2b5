/**
 * Whether DANE applies to one MX host, and with which TLSA records and names (RFC 7672 §2.2): the MX RRset, the
 * host's address records (after CNAME expansion) and its TLSA RRset must each be DNSSEC-validated by the
 * configured resolver; a lookup that cannot be validated (bogus, SERVFAIL) keeps mail from the host for now.
 */
import { normalizeDnsName } from '../dns/resolver.ts';
import type { SecureResolver, TlsaRecord } from '../dns/secure-resolver.ts';
import { isUsableTlsa } from './tls-check.ts';

/** What the validating resolver says about a recipient domain's MX RRset. */
export type MxSecurity =
  | { state: 'secure'; hosts: Set<string> }
  | { state: 'insecure' }
  | { state: 'failed'; detail: string };

export type DaneHost =
  /** DANE does not apply to this host; MTA-STS or opportunistic TLS decide. */
  | { kind: 'off'; reason: string }
  /** The DNSSEC state cannot be known: no mail to this host now (TLS-RPT dnssec-invalid). */
  | { kind: 'failed'; detail: string }
  /**
   * Validated TLSA records: TLS is mandatory. `usable` may be empty (then TLS without authentication);
   * `names` are the reference identifiers a DANE-TA certificate must carry (RFC 7672 §3.2.2).
   */
  | { kind: 'dane'; tlsaName: string; records: TlsaRecord[]; usable: TlsaRecord[]; names: string[] };

export async function mxSecurity(secure: SecureResolver, rawDomain: string): Promise<MxSecurity> {
  const domain = normalizeDnsName(rawDomain);
  try {
    const answer = await secure.mx(domain);
    // RFC 7672 §2.2.1: an MX RRset (or the CNAME leading to it) that is not validated is "insecure".
    if (!answer.authenticated) return { state: 'insecure' };
    return { state: 'secure', hosts: new Set(answer.records.map((r) => normalizeDnsName(r.exchange))) };
  } catch (err) {
    // RFC 7672 §2.2.1: a bogus or indeterminate MX lookup must not lead to delivery without DANE.
    return { state: 'failed', detail: `MX lookup of ${domain} through the validating resolver failed: ${(err as Error).message}` };
  }
}

export interface DaneHostInput {
  secure: SecureResolver;
  /** The recipient domain's MX security; ignored for a domain without MX (the domain is the host). */
  mx: MxSecurity | null;
  host: string;
  port: number;
  /** 'implicit-mx': the domain has no MX and is itself the host (RFC 7672 §2.2.2, non-MX destination). */
  source: 'mx' | 'implicit-mx';
}

export async function daneForHost(input: DaneHostInput): Promise<DaneHost> {
  const host = normalizeDnsName(input.host);
  if (input.source === 'mx') {
    const mx = input.mx;
    if (!mx) return { kind: 'off', reason: 'the MX RRset was not looked up' };
    if (mx.state === 'failed') return { kind: 'failed', detail: mx.detail };
    // RFC 7672 §2.2.1: with an insecure MX RRset DANE need not apply; like Postfix we do not apply it, since
    // an attacker who can forge the MX records could name any host and publish its TLSA records.
    if (mx.state === 'insecure') return { kind: 'off', reason: 'the MX RRset is not DNSSEC-validated' };
    if (!mx.hosts.has(host)) return { kind: 'failed', detail: `${host} is not in the DNSSEC-validated MX RRset` };
  }
  let finalName: string;
  try {
    const [v4, v6] = await Promise.all([input.secure.addresses(host, 4), input.secure.addresses(host, 6)]);
    const found = [v4, v6].filter((a) => a.records.length > 0);
    if (found.length === 0) return { kind: 'off', reason: `${host} has no address records` };
    // RFC 7672 §2.2.2: insecure address records (or an insecure CNAME on the way) mean no TLSA lookup.
    if (!found.every((a) => a.authenticated)) return { kind: 'off', reason: `the address records of ${host} are not DNSSEC-validated` };
    finalName = found[0]!.finalName;
  } catch (err) {
    return { kind: 'failed', detail: `address lookup of ${host} through the validating resolver failed: ${(err as Error).message}` };
  }
  // RFC 7672 §2.2.3: after a secure CNAME expansion the TLSA records are looked up at the expanded name
  // first, then at the original name; the name they are found at is the TLSA base domain.
  const bases = finalName === host ? [host] : [finalName, host];
  for (const base of bases) {
    // RFC 7672 §2.2.3: the TLSA query name is _<port>._tcp.<base domain> (port 25 for MX delivery).
    const tlsaName = `_${input.port}._tcp.${base}`;
    let answer;
    try {
      answer = await input.secure.tlsa(tlsaName);
    } catch (err) {
      // RFC 7672 §2.2: TLSA records that cannot be looked up (SERVFAIL, bogus) make the host unusable now.
      return { kind: 'failed', detail: `TLSA lookup for ${tlsaName} failed: ${(err as Error).message}` };
    }
    if (!answer.authenticated || answer.records.length === 0) continue;
    // RFC 7672 §3.2.2: the reference identifiers are the TLSA base domain and the MX host name it came from.
    const names = [...new Set([base, host])];
    return { kind: 'dane', tlsaName, records: answer.records, usable: answer.records.filter(isUsableTlsa), names };
  }
  return { kind: 'off', reason: `no DNSSEC-validated TLSA records at _${input.port}._tcp.${host}` };
}
