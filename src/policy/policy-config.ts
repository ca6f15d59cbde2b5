/**
 * Maps the `[policy]` section of the configuration (src/config/schema.ts) onto `InboundPolicyOptions`, plus
 * the forwarding settings (SRS, ARC) that the delivery side needs. Typed structurally so that policy/ does
 * not import config/; keys left out (older callers, tests) keep the policy defaults.
 */
import { isIP } from 'node:net';
import { defaultInboundPolicyOptions, type DomainPolicy, type InboundPolicyOptions } from './index.ts';

export interface DomainPolicyConfigInput {
  spfRejectFail?: boolean;
  dmarcReject?: boolean;
  greylisting?: boolean;
  spamFilter?: boolean;
}

export interface PolicyConfigInput {
  spfRejectFail: boolean;
  dmarcEnforce: boolean;
  greylisting: boolean;
  dnsblZones: readonly string[];
  spamJunkScore: number;
  spamRejectScore: number;
  /** Score and record only (see SpamOptions.shadow). */
  spamShadow?: boolean;
  /** Durations in milliseconds, as the config loader gives them. */
  greylistDelay?: number;
  greylistRetryWindow?: number;
  /** IPs, CIDR blocks and domains. */
  greylistWhitelist?: readonly string[];
  dnsblScore?: number;
  dnswlZones?: readonly string[];
  dnsTimeout?: number;
  trustedNetworks?: readonly string[];
  /** Per minute. 0 is no limit. */
  rateConnectionsPerIp?: number;
  rateConnectionsPerNetwork?: number;
  /** Per hour. 0 is no limit. */
  rateMessagesPerIp?: number;
  rateMessagesPerNetwork?: number;
  fcrdns?: boolean;
  heloChecks?: boolean;
  /** "" means none configured (the server then uses its generated one, see app/services.ts). */
  srsSecret?: string;
  arcSeal?: boolean;
  domains?: Readonly<Record<string, Readonly<DomainPolicyConfigInput>>>;
}

/** Score a DNSBL hit adds when the config does not say. */
export const DEFAULT_DNSBL_SCORE = 4;
/** Score a DNSWL hit adds (the config has no key for it). */
export const DEFAULT_DNSWL_SCORE = -2;

/** What forwarding off-site (aliases to external addresses) should do: rewrite the sender, seal with ARC. */
export interface ForwardingPolicy {
  /** Secret for `new Srs({ secret, domain })`; null when SRS is off. */
  srsSecret: string | null;
  arcSeal: boolean;
}

export type ConfiguredInboundPolicyOptions = InboundPolicyOptions & { forwarding: ForwardingPolicy };

function domainOverride(d: Readonly<DomainPolicyConfigInput>): Partial<DomainPolicy> {
  const out: Partial<DomainPolicy> = {};
  if (d.spfRejectFail !== undefined) out.rejectSpfFail = d.spfRejectFail;
  if (d.dmarcReject !== undefined) out.dmarcReject = d.dmarcReject;
  if (d.greylisting !== undefined) out.greylist = d.greylisting;
  if (d.spamFilter !== undefined) out.spamFilter = d.spamFilter;
  return out;
}

const isAddressEntry = (entry: string): boolean => isIP(entry) !== 0 || entry.includes('/');

export function inboundPolicyOptionsFromConfig(config: { hostname: string; policy: PolicyConfigInput }, localDomains: string[] = []): ConfiguredInboundPolicyOptions {
  const base = defaultInboundPolicyOptions(config.hostname);
  const p = config.policy;
  const domains = Object.fromEntries(Object.entries(p.domains ?? {}).map(([domain, d]) => [domain.toLowerCase(), domainOverride(d)]));
  // The greylister itself must run when any recipient domain turns greylisting on.
  const greylistAnywhere = p.greylisting || Object.values(domains).some((d) => d.greylist === true);
  const whitelist = p.greylistWhitelist ?? [];
  const rate = base.rateLimit;
  const perMinute = (count: number | undefined, fallback: { count: number; perSeconds: number }) => (count === undefined ? fallback : { count, perSeconds: 60 });
  const perHour = (count: number | undefined, fallback: { count: number; perSeconds: number }) => (count === undefined ? fallback : { count, perSeconds: 3600 });
  const dnsblScore = p.dnsblScore ?? DEFAULT_DNSBL_SCORE;
  const dnswlZones = p.dnswlZones ?? [];
  return {
    ...base,
    ourNames: localDomains,
    trustedNetworks: p.trustedNetworks ? [...p.trustedNetworks] : base.trustedNetworks,
    defaults: { ...base.defaults, rejectSpfFail: p.spfRejectFail, dmarcReject: p.dmarcEnforce, dmarcQuarantineToJunk: p.dmarcEnforce, greylist: p.greylisting },
    domains,
    greylist: {
      ...base.greylist,
      enabled: greylistAnywhere,
      delaySeconds: p.greylistDelay === undefined ? base.greylist.delaySeconds : p.greylistDelay / 1000,
      retryWindowSeconds: p.greylistRetryWindow === undefined ? base.greylist.retryWindowSeconds : p.greylistRetryWindow / 1000,
      whitelistIps: whitelist.filter(isAddressEntry),
      whitelistDomains: whitelist.filter((e) => !isAddressEntry(e)).map((e) => e.toLowerCase()),
    },
    rateLimit: {
      ...rate,
      connectionsPerIp: perMinute(p.rateConnectionsPerIp, rate.connectionsPerIp),
      connectionsPerNetwork: perMinute(p.rateConnectionsPerNetwork, rate.connectionsPerNetwork),
      messagesPerIp: perHour(p.rateMessagesPerIp, rate.messagesPerIp),
      messagesPerNetwork: perHour(p.rateMessagesPerNetwork, rate.messagesPerNetwork),
    },
    spam: {
      ...base.spam,
      junkThreshold: p.spamJunkScore,
      rejectThreshold: p.spamRejectScore,
      ...(p.spamShadow ? { shadow: true } : {}),
      dnsTimeoutMs: p.dnsTimeout ?? base.spam.dnsTimeoutMs,
      dnsbl: { enabled: p.dnsblZones.length > 0, zones: p.dnsblZones.map((zone) => ({ zone, score: dnsblScore })) },
      dnswl: { enabled: dnswlZones.length > 0, zones: dnswlZones.map((zone) => ({ zone, score: DEFAULT_DNSWL_SCORE })) },
      fcrdns: { ...base.spam.fcrdns, enabled: p.fcrdns ?? base.spam.fcrdns.enabled },
      helo: { ...base.spam.helo, enabled: p.heloChecks ?? base.spam.helo.enabled },
    },
    forwarding: { srsSecret: p.srsSecret ? p.srsSecret : null, arcSeal: p.arcSeal ?? false },
  };
}
