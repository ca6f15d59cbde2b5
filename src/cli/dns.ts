/**
 * `postamt dns DOMAIN` prints every DNS record to publish for a mail domain (and the PTR to ask for);
 * `postamt dns check DOMAIN` looks them up through the configured resolvers and reports ok / missing / wrong,
 * failing (exit 1) when a required record is missing or wrong.
 */
import { Resolver as NodeDnsResolver } from 'node:dns/promises';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import { checkRecords, expectedRecords, formatZone, serverAddresses, spfAllowsServer, type ServicePorts } from '../policy/dns-records.ts';
import type { PolicyResolver } from '../policy/types.ts';
import type { Config } from '../config/schema.ts';
import { configFor, formatTable, println, type CliDeps } from './context.ts';
import { parseDomain } from './validate.ts';

function servicePorts(config: Config): ServicePorts {
  const l = config.listen;
  const port = (hp: { port: number } | null) => (hp ? hp.port : null);
  return { submission: port(l.submission), submissions: port(l.submissions), imap: port(l.imap), imaps: port(l.imaps), pop3: port(l.pop3), pop3s: port(l.pop3s) };
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
    .option('--ip <address...>', 'public address(es) of the server, for the PTR advice')
    .action(async (domainArg: string, opts: { ip?: string[] }, command: Command) => {
      const domain = parseDomain(domainArg);
      const config = configFor(command, deps);
      const keys = await new FileDkimKeyStore({ dataDir: config.dataDir }).listKeys(domain);
      const records = expectedRecords({ domain, hostname: config.hostname, dkimKeys: keys, serverIps: opts.ip ?? [], ports: servicePorts(config) });
      deps.io.stdout.write(formatZone(records));
      if (keys.length === 0) println(deps.io.stdout, `; No DKIM key yet: postamt dkim generate ${domain}`);
    });

  dns
    .command('check')
    .description('Look the records up through the configured resolvers and report ok / missing / wrong')
    .argument('<domain>')
    .action(async (domainArg: string, _opts: unknown, command: Command) => {
      const domain = parseDomain(domainArg);
      const config = configFor(command, deps);
      const resolver = configuredResolver(config);
      const keys = await new FileDkimKeyStore({ dataDir: config.dataDir }).listKeys(domain);
      const serverIps = await serverAddresses(resolver, config.hostname);
      const records = expectedRecords({ domain, hostname: config.hostname, dkimKeys: keys, serverIps, ports: servicePorts(config) });
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
      for (const line of formatTable(rows)) println(deps.io.stdout, line);
      if (failures > 0) throw new UsageError(`${failures} required DNS record(s) missing or wrong for ${domain}`, 1);
      println(deps.io.stdout, `all required records for ${domain} are in place`);
    });
}
