/**
 * `postamt dns DOMAIN` prints every DNS record to publish for a mail domain (and the PTR to ask for);
 * `postamt dns check DOMAIN` looks them up through the configured resolvers and reports ok / missing / wrong,
 * failing (exit 1) when a required record is missing or wrong.
 */
import { Resolver as NodeDnsResolver } from 'node:dns/promises';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import { checkRecords, expectedRecords, formatZone, serverAddresses, spfAllowsServer, type ServicePorts } from '../policy/dns-records.ts';
import type { PolicyResolver } from '../policy/types.ts';
import type { Config } from '../config/schema.ts';
import { configFor, formatTable, println, type CliDeps } from './context.ts';
import { parseDomain } from '../admin/validate.ts';
import { mtaStsPolicyFromConfig } from '../policy/mta-sts-policy.ts';

function servicePorts(config: Config): ServicePorts {
  const l = config.listen;
  const port = (hp: { port: number } | null) => (hp ? hp.port : null);
  return { submission: port(l.submission), submissions: port(l.submissions), imap: port(l.imap), imaps: port(l.imaps), pop3: port(l.pop3), pop3s: port(l.pop3s), https: port(l.https) };
}

/** node:dns with the configured servers; it answers every type `dns check` needs (SRV and CNAME too). */
export function configuredResolver(config: Config): PolicyResolver {
  const dns = new NodeDnsResolver({ timeout: config.dns.timeout, tries: 2 });
  if (config.dns.servers.length) dns.setServers([...config.dns.servers]);
  return { resolve: (name, rrtype) => dns.resolve(name, rrtype) };
}

export function registerDns(program: Command, deps: CliDeps): void {
  const dns = program
    .command('dns')
    .description('The DNS records to publish for DOMAIN (`dns check DOMAIN` verifies them)')
    .argument('<domain>')
    .option('--ip <address...>', 'public address(es) of the server: its A/AAAA records and the PTR advice')
    .option('--json', 'print JSON')
    .action(async (domainArg: string, opts: { ip?: string[]; json?: boolean }, command: Command) => {
      const domain = parseDomain(domainArg);
      const ips = (opts.ip ?? []).map((ip) => {
        if (isIP(ip) === 0) throw new UsageError(`--ip ${JSON.stringify(ip)} is not an IPv4 or IPv6 address`);
        return ip;
      });
      const config = configFor(command, deps);
      const keys = await new FileDkimKeyStore({ dataDir: config.dataDir }).listKeys(domain);
      const records = expectedRecords({ domain, hostname: config.hostname, dkimKeys: keys, serverIps: ips, ports: servicePorts(config), addressRecords: true, mtaSts: mtaStsPolicyFromConfig(config) });
      if (opts.json) return println(deps.io.stdout, JSON.stringify(records.map(({ name, type, value, purpose, required }) => ({ name, type, value, purpose, required })), null, 2));
      deps.io.stdout.write(formatZone(records));
      if (ips.length === 0) println(deps.io.stdout, `; Give the server's public address(es) with --ip for its A/AAAA records and the PTR to ask for.`);
      if (keys.length === 0) println(deps.io.stdout, `; No DKIM key yet: postamt dkim generate ${domain}`);
    });

  dns
    .command('check')
    .description('Look the records up through the configured resolvers and report ok / missing / wrong')
    .argument('<domain>')
    .option('--json', 'print JSON')
    .action(async (domainArg: string, checkOpts: { json?: boolean }, command: Command) => {
      // `dns` itself has --json too; commander gives it to whichever command it finds first.
      const opts = { json: checkOpts.json === true || command.parent?.opts<{ json?: boolean }>().json === true };
      const domain = parseDomain(domainArg);
      const config = configFor(command, deps);
      const resolver = configuredResolver(config);
      const keyStore = new FileDkimKeyStore({ dataDir: config.dataDir });
      const keys = await keyStore.listKeys(domain);
      const serverIps = await serverAddresses(resolver, config.hostname);
      const records = expectedRecords({ domain, hostname: config.hostname, dkimKeys: keys, serverIps, ports: servicePorts(config), mtaSts: mtaStsPolicyFromConfig(config) });
      const results = await checkRecords(records, { resolver, hostname: config.hostname, serverIps });
      const rows = [['STATUS', 'TYPE', 'NAME', 'DETAIL']];
      let failures = 0;
      for (const r of results) {
        const label = r.status === 'ok' ? 'ok' : r.record.required ? r.status : `${r.status} (optional)`;
        if (r.status !== 'ok' && r.record.required) failures++;
        const detail = r.status === 'ok' ? r.record.purpose : r.status === 'missing' ? `publish: ${r.record.value}` : `found ${r.found ?? '?'}; expected ${r.record.value}`;
        rows.push([label, r.record.type, r.record.name, detail]);
      }
      if (serverIps.length === 0) {
        failures++;
        rows.push(['missing', 'A', config.hostname, 'the server host name has no A/AAAA record']);
      } else {
        for (const s of await spfAllowsServer({ domain, serverIps, hostname: config.hostname, resolver })) {
          const ok = s.result === 'pass';
          if (!ok) failures++;
          rows.push([ok ? 'ok' : 'wrong', 'SPF', domain, `SPF for ${s.ip}: ${s.result}${ok ? '' : ' (the server must be allowed to send)'}`]);
        }
      }
      if (keys.length === 0) {
        failures++;
        rows.push(['missing', 'DKIM', domain, `no DKIM key: postamt dkim generate ${domain}`]);
      }
      // A pending key whose record is now published starts signing (the server does the same when it signs).
      const activated: string[] = [];
      for (const r of results) {
        const key = keys.find((k) => k.pending && k.active && r.record.name === `${k.selector}._domainkey.${domain}`);
        if (key && r.status === 'ok' && (await keyStore.setActive(domain, key.selector, true))) activated.push(key.selector);
      }
      if (opts.json) {
        const checks = rows.slice(1).map(([status, type, name, detail]) => ({ status, type, name, detail }));
        println(deps.io.stdout, JSON.stringify({ domain, ok: failures === 0, failures, checks, activatedDkimSelectors: activated }, null, 2));
      } else {
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
        for (const selector of activated) println(deps.io.stdout, `DKIM key ${selector} is published: it signs from now on`);
      }
      if (failures > 0) throw new UsageError(`${failures} required DNS record(s) missing or wrong for ${domain}`, 1);
      if (!opts.json) println(deps.io.stdout, `all required records for ${domain} are in place`);
    });
}
