/**
 * The aggregate reports other servers sent to our report addresses (TLS-RPT, RFC 8460; DMARC, RFC 7489 §7.2),
 * read from that account's INBOX, unpacked and summed up for `postamt tlsrpt|dmarc report` and the admin UI.
 * A server admin sees every report; a domain admin only the parts about domains they manage.
 */
import type { AccountMail } from '../mail/access.ts';
import { reportFiles, type ReportFile } from '../reports/attachments.ts';
import { parseDmarcReport, type DmarcReportSummary } from '../reports/dmarc-format.ts';
import { summarizeTlsRptReport, type TlsRptSummary } from '../reports/tlsrpt-format.ts';
import type { Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';
import { requireAccount } from './validate.ts';

/** Opens an account's mail (the mail service; absent: reports cannot be read here). */
export interface ReportMailAccess {
  open(identity: { accountId: number }): Promise<Pick<AccountMail, 'findMailbox' | 'listMessages' | 'readMessage'>>;
}

export type ReceivedTlsReport = TlsRptSummary & { uid: number };
export type ReceivedDmarcReport = DmarcReportSummary & { uid: number };

export interface ReceivedReports<T> {
  /** The account whose INBOX was read ('' when none is configured). */
  address: string;
  reports: T[];
  /** Report files that could not be read, with the reason (for the operator, not fatal). */
  problems: { uid: number; file: string; reason: string }[];
}

export function reportService(ctx: AdminContext & { mail: ReportMailAccess | null }) {
  const { gate, settings } = ctx;

  async function files(address: string): Promise<{ uid: number; file: ReportFile }[]> {
    if (!ctx.mail) throw new AdminError('invalid', 'received reports can only be read where the mail store is open');
    const account = await requireAccount(ctx.store, address);
    const mail = await ctx.mail.open({ accountId: account.id });
    const inbox = await mail.findMailbox('INBOX');
    if (!inbox) return [];
    const out: { uid: number; file: ReportFile }[] = [];
    for (const m of await mail.listMessages(inbox.id)) {
      const raw = await mail.readMessage(inbox.id, m.uid);
      if (raw) for (const file of reportFiles(raw)) out.push({ uid: m.uid, file });
    }
    return out;
  }

  async function read<T>(principal: Principal, given: string | undefined, kind: 'tlsrpt' | 'dmarc', parse: (f: ReportFile) => T | null, visible: (r: T, may: (domain: string) => boolean) => T | null): Promise<ReceivedReports<T & { uid: number }>> {
    const actor = await gate.actor(principal);
    gate.requireAdmin(actor, `read the received ${kind} reports`);
    const configured = kind === 'tlsrpt' ? settings.reportAddresses?.tlsrpt : settings.reportAddresses?.dmarc;
    const address = given || configured || '';
    // Another account's INBOX: only a server admin names one; a domain admin reads the configured one, filtered.
    if (given && given !== configured) gate.requireServerAdmin(actor, `read the reports in ${given}`);
    if (!address) return { address: '', reports: [], problems: [] };
    const may = (domain: string) => actor.serverAdmin || gate.mayManageDomain(actor, domain.toLowerCase());
    const out: ReceivedReports<T & { uid: number }> = { address, reports: [], problems: [] };
    for (const { uid, file } of await files(address)) {
      try {
        const parsed = parse(file);
        const shown = parsed === null ? null : visible(parsed, may);
        if (shown) out.reports.push({ uid, ...shown });
      } catch (err) {
        out.problems.push({ uid, file: file.filename || 'attachment', reason: (err as Error).message });
      }
    }
    return out;
  }

  return {
    /** TLS-RPT reports about our domains: per reporter and policy, sessions that succeeded and failed, and why. */
    tlsrpt(principal: Principal, options: { address?: string } = {}): Promise<ReceivedReports<ReceivedTlsReport>> {
      return read(principal, options.address, 'tlsrpt',
        (f) => (/json/i.test(f.contentType + f.filename) || f.text.trimStart().startsWith('{') ? summarizeTlsRptReport(f.text) : null),
        (r, may) => {
          const policies = r.policies.filter((p) => may(p.domain));
          return policies.length ? { ...r, policies } : null;
        });
    },
    /** DMARC aggregate reports about our domains: who sends in their name and whether it passes. */
    dmarc(principal: Principal, options: { address?: string } = {}): Promise<ReceivedReports<ReceivedDmarcReport>> {
      return read(principal, options.address, 'dmarc',
        (f) => (f.text.includes('<feedback') ? parseDmarcReport(f.text) : null),
        (r, may) => (may(r.domain) ? r : null));
    },
  };
}
