/**
 * The DNS half of `postamt doctor`: the records `postamt dns` prints, checked by the same code as `dns check`
 * (MX, the host's addresses and their PTR, SPF evaluated for our addresses, DKIM against the active keys, DMARC,
 * MTA-STS and TLS-RPT), and our addresses on DNS block lists (TLSA is checked in tlsa-check.ts).
 */
import { checkRecords, expectedRecords, serverAddresses, spfAllowsServer, type ExpectedRecord, type RecordCheck, type ServicePorts } from '../policy/dns-records.ts';
import type { OurMtaStsPolicy } from '../policy/mta-sts-policy.ts';
import { isNxError, type DkimKey, type PolicyResolver } from '../policy/types.ts';
import { fail, pass, skip, type DoctorCheck } from './report.ts';

/** Block lists checked when `policy.dnsbl_zones` names none: widely used ones that list sending IPs. */
export const KNOWN_DNSBLS = ['zen.spamhaus.org', 'bl.spamcop.net', 'b.barracudacentral.org', 'psbl.surriel.com'];

export interface DnsCheckInput {
  domain: string;
  hostname: string;
  resolver: PolicyResolver;
  dkimKeys: DkimKey[];
  ports: ServicePorts;
  mtaSts: OurMtaStsPolicy | null;
  dnsblZones: readonly string[];
  /** `reports.tlsrpt_address` and `reports.dmarc_address`: the rua the records must name ('' is postmaster@<domain>). */
  reportAddresses: { tlsrpt: string; dmarc: string };
}

function recordCheck(name: string, r: RecordCheck, fixMissing: string): DoctorCheck {
  const subject = `${r.record.type} ${r.record.name}`;
  if (r.status === 'ok') return pass(name, subject, r.record.purpose);
  if (r.status === 'missing') return fail(name, subject, r.found ?? 'not published', `${fixMissing}: ${r.record.name} ${r.record.type} ${r.record.value}`);
  return fail(name, subject, `found ${r.found ?? '?'}`, `replace it with: ${r.record.name} ${r.record.type} ${r.record.value}`);
}

export async function dnsChecks(input: DnsCheckInput): Promise<{ checks: DoctorCheck[]; serverIps: string[] }> {
  const { domain, hostname, resolver } = input;
  const checks: DoctorCheck[] = [];
  const serverIps = await serverAddresses(resolver, hostname);
  if (serverIps.length === 0) {
    checks.push(fail('address', `A/AAAA ${hostname}`, 'the mail host name has no address', `publish ${hostname} A (and AAAA) with the server's public address(es)`));
  } else {
    checks.push(pass('address', `A/AAAA ${hostname}`, serverIps.join(', ')));
  }
  const records = expectedRecords({ domain, hostname, dkimKeys: input.dkimKeys, serverIps, ports: input.ports, mtaSts: input.mtaSts, reportAddresses: input.reportAddresses });
  const results = await checkRecords(records, { resolver, hostname, serverIps });
  const by = (pred: (r: ExpectedRecord) => boolean) => results.filter((r) => pred(r.record));

  for (const r of by((x) => x.type === 'MX')) checks.push(recordCheck('mx', r, 'publish'));
  // RFC 8601 §2.7.3 iprev: the PTR of each sending address names the HELO host, which resolves back to it.
  for (const r of by((x) => x.type === 'PTR')) {
    const c = recordCheck('ptr', r, 'ask the provider of the address to set its reverse DNS');
    checks.push(c.status === 'fail' ? { ...c, fix: `ask the provider of ${r.record.text} to set its PTR to ${hostname} (the HELO name)` } : c);
  }
  if (serverIps.length > 0) {
    for (const s of await spfAllowsServer({ domain, serverIps, hostname, resolver })) {
      checks.push(s.result === 'pass'
        ? pass('spf', `SPF ${domain}`, `${s.ip} may send for ${domain}`)
        : fail('spf', `SPF ${domain}`, `SPF for ${s.ip}: ${s.result}`, `publish ${domain} TXT "v=spf1 mx -all" (or add ip4:/ip6:${s.ip} to the record)`));
    }
  }
  const active = input.dkimKeys.filter((k) => k.active);
  if (active.length === 0) checks.push(fail('dkim', `DKIM ${domain}`, 'no active DKIM key', `postamt dkim generate ${domain}, then publish the record postamt dns ${domain} prints`));
  for (const r of by((x) => x.name.includes('._domainkey.') && x.required)) checks.push(recordCheck('dkim', r, 'publish the public key of the active private key'));
  for (const r of by((x) => x.name.startsWith('_dmarc.'))) checks.push(recordCheck('dmarc', r, 'publish'));
  // RFC 7489 §7.1: reports to another organization's address are sent only if that domain agrees to take them.
  for (const r of by((x) => x.name.includes('._report._dmarc.'))) checks.push(recordCheck('dmarc', r, `ask the owner of ${r.record.name.slice(r.record.name.indexOf('._report._dmarc.') + 16)} to publish`));
  if (input.mtaSts) {
    for (const r of by((x) => x.name.startsWith('_mta-sts.') || x.name.startsWith('mta-sts.'))) checks.push(recordCheck('mta-sts', r, 'publish'));
    for (const r of by((x) => x.name.startsWith('_smtp._tls.'))) checks.push(recordCheck('tls-rpt', r, 'publish'));
  } else {
    checks.push(skip('mta-sts', `_mta-sts.${domain}`, 'no MTA-STS policy is served (mta_sts_policy.mode = "off")'));
  }
  checks.push(...(await dnsblChecks(resolver, serverIps, input.dnsblZones.length > 0 ? input.dnsblZones : KNOWN_DNSBLS)));
  return { checks, serverIps };
}

function reversed(ip: string): string | null {
  if (/^\d+\.\d+\.\d+\.\d+$/.test(ip)) return ip.split('.').reverse().join('.');
  return null; // IPv6 listings are rare and zone-specific; only IPv4 is asked
}

async function dnsblChecks(resolver: PolicyResolver, ips: string[], zones: readonly string[]): Promise<DoctorCheck[]> {
  const out: DoctorCheck[] = [];
  for (const ip of ips) {
    const rev = reversed(ip);
    if (!rev) continue;
    const listed: string[] = [];
    await Promise.all(zones.map(async (zone) => {
      try {
        const answers = (await resolver.resolve(`${rev}.${zone}`, 'A')) as string[];
        // RFC 5782 §2.1: a listing answers with an address in 127.0.0.0/8 (127.255.255.x are the lists' error codes).
        if (answers.some((a) => a.startsWith('127.') && !a.startsWith('127.255.255.'))) listed.push(zone);
      } catch (err) {
        if (!isNxError(err)) return; // an unreachable list is not a listing
      }
    }));
    out.push(listed.length === 0
      ? pass('dnsbl', ip, `not listed on ${zones.join(', ')}`)
      : fail('dnsbl', ip, `listed on ${listed.sort().join(', ')}`, `find out why on each list's web site (a compromised account, an open relay), fix it, then ask for removal`));
  }
  return out;
}
