/**
 * What the administration service is built from: the store, the DKIM key files, password hashing, the
 * settings it applies, and the gate that checks every call's principal.
 */
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import type { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import type { AccessTokens } from '../accounts/access-tokens.ts';
import type { ServicePorts } from '../policy/dns-records.ts';
import { mtaStsPolicyFromConfig, type OurMtaStsPolicy } from '../policy/mta-sts-policy.ts';
import type { PolicyResolver } from '../policy/types.ts';
import type { AccessTokenStore, AdminSettingsStore, SuppressionStore, TraceStore } from '../store/types.ts';
import type { AccountStore, MailStore, QueueStore } from '../store/types.ts';
import type { PasswordFunctions } from '../accounts/passwords.ts';
import type { Gate } from './access.ts';
import type { ServerFacts } from './dashboard.ts';
import type { ReportMailAccess } from './reports.ts';

export type { PasswordFunctions };

export type AdminStore = AccountStore & QueueStore & SuppressionStore & AdminSettingsStore & AccessTokenStore & Pick<TraceStore, 'searchTrace' | 'traceCounts' | 'appendTrace'> & Pick<MailStore, 'listMailboxes' | 'counts' | 'accountUsage'>;

export type DkimKeyFiles = Pick<FileDkimKeyStore, 'addKey' | 'listKeys' | 'activeKeys' | 'setActive'>;

export interface AdminSettings {
  hostname: string;
  /** config `postmaster` ('' when unset): alias checks resolve postmaster@ as delivery does. */
  postmaster: string;
  minPasswordLength: number;
  scramIterations: number;
  quotaDefault: number;
  /** The listener ports, published in SRV records. */
  ports: ServicePorts;
  /** Our MTA-STS policy, published as _mta-sts (null: none). */
  mtaSts: OurMtaStsPolicy | null;
  /** `[policy]` as the config file (and defaults) gave it; run-time overrides are kept in the store. */
  policy: Config['policy'];
  /** Where the data lives (its disk and size on the dashboard). */
  dataDir: string;
  /** `reports.tlsrpt_address` / `reports.dmarc_address`: the rua addresses we publish ('' : postmaster@<domain>). */
  reportAddresses?: { tlsrpt: string; dmarc: string };
  /** trace.enabled: what administrators do to queued messages is traced too. */
  traceEnabled: boolean;
}

/** The listener ports published in SRV records (RFC 6186 §3). */
export function servicePorts(config: Config): ServicePorts {
  const l = config.listen;
  const port = (hp: { port: number } | null) => (hp ? hp.port : null);
  return { submission: port(l.submission), submissions: port(l.submissions), imap: port(l.imap), imaps: port(l.imaps), pop3: port(l.pop3), pop3s: port(l.pop3s), https: port(l.https) };
}

export function adminSettings(config: Config): AdminSettings {
  return {
    ports: servicePorts(config),
    mtaSts: mtaStsPolicyFromConfig(config),
    policy: config.policy,
    dataDir: config.dataDir,
    reportAddresses: { tlsrpt: config.reports.tlsrptAddress, dmarc: config.reports.dmarcAddress },
    traceEnabled: config.trace.enabled,
    hostname: config.hostname,
    postmaster: config.postmaster,
    minPasswordLength: config.auth.minPasswordLength,
    scramIterations: config.auth.scramIterations,
    quotaDefault: config.storage.quotaDefault,
  };
}

export interface AdminDeps {
  store: AdminStore;
  dkimKeys: DkimKeyFiles;
  passwords: PasswordFunctions;
  settings: AdminSettings;
  logger?: Logger;
  now?: () => Date;
  /** For the live DNS check (absent: the check is refused). */
  resolver?: PolicyResolver;
  /** Admin API tokens and admin login sessions (only the server has them). */
  tokens?: AccessTokens;
  /** Applies `[policy]` values in the running server (absent in the CLI: a running server applies them at its next start). */
  applyPolicy?: (policy: Config['policy']) => void;
  /** What only the running server knows (certificates, activity) for the dashboard. */
  facts?: ServerFacts;
  /**
   * Wakes the running server's queue runner after a queue change made here (retry, release, a bounce's DSN);
   * absent in the CLI, whose writes reach the server through the store's change feed.
   */
  kickQueue?: () => void;
  /** The mail service, to read the reports that arrive in the report addresses' INBOX (absent: refused). */
  mail?: ReportMailAccess;
}

/** What each part of the service works with. */
export interface AdminContext {
  store: AdminStore;
  dkimKeys: DkimKeyFiles;
  passwords: PasswordFunctions;
  settings: AdminSettings;
  logger: Logger;
  now: () => Date;
  gate: Gate;
  resolver: PolicyResolver | null;
  tokens: AccessTokens | null;
  applyPolicy: ((policy: Config['policy']) => void) | null;
  kickQueue: () => void;
}

/** A new password given at once (web), or read only once the other checks passed (the CLI asks on the terminal). */
export type NewPassword = string | (() => Promise<string>);
