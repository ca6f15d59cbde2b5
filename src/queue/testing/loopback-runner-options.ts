/**
 * QueueRunner options for tests that deliver to a loopback SMTP sink through a loopback DNS server: quick
 * retries, no destination backoff, no TLS. Tests add the store and logger and override what they exercise.
 */
import { NodeResolver } from '../../dns/node-resolver.ts';
import type { QueueRunnerOptions } from '../runner.ts';

export function loopbackRunnerOptions(dnsServer: string, sinkPort: number): Omit<QueueRunnerOptions, 'store' | 'logger'> {
  return {
    resolver: new NodeResolver({ servers: [dnsServer], timeoutMs: 500, tries: 1, cacheSize: 0 }),
    hostname: 'postamt.test',
    routing: { portOverride: sinkPort, ipv6: false },
    retry: { scheduleMs: [30], jitter: 0, maxAgeMs: 60_000, delayWarningMs: 0 },
    destinationBackoffMs: 0,
    mxTlsMode: 'none',
    connectTimeoutMs: 1000,
  };
}
