/**
 * Sends yesterday's (and any older unsent day's) TLS-RPT aggregate reports: per recipient domain that
 * publishes `_smtp._tls` with a rua, one gzip JSON report (RFC 8460 §4, §5), queued like any mail for each
 * mailto: address and posted (with retries) to each https: URL.
 */
import { TLSRPT_ORIGIN } from '../queue/tls-report-origin.ts';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import type { Logger } from '../core/log.ts';
import { DnsError, type Resolver } from '../dns/resolver.ts';
import type { QueueStore } from '../store/types.ts';
import { queueReport } from './report-mail.ts';
import type { ReportSigner } from './report-signer.ts';
import type { DailyReporter } from './daily-reports.ts';
import type { TlsAttemptLog } from './tls-attempt-log.ts';
import { buildTlsRptReport, httpsUris, mailtoAddresses, parseTlsRptRecord } from './tlsrpt-format.ts';
import type { HttpsReportOutbox } from './https-report-outbox.ts';

export interface ReportIdentity {
  /** Our name in reports and the From address. */
  organization: string;
  from: string;
  hostname: string;
}

export interface TlsRptSenderOptions {
  attempts: TlsAttemptLog;
  resolver: Resolver;
  store: Pick<QueueStore, 'enqueue'>;
  logger: Logger;
  identity: ReportIdentity;
  /** Signs each report with the reporting domain's DKIM key (RFC 8460 §5.3). */
  signer?: ReportSigner | null;
  /** Called after reports were queued (the queue runner looks for work at once). */
  onQueued?: () => void;
  /** Where reports for https: rua URLs wait until posted (absent: those URLs are not used). */
  https?: HttpsReportOutbox | null;
}

export class TlsRptSender implements DailyReporter {
  readonly name = 'tlsrpt';
  readonly #o: TlsRptSenderOptions;

  constructor(options: TlsRptSenderOptions) {
    this.#o = options;
  }

  flush(): Promise<void> {
    return this.#o.attempts.flush();
  }

  get httpsOutbox(): HttpsReportOutbox | null {
    return this.#o.https ?? null;
  }

  start(): void {
    this.#o.https?.start();
  }

  async stop(): Promise<void> {
    await this.#o.https?.stop();
  }

  /** Every day before `today` not yet reported. */
  async sendPending(today: string): Promise<void> {
    for (const day of await this.#o.attempts.pendingDays(today)) await this.sendDay(day);
  }

  /** Sends the reports of one UTC day and marks it reported; returns the queue ids of the mailed ones. */
  async sendDay(day: string): Promise<string[]> {
    await this.#o.attempts.flush();
    const attempts = await this.#o.attempts.read(day);
    const domains = [...new Set(attempts.map((a) => a.policy.domain))].sort();
    const queued: string[] = [];
    for (const domain of domains) {
      let rua: string[] | null;
      try {
        rua = parseTlsRptRecord(await this.#o.resolver.txt(`_smtp._tls.${domain}`));
      } catch (err) {
        if (!(err instanceof DnsError)) throw err;
        rua = null;
      }
      const to = mailtoAddresses(rua ?? []);
      const urls = this.#o.https ? httpsUris(rua ?? []) : [];
      if (to.length === 0 && urls.length === 0) continue; // the domain asks for no reports
      const { identity } = this.#o;
      const reportId = `${day}.${randomBytes(6).toString('hex')}@${identity.hostname}`;
      const report = buildTlsRptReport({ domain, day, attempts, organization: identity.organization, contact: identity.from, reportId });
      const begin = Date.parse(`${day}T00:00:00Z`) / 1000;
      // RFC 8460 §5.1: sender!policy-domain!begin-timestamp!end-timestamp[!unique-id].json.gz
      const filename = `${identity.hostname}!${domain}!${begin}!${begin + 86_399}.json.gz`;
      for (const address of to) {
        const id = await queueReport({ store: this.#o.store, signer: this.#o.signer ?? null }, {
          from: identity.from,
          to: address,
          // RFC 8460 §5.3: the subject and the two TLS-Report fields.
          subject: `Report Domain: ${domain} Submitter: ${identity.organization} Report-ID: <${reportId}>`,
          text: `This is an aggregate TLS report (RFC 8460) from ${identity.organization} for ${domain}, ${day}.\r\n`,
          reportType: 'tlsrpt',
          headers: [['TLS-Report-Domain', domain], ['TLS-Report-Submitter', identity.organization]],
          attachment: { contentType: 'application/tlsrpt+gzip', filename, data: gzipSync(JSON.stringify(report)) },
          now: new Date(),
        }, TLSRPT_ORIGIN);
        queued.push(id);
        this.#o.logger.info({ event: 'tlsrpt.sent', domain, day, to: address, queueId: id, policies: report.policies.length }, 'TLS-RPT report queued');
      }
      const gzip = urls.length ? gzipSync(JSON.stringify(report)) : null;
      for (const url of urls) {
        // RFC 8460 §5.4: the same report, POSTed; kept and retried until the endpoint answers 2xx.
        await this.#o.https!.add({ url, domain, reportId, body: gzip! });
      }
    }
    await this.#o.attempts.markReported(day).catch(() => undefined);
    if (queued.length > 0) this.#o.onQueued?.();
    return queued;
  }
}
