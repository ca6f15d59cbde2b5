/**
 * Which certificates ACME obtains: one for the host name (plus `acme.names`), the default on every listener;
 * and one per hosted domain for the names clients reach over https (mta-sts.<domain> for the MTA-STS policy,
 * autoconfig.<domain> for mail client setup), so a domain whose names do not point here yet fails alone.
 */
import { X509Certificate } from 'node:crypto';
import { domainToASCII } from 'node:url';

export interface CertificateGroup {
  /** "host", or the domain. */
  id: string;
  names: string[];
  isDefault: boolean;
}

export const HOST_CERTIFICATE = 'host';

export function certificateGroups(input: { hostname: string; names: readonly string[]; domainNames: boolean; domains: readonly string[]; mtaSts: boolean; autoconfig: boolean }): CertificateGroup[] {
  const ascii = (name: string): string => (domainToASCII(name.replace(/\.$/, '')) || name).toLowerCase();
  const host = ascii(input.hostname);
  const groups: CertificateGroup[] = [{ id: HOST_CERTIFICATE, names: [...new Set([host, ...input.names.map(ascii)])], isDefault: true }];
  if (!input.domainNames) return groups;
  for (const domain of input.domains.map(ascii)) {
    const names = [...(input.mtaSts ? [`mta-sts.${domain}`] : []), ...(input.autoconfig ? [`autoconfig.${domain}`] : [])];
    if (names.length > 0) groups.push({ id: domain, names, isDefault: false });
  }
  return groups;
}

export function sameNames(a: readonly string[], b: readonly string[]): boolean {
  return a.length === b.length && [...a].sort().join(',') === [...b].sort().join(',');
}

export interface CertificateFacts {
  notAfter: Date;
  serial: string;
  names: string[];
}

/** The expiry and DNS names of the leaf certificate of a PEM chain. */
export function certificateFacts(chainPem: string): CertificateFacts {
  const leaf = new X509Certificate(chainPem);
  const names = (leaf.subjectAltName ?? '').split(/,\s*/).filter((n) => n.startsWith('DNS:')).map((n) => n.slice(4).toLowerCase());
  return { notAfter: new Date(leaf.validTo), serial: leaf.serialNumber, names };
}
