/**
 * `postamt doctor DOMAIN`: checks the whole setup of a mail domain end to end (DNS, reverse DNS, SPF, DKIM,
 * DMARC, MTA-STS, TLS-RPT, TLSA, certificates, listeners, block lists, a test message through our own MX)
 * and says how to fix each failure; exit 0 only when every check passes.
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
import { ProbeDrop } from '../delivery/probe-drop.ts';

export function registerDoctor(program: Command, deps: CliDeps): void {
  program
    .command('doctor')
    .description('Check the setup of DOMAIN end to end and say how to fix what fails (exit 0 only when all pass)')
    .argument('<domain>')
    .option('--json', 'print JSON')
    .option('--address <ip>', 'connect to this address instead of the host name\'s (checking from inside a NAT)')
    .option('--ca-file <path>', 'PEM of a private CA to trust for our certificates, beside the system\'s')
    .option('--no-probe', 'do not send the test message through our own MX')
    .option('--probe-timeout <seconds>', 'how long to wait for the test message to arrive', '30')
    .action(async (domainArg: string, opts: { json?: boolean; address?: string; caFile?: string; probe: boolean; probeTimeout: string }, command: Command) => {
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
      const probeTimeout = Number(opts.probeTimeout);
      if (!Number.isFinite(probeTimeout) || probeTimeout <= 0 || probeTimeout > 3600) throw new UsageError(`--probe-timeout ${JSON.stringify(opts.probeTimeout)} is not a number of seconds (1 to 3600)`);
      const keys = await new FileDkimKeyStore({ dataDir: config.dataDir }).listKeys(domain);
      // The validating resolver outbound DANE trusts: TLSA is checked as DANE senders will check it.
      const secure = config.outboundTls.daneResolver ? new DnssecResolver({ server: config.outboundTls.daneResolver, timeoutMs: config.dns.timeout }) : null;
      const result = await runDoctor({ domain, config, resolver: configuredResolver(config), dkimKeys: keys, ca, address: opts.address, secure,
        probes: opts.probe ? new ProbeDrop({ dataDir: config.dataDir }) : null, probeTimeoutMs: probeTimeout * 1000 });
      if (opts.json) println(deps.io.stdout, JSON.stringify(result, null, 2));
      else for (const line of formatReport(result)) println(deps.io.stdout, line);
      if (!result.ok) throw new UsageError(`${result.checks.filter((c) => c.status === 'fail').length} check(s) failed for ${domain}`, 1);
    });
}
