/**
 * `postamt tlsrpt report` and `postamt dmarc report`: the aggregate reports other servers sent to our report
 * addresses, read through the administration service (the same as the admin UI's Reports page) and printed.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { formatTable, println, withAdmin, type CliDeps } from './context.ts';

function requireAddress(address: string, key: string): void {
  if (!address) throw new UsageError(`no report address: pass --address or set ${key} in the config`);
}

export function registerReports(program: Command, deps: CliDeps): void {
  const tlsrpt = program.command('tlsrpt').description('TLS-RPT (RFC 8460) reports other servers sent us');
  tlsrpt.command('report').description('sum up the TLS reports in the report address\'s INBOX')
    .option('--address <email>', 'the account that receives the reports (default: reports.tlsrpt_address)')
    .option('--json', 'print JSON')
    .action(async (opts: { address?: string; json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const { address, reports, problems } = await admin.reports.tlsrpt(as, { address: opts.address });
        requireAddress(address, 'reports.tlsrpt_address');
        for (const p of problems) deps.io.stderr.write(`message ${p.uid}: ${p.file}: ${p.reason}\n`);
        if (opts.json) return println(deps.io.stdout, JSON.stringify(reports, null, 2));
        if (reports.length === 0) return println(deps.io.stdout, `no TLS reports in the INBOX of ${address}`);
        const rows = [['FROM', 'DAY', 'POLICY', 'DOMAIN', 'OK', 'FAILED', 'FAILURES']];
        for (const r of reports) {
          for (const p of r.policies) {
            rows.push([r.organization, r.start.slice(0, 10), p.type, p.domain, String(p.successful), String(p.failed), p.failures.map((f) => `${f.type} x${f.count}${f.mx ? ` (${f.mx}${f.ip ? ` ${f.ip}` : ''})` : ''}`).join('; ') || '-']);
          }
        }
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
        return undefined;
      });
    });

  const dmarc = program.command('dmarc').description('DMARC (RFC 7489) aggregate reports other servers sent us');
  dmarc.command('report').description('who sends mail in our domains\' names, and whether it passes DMARC')
    .option('--address <email>', 'the account that receives the reports (default: reports.dmarc_address)')
    .option('--json', 'print JSON')
    .action(async (opts: { address?: string; json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const { address, reports, problems } = await admin.reports.dmarc(as, { address: opts.address });
        requireAddress(address, 'reports.dmarc_address');
        for (const p of problems) deps.io.stderr.write(`message ${p.uid}: ${p.file}: ${p.reason}\n`);
        if (opts.json) return println(deps.io.stdout, JSON.stringify(reports, null, 2));
        if (reports.length === 0) return println(deps.io.stdout, `no DMARC reports in the INBOX of ${address}`);
        const rows = [['REPORTER', 'DAY', 'DOMAIN', 'SOURCE IP', 'COUNT', 'DISPOSITION', 'DKIM', 'SPF', 'DMARC']];
        for (const r of reports) {
          for (const rec of r.records) {
            // RFC 7489 §3: DMARC passes when either aligned mechanism passes.
            const pass = rec.dkim === 'pass' || rec.spf === 'pass';
            rows.push([r.organization, r.begin.slice(0, 10), rec.headerFrom || r.domain, rec.sourceIp, String(rec.count), rec.disposition, rec.dkim, rec.spf, pass ? 'pass' : 'fail']);
          }
        }
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
        return undefined;
      });
    });
}
