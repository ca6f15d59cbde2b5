/**
 * Wires the outbound TLS policies (MTA-STS, DANE) and the TLS-RPT attempt log from the configuration:
 * caches and logs under data_dir, trust anchors from the system plus `outbound_tls.ca_file`.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Config } from '../config/schema.ts';
import { StartupError } from '../core/errors.ts';
import type { Logger } from '../core/log.ts';
import type { Resolver } from '../dns/resolver.ts';
import { CachedSecureResolver } from '../dns/secure-cache.ts';
import { DnssecResolver } from '../dns/secure-resolver.ts';
import { StsPolicyCache } from '../outbound-tls/mta-sts-cache.ts';
import { OutboundTlsPolicy } from '../outbound-tls/policy.ts';
import { trustAnchors } from '../outbound-tls/tls-check.ts';
import { DailyReports, type DailyReporter } from '../reports/daily-reports.ts';
import { TlsAttemptLog } from '../reports/tls-attempt-log.ts';
import { DmarcResults } from '../reports/dmarc-results.ts';
import { DmarcReportSender } from '../reports/dmarc-sender.ts';
import { TlsRptSender, type ReportIdentity } from '../reports/tlsrpt-sender.ts';
import { dkimReportSigner } from '../reports/report-signer.ts';
import { HttpsReportOutbox } from '../reports/https-report-outbox.ts';
import { postReport } from '../reports/https-report-post.ts';
import type { DkimKey } from '../policy/types.ts';
import type { QueueStore } from '../store/types.ts';

export function reportsDir(config: Config): string {
  return join(config.dataDir, 'reports');
}

/** `outbound_tls.ca_file`, trusted beside the system roots for MTA-STS policies and https: TLS-RPT endpoints. */
export function extraCa(config: Config): string | null {
  const file = config.outboundTls.caFile;
  if (!file) return null;
  try {
    return readFileSync(file, 'utf8');
  } catch (err) {
    throw new StartupError(`outbound_tls.ca_file = ${file}: cannot read it: ${(err as Error).message}`, err);
  }
}

export function createOutboundTls(config: Config, dns: Resolver, logger: Logger): { policy: OutboundTlsPolicy | null; attempts: TlsAttemptLog | null } {
  const o = config.outboundTls;
  const attempts = config.reports.tlsrpt ? new TlsAttemptLog({ dir: reportsDir(config), logger }) : null;
  if (!o.mtaSts && !o.daneResolver) return { policy: null, attempts };
  const extra = extraCa(config);
  const policy = new OutboundTlsPolicy({
    resolver: dns,
    secure: o.daneResolver ? new CachedSecureResolver(new DnssecResolver({ server: o.daneResolver, timeoutMs: config.dns.timeout }), {
      maxTtlSeconds: o.daneCacheMaxTtl / 1000,
      negativeTtlSeconds: o.daneCacheNegativeTtl / 1000,
      maxEntries: o.daneCacheEntries,
    }) : null,
    mtaSts: o.mtaSts,
    cache: new StsPolicyCache({ dir: join(config.dataDir, 'mta-sts') }),
    fetchTimeoutMs: o.mtaStsFetchTimeout,
    policyPort: o.mtaStsPort,
    trust: trustAnchors(extra),
    logger,
    report: attempts,
  });
  return { policy, attempts };
}

export function reportIdentity(config: Config): ReportIdentity {
  return { organization: config.reports.organization || config.hostname, from: config.reports.from || `postmaster@${config.hostname}`, hostname: config.hostname };
}

/** The daily aggregate reports (TLS-RPT, DMARC) this server sends. */
export function createDailyReports(options: { config: Config; dns: Resolver; logger: Logger; store: Pick<QueueStore, 'enqueue'>; attempts: TlsAttemptLog | null; dkimKeys: { activeKeys(domain: string): Promise<DkimKey[]> }; onQueued: () => void }): { reports: DailyReports; tlsRpt: TlsRptSender | null; dmarcResults: DmarcResults | null; dmarcReports: DmarcReportSender | null } {
  const { config, dns, logger, store, attempts, onQueued } = options;
  const identity = reportIdentity(config);
  const signer = dkimReportSigner({ keys: options.dkimKeys, logger });
  const https = attempts ? new HttpsReportOutbox({
    dir: join(reportsDir(config), 'https-outbox'),
    logger,
    post: (url, body) => postReport(url, body, { resolver: dns, ca: trustAnchors(extraCa(config)).ca, timeoutMs: config.reports.httpsTimeout }),
    retryScheduleMs: [...config.queue.retrySchedule],
    maxAgeMs: config.queue.maxAge,
  }) : null;
  const tlsRpt = attempts ? new TlsRptSender({ attempts, resolver: dns, store, logger, identity, signer, https, onQueued }) : null;
  const dmarcResults = config.reports.dmarc ? new DmarcResults({ dir: reportsDir(config), logger }) : null;
  const dmarcReports = dmarcResults ? new DmarcReportSender({ results: dmarcResults, resolver: dns, store, logger, identity, signer, onQueued }) : null;
  const reporters: DailyReporter[] = [...(tlsRpt ? [tlsRpt] : []), ...(dmarcReports ? [dmarcReports] : [])];
  return { reports: new DailyReports({ reporters, logger }), tlsRpt, dmarcResults, dmarcReports };
}
