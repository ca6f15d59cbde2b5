/**
 * Checks the certificate an MX host presented after STARTTLS: WebPKI chain and host name for MTA-STS
 * (RFC 8461 §4.2), TLSA matching for DANE (RFC 7672 §3), each failure named as TLS-RPT names it (RFC 8460 §4.3).
 */
import { createHash, X509Certificate } from 'node:crypto';
import { checkServerIdentity, rootCertificates, type DetailedPeerCertificate, type TLSSocket } from 'node:tls';
import type { TlsaRecord } from '../dns/secure-resolver.ts';

/** RFC 8460 §4.3 result types (and "success" for sessions that worked). */
export type TlsResultType =
  | 'success'
  | 'starttls-not-supported'
  | 'certificate-host-mismatch'
  | 'certificate-expired'
  | 'certificate-not-trusted'
  | 'validation-failure'
  | 'tlsa-invalid'
  | 'dnssec-invalid'
  | 'dane-required'
  | 'sts-policy-fetch-error'
  | 'sts-policy-invalid'
  | 'sts-webpki-invalid';

export interface TlsCheckOptions {
  /** Trust anchors for WebPKI: the system's roots plus any configured extra CAs. */
  ca: (string | Buffer)[];
}

export function trustAnchors(extraPem: string | null): TlsCheckOptions {
  return { ca: extraPem ? [...rootCertificates, extraPem] : [...rootCertificates] };
}

export type CheckResult = { ok: true } | { ok: false; type: TlsResultType; detail: string };

/** WebPKI: the chain verified against `ca` (the socket was opened with it) and the name (RFC 6125 via node). */
export function checkWebPki(socket: TLSSocket, host: string): CheckResult {
  const cert = socket.getPeerCertificate(true);
  if (!cert || !cert.raw) return { ok: false, type: 'validation-failure', detail: 'no certificate presented' };
  if (!socket.authorized) {
    const error = socket.authorizationError as (Error & { code?: string }) | string | null;
    const code = typeof error === 'string' ? error : error?.code ?? error?.message ?? 'not authorized';
    // node checks the name only after the chain verified (ERR_TLS_CERT_ALTNAME_INVALID).
    if (code === 'ERR_TLS_CERT_ALTNAME_INVALID') return { ok: false, type: 'certificate-host-mismatch', detail: `certificate is not valid for ${host}` };
    if (code === 'CERT_HAS_EXPIRED') return { ok: false, type: 'certificate-expired', detail: 'certificate has expired' };
    if (/SELF_SIGNED|UNABLE_TO_GET_ISSUER|UNABLE_TO_VERIFY_LEAF/.test(code)) return { ok: false, type: 'certificate-not-trusted', detail: `certificate not trusted (${code})` };
    return { ok: false, type: 'validation-failure', detail: `certificate rejected (${code})` };
  }
  const nameError = checkServerIdentity(host, cert);
  if (nameError) return { ok: false, type: 'certificate-host-mismatch', detail: `certificate is not valid for ${host}` };
  return { ok: true };
}

/** RFC 6698 §2.1.3: the digest length of matching types 1 (SHA-256) and 2 (SHA-512). */
const DIGEST_BYTES: Record<number, number> = { 1: 32, 2: 64 };

/**
 * TLSA usages SMTP uses (RFC 7672 §3.1): DANE-TA(2) and DANE-EE(3); PKIX-TA/EE are unusable for SMTP
 * (§3.1.3), and so are unknown selectors and matching types and malformed data (RFC 7671 §4: a digest of the
 * wrong length, no data), which are ignored rather than failing the whole RRset.
 */
export function isUsableTlsa(r: TlsaRecord): boolean {
  if (r.usage !== 2 && r.usage !== 3) return false;
  if (r.selector !== 0 && r.selector !== 1) return false;
  if (r.matchingType === 0) return r.data.length > 0;
  return DIGEST_BYTES[r.matchingType] === r.data.length;
}

/** RFC 6698 §2.1.2-2.1.3: selector 0 the whole certificate, 1 the SubjectPublicKeyInfo; matching 0 exact, 1 SHA-256, 2 SHA-512. */
export function tlsaMatches(record: TlsaRecord, der: Buffer): boolean {
  const subject = record.selector === 0 ? der : new X509Certificate(der).publicKey.export({ type: 'spki', format: 'der' });
  const digest = record.matchingType === 0 ? subject : createHash(record.matchingType === 1 ? 'sha256' : 'sha512').update(subject).digest();
  return digest.equals(record.data);
}

function chainOf(socket: TLSSocket): Buffer[] {
  const out: Buffer[] = [];
  let cert: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
  const seen = new Set<string>();
  while (cert && cert.raw && !seen.has(cert.fingerprint256)) {
    seen.add(cert.fingerprint256);
    out.push(cert.raw);
    cert = cert.issuerCertificate;
  }
  return out;
}

/**
 * DANE: some usable TLSA record must match. DANE-EE(3) matches the leaf and ignores names and dates
 * (RFC 7672 §3.1.1); DANE-TA(2) matches a certificate of the presented chain (or its key), the leaf must chain
 * up to it by signature, the certificates below the anchor must be valid now, and the leaf must carry one of
 * the reference identifiers `names` (RFC 7672 §3.1.2, §3.2.2, §3.2.3).
 */
export function checkDane(socket: TLSSocket, records: TlsaRecord[], names: string | string[], now = new Date()): CheckResult {
  return checkDaneChain(chainOf(socket), records, typeof names === 'string' ? [names] : names, now);
}

/** checkDane on a chain of DER certificates, leaf first, as the server sent it. */
export function checkDaneChain(chain: Buffer[], records: TlsaRecord[], names: string[], now = new Date()): CheckResult {
  if (chain.length === 0) return { ok: false, type: 'validation-failure', detail: 'no certificate presented' };
  const usable = records.filter(isUsableTlsa);
  // RFC 7672 §3.1.1: DANE-EE binds the key (or certificate) alone: no name, no expiry, no issuer checked.
  for (const r of usable.filter((x) => x.usage === 3)) {
    if (tlsaMatches(r, chain[0]!)) return { ok: true };
  }
  let taProblem: CheckResult | null = null;
  for (const r of usable.filter((x) => x.usage === 2)) {
    for (let i = 0; i < chain.length; i++) {
      if (!tlsaMatches(r, chain[i]!)) continue;
      const problem = checkTaChain(chain.slice(0, i + 1).map((der) => new X509Certificate(der)), names, now);
      if (!problem) return { ok: true };
      taProblem ??= problem;
    }
  }
  if (taProblem) return taProblem;
  // RFC 8460 §4.3.1: none of the TLSA records matched: tlsa-invalid.
  return { ok: false, type: 'tlsa-invalid', detail: `no TLSA record of ${names[0]} matches the presented certificate` };
}

/** The chain from the leaf up to a DANE-TA anchor (last): signatures, validity dates below the anchor, leaf name. */
function checkTaChain(certs: X509Certificate[], names: string[], now: Date): CheckResult | null {
  for (let k = 0; k < certs.length - 1; k++) {
    // RFC 7672 §3.1.2: the anchor must have issued the chain: each certificate is signed by the next.
    if (!certs[k]!.verify(certs[k + 1]!.publicKey)) return { ok: false, type: 'validation-failure', detail: 'certificate chain does not verify up to the DANE-TA trust anchor' };
  }
  // RFC 7672 §3.1.2: below a DANE-TA anchor the usual PKIX checks apply, expiry included (the anchor's own
  // dates do not count, as for any trust anchor; a leaf that is itself the anchor is checked).
  for (const c of certs.slice(0, Math.max(1, certs.length - 1))) {
    if (new Date(c.validTo).getTime() < now.getTime()) return { ok: false, type: 'certificate-expired', detail: 'certificate has expired' };
    if (new Date(c.validFrom).getTime() > now.getTime()) return { ok: false, type: 'validation-failure', detail: 'certificate is not yet valid' };
  }
  // RFC 7672 §3.2.3: wildcards match one whole leftmost label only.
  if (!names.some((name) => certs[0]!.checkHost(name, { wildcards: true, partialWildcards: false, multiLabelWildcards: false }))) {
    return { ok: false, type: 'certificate-host-mismatch', detail: `certificate is not valid for ${names.join(' or ')}` };
  }
  return null;
}
