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
import { DnssecResolver } from '../dns/secure-resolver.ts';
import { StsPolicyCache } from '../outbound-tls/mta-sts-cache.ts';
import { OutboundTlsPolicy } from '../outbound-tls/policy.ts';
import { trustAnchors } from '../outbound-tls/tls-check.ts';
import { TlsAttemptLog } from '../reports/tls-attempt-log.ts';

export function reportsDir(config: Config): string {
  return join(config.dataDir, 'reports');
}

export function createOutboundTls(config: Config, dns: Resolver, logger: Logger): { policy: OutboundTlsPolicy | null; attempts: TlsAttemptLog | null } {
  const o = config.outboundTls;
  const attempts = config.reports.tlsrpt ? new TlsAttemptLog({ dir: reportsDir(config), logger }) : null;
  if (!o.mtaSts && !o.daneResolver) return { policy: null, attempts };
  let extra: string | null = null;
  if (o.caFile) {
    try {
      extra = readFileSync(o.caFile, 'utf8');
    } catch (err) {
      throw new StartupError(`outbound_tls.ca_file = ${o.caFile}: cannot read it: ${(err as Error).message}`, err);
    }
  }
  const policy = new OutboundTlsPolicy({
    resolver: dns,
    secure: o.daneResolver ? new DnssecResolver({ server: o.daneResolver, timeoutMs: config.dns.timeout }) : null,
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
