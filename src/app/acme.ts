/**
 * Wiring of ACME: the manager from `[acme]`, its challenge types limited to the listeners that can answer
 * them, and the certificates it keeps from the hostname, `[mta_sts_policy]` and the hosted domains.
 */
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import { StartupError, systemReason } from '../core/errors.ts';
import { AcmeManager, readCaFile, type ChallengeType } from '../acme/manager.ts';
import type { HttpChallenges } from '../acme/http-challenges.ts';
import { certificateGroups } from '../acme/names.ts';
import type { TlsProvider } from '../transport/tls.ts';
import type { OpenedStore } from '../store/open.ts';

/** The challenge types of `acme.challenges` that a configured listener can answer, in the configured order. */
export function usableChallenges(config: Config): ChallengeType[] {
  return config.acme.challenges.filter((t): t is ChallengeType => (t === 'http-01' && config.listen.http !== null) || (t === 'tls-alpn-01' && config.listen.https !== null));
}

export function createAcmeManager(options: { config: Config; store: OpenedStore; tls: TlsProvider; http: HttpChallenges; logger: Logger }): AcmeManager | null {
  const { config } = options;
  const a = config.acme;
  if (!a.enabled) return null;
  let caPem: string | null;
  try {
    caPem = readCaFile(a.caFile);
  } catch (err) {
    throw new StartupError(`acme.ca_file = ${a.caFile}: cannot read the file: ${systemReason(err)}`, err);
  }
  return new AcmeManager({
    settings: {
      directoryUrl: a.directoryUrl,
      contact: a.contact,
      termsAgreed: a.termsAgreed,
      keyType: a.keyType,
      challenges: usableChallenges(config),
      renewBeforeMs: a.renewBefore,
      retryMinMs: a.retryMin,
      retryMaxMs: a.retryMax,
      caPem,
    },
    dataDir: config.dataDir,
    tls: options.tls,
    http: options.http,
    groups: async () => certificateGroups({
      hostname: config.hostname,
      names: a.names,
      domainNames: a.domainNames,
      domains: (await options.store.listDomains()).map((d) => d.name),
      mtaSts: config.mtaStsPolicy.mode !== 'off',
      autoconfig: config.listen.https !== null,
    }),
    logger: options.logger,
  });
}
