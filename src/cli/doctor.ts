/**
 * `postamt doctor DOMAIN`: checks the whole setup of a mail domain end to end (DNS, reverse DNS, SPF, DKIM,
 * DMARC, MTA-STS, TLS-RPT, TLSA, certificates, listeners, block lists) and says how to fix each failure;
 * exit 0 only when every check passes.
 */
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import { runDoctor } from '../doctor/service.ts';
import { formatReport } from '../doctor/report.ts';
import { parseDomain } from '../admin/validate.ts';
import { configFor, println, type CliDeps } from './context.ts';
import { configuredResolver } from '../admin/dns.ts';
import { DnssecResolver } from '../dns/secure-resolver.ts';

export function registerDoctor(program: Command, deps: CliDeps): void {
  program
    .command('doctor')
    .description('Check the setup of DOMAIN end to end and say how to fix what fails (exit 0 only when all pass)')
    .argument('<domain>')
    .option('--json', 'print JSON')
    .option('--address <ip>', 'connect to this address instead of the host name\'s (checking from inside a NAT)')
    .option('--ca-file <path>', 'PEM of a private CA to trust for our certificates, beside the system\'s')
    .action(async (domainArg: string, opts: { json?: boolean; address?: string; caFile?: string }, command: Command) => {
      const domain = parseDomain(domainArg);
      const config = configFor(command, deps);
      if (opts.address !== undefined && isIP(opts.address) === 0) throw new UsageError(`--address ${JSON.stringify(opts.address)} is not an IP address`);
      let ca: string | null = null;
      if (opts.caFile) {
        try {
          ca = readFileSync(opts.caFile, 'utf8');
        } catch {
          throw new UsageError(`--ca-file ${opts.caFile}: cannot read the file`);
        }
      }
      const keys = await new FileDkimKeyStore({ dataDir: config.dataDir }).listKeys(domain);
      // The validating resolver outbound DANE trusts: TLSA is checked as DANE senders will check it.
      const secure = config.outboundTls.daneResolver ? new DnssecResolver({ server: config.outboundTls.daneResolver, timeoutMs: config.dns.timeout }) : null;
      const result = await runDoctor({ domain, config, resolver: configuredResolver(config), dkimKeys: keys, ca, address: opts.address, secure });
      if (opts.json) println(deps.io.stdout, JSON.stringify(result, null, 2));
      else for (const line of formatReport(result)) println(deps.io.stdout, line);
      if (!result.ok) throw new UsageError(`${result.checks.filter((c) => c.status === 'fail').length} check(s) failed for ${domain}`, 1);
    });
}
