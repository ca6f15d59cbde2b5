/**
 * Maps the `[policy]` section of the configuration (src/config/schema.ts) onto `InboundPolicyOptions`.
 * Typed structurally so that policy/ does not import config/; keys the schema lacks keep their defaults.
 */
import { defaultInboundPolicyOptions, type InboundPolicyOptions } from './index.ts';

export interface PolicyConfigInput {
  spfRejectFail: boolean;
  dmarcEnforce: boolean;
  greylisting: boolean;
  dnsblZones: readonly string[];
  spamJunkScore: number;
  spamRejectScore: number;
}

/** Score a DNSBL hit adds when the config gives only zone names. */
export const DEFAULT_DNSBL_SCORE = 4;

export function inboundPolicyOptionsFromConfig(config: { hostname: string; policy: PolicyConfigInput }, localDomains: string[] = []): InboundPolicyOptions {
  const base = defaultInboundPolicyOptions(config.hostname);
  const p = config.policy;
  return {
    ...base,
    ourNames: localDomains,
    defaults: { ...base.defaults, rejectSpfFail: p.spfRejectFail, dmarcReject: p.dmarcEnforce, dmarcQuarantineToJunk: p.dmarcEnforce, greylist: p.greylisting },
    greylist: { ...base.greylist, enabled: p.greylisting },
    spam: {
      ...base.spam,
      junkThreshold: p.spamJunkScore,
      rejectThreshold: p.spamRejectScore,
      dnsbl: { enabled: p.dnsblZones.length > 0, zones: p.dnsblZones.map((zone) => ({ zone, score: DEFAULT_DNSBL_SCORE })) },
    },
  };
}
