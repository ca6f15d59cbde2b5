/**
 * Sends the daily DMARC aggregate reports (RFC 7489 §7.2) for mail we received: per From domain whose
 * `_dmarc` record has mailto: rua addresses, gzip XML queued to each address that passes the §7.1 check.
 */
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../core/log.ts';
import { organizationalDomain } from '../policy/org-domain.ts';
import { DnsError, type Resolver } from '../dns/resolver.ts';
import type { QueueStore } from '../store/types.ts';
import type { DailyReporter } from './daily-reports.ts';
import { authorizesExternal, buildDmarcReport, parseDmarcRecord, type DmarcRecord } from './dmarc-format.ts';
import type { DmarcResultRow, DmarcResults } from './dmarc-results.ts';
import { queueReport } from './report-mail.ts';
import type { ReportSigner } from './report-signer.ts';
import { mailtoAddresses } from './tlsrpt-format.ts';
import type { ReportIdentity } from './tlsrpt-sender.ts';

export interface DmarcSenderOptions {
  results: DmarcResults;
  resolver: Resolver;
  store: Pick<QueueStore, 'enqueue'>;
  logger: Logger;
  identity: ReportIdentity;
  /** Signs each report with the reporting domain's DKIM key (RFC 8460 §5.3). */
  signer?: ReportSigner | null;
  /** Called after reports were queued (the queue runner looks for work at once). */
  onQueued?: () => void;
}

export class DmarcReportSender implements DailyReporter {
  readonly name = 'dmarc';
  readonly #o: DmarcSenderOptions;

  constructor(options: DmarcSenderOptions) {
    this.#o = options;
  }

  flush(): Promise<void> {
    return this.#o.results.flush();
  }

  async sendPending(today: string): Promise<void> {
    for (const day of await this.#o.results.pendingDays(today)) await this.sendDay(day);
  }

  async #txt(name: string): Promise<string[][]> {
    try {
      return await this.#o.resolver.txt(name);
    } catch (err) {
      if (err instanceof DnsError) return [];
      throw err;
    }
  }

  /**
   * RFC 7489 §6.6.3: the record of the From domain, else the one of its organizational domain (Public Suffix
   * List); the domain where it was found is the report's policy domain.
   */
  async #policyOf(domain: string): Promise<{ policyDomain: string; record: DmarcRecord } | null> {
    const own = parseDmarcRecord(await this.#txt(`_dmarc.${domain}`));
    if (own) return { policyDomain: domain, record: own };
    const org = organizationalDomain(domain);
    if (org === domain) return null;
    const inherited = parseDmarcRecord(await this.#txt(`_dmarc.${org}`));
    return inherited ? { policyDomain: org, record: inherited } : null;
  }

  async sendDay(day: string): Promise<string[]> {
    await this.#o.results.flush();
    const rows = await this.#o.results.read(day);
    const queued: string[] = [];
    const { identity } = this.#o;
    // One report per policy domain: mail from a.example.co.uk and b.example.co.uk under example.co.uk's record
    // is one report about example.co.uk's policy, its rows keeping their own header_from.
    const groups = new Map<string, { record: DmarcRecord; rows: DmarcResultRow[] }>();
    for (const fromDomain of [...new Set(rows.map((r) => r.domain))].sort()) {
      const policy = await this.#policyOf(fromDomain);
      if (!policy) continue;
      const group = groups.get(policy.policyDomain) ?? { record: policy.record, rows: [] };
      group.rows.push(...rows.filter((r) => r.domain === fromDomain));
      groups.set(policy.policyDomain, group);
    }
    for (const [domain, { record, rows: domainRows }] of groups) {
      const targets: string[] = [];
      for (const address of mailtoAddresses(record.rua)) {
        const target = address.slice(address.lastIndexOf('@') + 1).toLowerCase();
        // RFC 7489 §7.1: another organization receives reports only if it says so in DNS.
        if (organizationalDomain(target) !== organizationalDomain(domain) && !authorizesExternal(await this.#txt(`${domain}._report._dmarc.${target}`))) {
          this.#o.logger.warn({ event: 'dmarc.report_refused', domain, to: address, reason: `${domain}._report._dmarc.${target} does not authorize it` }, 'DMARC report address not authorized (RFC 7489 §7.1)');
          continue;
        }
        targets.push(address);
      }
      if (targets.length === 0) continue;
      const begin = Date.parse(`${day}T00:00:00Z`) / 1000;
      const reportId = `${day}.${randomBytes(6).toString('hex')}`;
      const xml = buildDmarcReport({ organization: identity.organization, email: identity.from, reportId, begin, end: begin + 86_399, domain, published: record, rows: domainRows });
      for (const to of targets) {
        const id = await queueReport({ store: this.#o.store, signer: this.#o.signer ?? null }, {
          from: identity.from,
          to,
          // RFC 7489 §7.2.1.1: the subject, and the file name receiver!policy-domain!begin!end.xml.gz.
          subject: `Report Domain: ${domain} Submitter: ${identity.organization} Report-ID: <${reportId}>`,
          text: `This is a DMARC aggregate report (RFC 7489) from ${identity.organization} for ${domain}, ${day}.\r\n`,
          reportType: null,
          headers: [],
          attachment: { contentType: 'application/gzip', filename: `${identity.hostname}!${domain}!${begin}!${begin + 86_399}.xml.gz`, data: gzipSync(xml) },
          now: new Date(),
        }, 'dmarc-report');
        queued.push(id);
        this.#o.logger.info({ event: 'dmarc.report_sent', domain, day, to, queueId: id }, 'DMARC aggregate report queued');
      }
    }
    await this.#o.results.markReported(day).catch(() => undefined);
    if (queued.length > 0) this.#o.onQueued?.();
    return queued;
  }
}
