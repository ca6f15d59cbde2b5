/**
 * The DNS records a local domain should publish (`postamt dns`, the admin UI's domain page) and their live
 * check through the configured resolvers (`dns check`): one place for both, with the domain's admins only.
 * A pending DKIM key whose record the check finds published starts signing.
 */
import { isIP } from 'node:net';
import { Resolver as NodeDnsResolver } from 'node:dns/promises';
import type { Config } from '../config/schema.ts';
import { checkRecords, expectedRecords, serverAddresses, spfAllowsServer, type ExpectedRecord } from '../policy/dns-records.ts';
import type { PolicyResolver } from '../policy/types.ts';
import type { Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';
import { parseDomain } from './validate.ts';

export type PublishedRecord = Pick<ExpectedRecord, 'name' | 'type' | 'value' | 'purpose' | 'required'>;

export interface DnsCheckRow {
  status: 'ok' | 'missing' | 'wrong' | 'missing (optional)' | 'wrong (optional)';
  type: string;
  name: string;
  detail: string;
}

export interface DnsCheckResult {
  domain: string;
  /** Every required record is in place. */
  ok: boolean;
  failures: number;
  checks: DnsCheckRow[];
  /** Pending DKIM keys found published by this check, which sign from now on. */
  activatedDkimSelectors: string[];
}

/** node:dns with the configured servers; it answers every type the check needs (SRV and CNAME too). */
export function configuredResolver(config: Config): PolicyResolver {
  const dns = new NodeDnsResolver({ timeout: config.dns.timeout, tries: 2 });
  if (config.dns.servers.length) dns.setServers([...config.dns.servers]);
  return { resolve: (name, rrtype) => dns.resolve(name, rrtype) };
}

export function dnsService(ctx: AdminContext) {
  const { gate, dkimKeys, settings } = ctx;
  return {
    /** The records to publish; `ips`: the server's public addresses (their A/AAAA records and the PTR advice). */
    async records(principal: Principal, domainText: string, options: { ips?: string[] } = {}): Promise<{ domain: string; records: ExpectedRecord[]; hasDkimKey: boolean }> {
      const domain = parseDomain(domainText);
      const ips = (options.ips ?? []).map((ip) => {
        if (isIP(ip) === 0) throw new AdminError('invalid', `${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
        return ip;
      });
      const actor = await gate.actor(principal);
      gate.requireDomain(actor, domain, `see the DNS records of ${domain}`);
      const keys = await dkimKeys.listKeys(domain);
      const records = expectedRecords({ domain, hostname: settings.hostname, dkimKeys: keys, serverIps: ips, ports: settings.ports, addressRecords: true, mtaSts: settings.mtaSts, reportAddresses: settings.reportAddresses });
      return { domain, records, hasDkimKey: keys.length > 0 };
    },

    /** Looks every record up and says which are ok, missing or wrong. */
    async check(principal: Principal, domainText: string): Promise<DnsCheckResult> {
      const domain = parseDomain(domainText);
      const actor = await gate.actor(principal);
      gate.requireDomain(actor, domain, `check the DNS records of ${domain}`);
      const resolver = ctx.resolver;
      if (!resolver) throw new AdminError('invalid', 'no DNS resolver is configured for the administration service');
      const keys = await dkimKeys.listKeys(domain);
      const hostname = settings.hostname;
      const serverIps = await serverAddresses(resolver, hostname);
      const results = await checkRecords(expectedRecords({ domain, hostname, dkimKeys: keys, serverIps, ports: settings.ports, mtaSts: settings.mtaSts, reportAddresses: settings.reportAddresses }), { resolver, hostname, serverIps });
      const checks: DnsCheckRow[] = [];
      let failures = 0;
      for (const r of results) {
        if (r.status !== 'ok' && r.record.required) failures++;
        const status = (r.status === 'ok' || r.record.required ? r.status : `${r.status} (optional)`) as DnsCheckRow['status'];
        const detail = r.status === 'ok' ? r.record.purpose : r.status === 'missing' ? `publish: ${r.record.value}` : `found ${r.found ?? '?'}; expected ${r.record.value}`;
        checks.push({ status, type: r.record.type, name: r.record.name, detail });
      }
      if (serverIps.length === 0) {
        failures++;
        checks.push({ status: 'missing', type: 'A', name: hostname, detail: 'the server host name has no A/AAAA record' });
      } else {
        for (const s of await spfAllowsServer({ domain, serverIps, hostname, resolver })) {
          const ok = s.result === 'pass';
          if (!ok) failures++;
          checks.push({ status: ok ? 'ok' : 'wrong', type: 'SPF', name: domain, detail: `SPF for ${s.ip}: ${s.result}${ok ? '' : ' (the server must be allowed to send)'}` });
        }
      }
      if (keys.length === 0) {
        failures++;
        checks.push({ status: 'missing', type: 'DKIM', name: domain, detail: `no DKIM key: postamt dkim generate ${domain}` });
      }
      // A pending key whose record is now published starts signing (the server does the same when it signs).
      const activatedDkimSelectors: string[] = [];
      for (const r of results) {
        const key = keys.find((k) => k.pending && k.active && r.record.name === `${k.selector}._domainkey.${domain}`);
        if (key && r.status === 'ok' && (await dkimKeys.setActive(domain, key.selector, true))) activatedDkimSelectors.push(key.selector);
      }
      return { domain, ok: failures === 0, failures, checks, activatedDkimSelectors };
    },
  };
}

export type DnsService = ReturnType<typeof dnsService>;
