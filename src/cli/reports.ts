/**
 * `postamt tlsrpt report` and `postamt dmarc report`: the aggregate reports other servers sent to our report
 * addresses, read from that account's INBOX through the mail service, unpacked and summed up for people.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import type { Config } from '../config/schema.ts';
import { StoreMailAccess } from '../mail/service.ts';
import { requireAccount } from '../admin/validate.ts';
import { reportFiles, type ReportFile } from '../reports/attachments.ts';
import { summarizeTlsRptReport, type TlsRptSummary } from '../reports/tlsrpt-format.ts';
import { parseDmarcReport, type DmarcReportSummary } from '../reports/dmarc-format.ts';
import { formatTable, println, withStore, type CliDeps, type CliStore } from './context.ts';

/** Every report file in the INBOX of `address`, with the UID of the message it came in. */
async function receivedFiles(store: CliStore, config: Config, address: string): Promise<{ uid: number; file: ReportFile }[]> {
  const account = await requireAccount(store, address);
  const mail = await new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: config.storage.quotaDefault }).open({ accountId: account.id });
  const inbox = await mail.findMailbox('INBOX');
  if (!inbox) return [];
  const out: { uid: number; file: ReportFile }[] = [];
  for (const m of await mail.listMessages(inbox.id)) {
    const raw = await mail.readMessage(inbox.id, m.uid);
    if (!raw) continue;
    for (const file of reportFiles(raw)) out.push({ uid: m.uid, file });
  }
  return out;
}

function addressOf(given: string | undefined, configured: string, key: string): string {
  const address = given ?? configured;
  if (!address) throw new UsageError(`no report address: pass --address or set ${key} in the config`);
  return address;
}

export function registerReports(program: Command, deps: CliDeps): void {
  const tlsrpt = program.command('tlsrpt').description('TLS-RPT (RFC 8460) reports other servers sent us');
  tlsrpt.command('report').description('sum up the TLS reports in the report address\'s INBOX')
    .option('--address <email>', 'the account that receives the reports (default: reports.tlsrpt_address)')
    .option('--json', 'print JSON')
    .action(async (opts: { address?: string; json?: boolean }, cmd: Command) => {
      await withStore(cmd, deps, async (store, config) => {
        const address = addressOf(opts.address, config.reports.tlsrptAddress, 'reports.tlsrpt_address');
        const reports: (TlsRptSummary & { uid: number })[] = [];
        for (const { uid, file } of await receivedFiles(store, config, address)) {
          if (!/json/i.test(file.contentType + file.filename) && !file.text.trimStart().startsWith('{')) continue;
          try {
            reports.push({ uid, ...summarizeTlsRptReport(file.text) });
          } catch (err) {
            deps.io.stderr.write(`message ${uid}: ${file.filename || 'attachment'}: ${(err as Error).message}\n`);
          }
        }
        if (opts.json) return println(deps.io.stdout, JSON.stringify(reports, null, 2));
        if (reports.length === 0) return println(deps.io.stdout, `no TLS reports in the INBOX of ${address}`);
        const rows = [['FROM', 'DAY', 'POLICY', 'DOMAIN', 'OK', 'FAILED', 'FAILURES']];
        for (const r of reports) {
          for (const p of r.policies) {
            rows.push([r.organization, r.start.slice(0, 10), p.type, p.domain, String(p.successful), String(p.failed), p.failures.map((f) => `${f.type} x${f.count}${f.mx ? ` (${f.mx}${f.ip ? ` ${f.ip}` : ''})` : ''}`).join('; ') || '-']);
          }
        }
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
      });
    });

  const dmarc = program.command('dmarc').description('DMARC (RFC 7489) aggregate reports other servers sent us');
  dmarc.command('report').description('who sends mail in our domains\' names, and whether it passes DMARC')
    .option('--address <email>', 'the account that receives the reports (default: reports.dmarc_address)')
    .option('--json', 'print JSON')
    .action(async (opts: { address?: string; json?: boolean }, cmd: Command) => {
      await withStore(cmd, deps, async (store, config) => {
        const address = addressOf(opts.address, config.reports.dmarcAddress, 'reports.dmarc_address');
        const reports: (DmarcReportSummary & { uid: number })[] = [];
        for (const { uid, file } of await receivedFiles(store, config, address)) {
          if (!file.text.includes('<feedback')) continue;
          try {
            reports.push({ uid, ...parseDmarcReport(file.text) });
          } catch (err) {
            deps.io.stderr.write(`message ${uid}: ${file.filename || 'attachment'}: ${(err as Error).message}\n`);
          }
        }
        if (opts.json) return println(deps.io.stdout, JSON.stringify(reports, null, 2));
        if (reports.length === 0) return println(deps.io.stdout, `no DMARC reports in the INBOX of ${address}`);
        const rows = [['REPORTER', 'DAY', 'DOMAIN', 'SOURCE IP', 'COUNT', 'DISPOSITION', 'DKIM', 'SPF', 'DMARC']];
        for (const r of reports) {
          for (const rec of r.records) {
            const pass = rec.dkim === 'pass' || rec.spf === 'pass';
            rows.push([r.organization, r.begin.slice(0, 10), rec.headerFrom || r.domain, rec.sourceIp, String(rec.count), rec.disposition, rec.dkim, rec.spf, pass ? 'pass' : 'fail']);
          }
        }
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
      });
    });
}
