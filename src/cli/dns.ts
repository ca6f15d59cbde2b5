/**
 * `postamt dns DOMAIN` prints every DNS record to publish for a mail domain (and the PTR to ask for);
 * `postamt dns check DOMAIN` looks them up through the configured resolvers and reports ok / missing / wrong,
 * failing (exit 1) when a required record is missing or wrong. Both are the administration service's.
 */
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { formatZone } from '../policy/dns-records.ts';
import { formatTable, println, withAdmin, type CliDeps } from './context.ts';

export function registerDns(program: Command, deps: CliDeps): void {
  const dns = program
    .command('dns')
    .description('The DNS records to publish for DOMAIN (`dns check DOMAIN` verifies them)')
    .argument('<domain>')
    .option('--ip <address...>', 'public address(es) of the server: its A/AAAA records and the PTR advice')
    .option('--json', 'print JSON')
    .action(async (domainArg: string, opts: { ip?: string[]; json?: boolean }, command: Command) => {
      // The service checks the addresses too; here the message names the flag.
      const bad = (opts.ip ?? []).find((ip) => isIP(ip) === 0);
      if (bad !== undefined) throw new UsageError(`--ip ${JSON.stringify(bad)} is not an IPv4 or IPv6 address`);
      await withAdmin(command, deps, async ({ admin, as }) => {
        const { domain, records, hasDkimKey } = await admin.dns.records(as, domainArg, { ips: opts.ip });
        if (opts.json) return println(deps.io.stdout, JSON.stringify(records.map(({ name, type, value, purpose, required }) => ({ name, type, value, purpose, required })), null, 2));
        deps.io.stdout.write(formatZone(records));
        if ((opts.ip ?? []).length === 0) println(deps.io.stdout, `; Give the server's public address(es) with --ip for its A/AAAA records and the PTR to ask for.`);
        if (!hasDkimKey) println(deps.io.stdout, `; No DKIM key yet: postamt dkim generate ${domain}`);
        return undefined;
      });
    });

  dns
    .command('check')
    .description('Look the records up through the configured resolvers and report ok / missing / wrong')
    .argument('<domain>')
    .option('--json', 'print JSON')
    .action(async (domainArg: string, checkOpts: { json?: boolean }, command: Command) => {
      // `dns` itself has --json too; commander gives it to whichever command it finds first.
      const json = checkOpts.json === true || command.parent?.opts<{ json?: boolean }>().json === true;
      const result = await withAdmin(command, deps, ({ admin, as }) => admin.dns.check(as, domainArg));
      if (json) {
        println(deps.io.stdout, JSON.stringify(result, null, 2));
      } else {
        const rows = [['STATUS', 'TYPE', 'NAME', 'DETAIL'], ...result.checks.map((c) => [c.status, c.type, c.name, c.detail])];
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
        for (const selector of result.activatedDkimSelectors) println(deps.io.stdout, `DKIM key ${selector} is published: it signs from now on`);
      }
      if (result.failures > 0) throw new UsageError(`${result.failures} required DNS record(s) missing or wrong for ${result.domain}`, 1);
      if (!json) println(deps.io.stdout, `all required records for ${result.domain} are in place`);
    });
}
