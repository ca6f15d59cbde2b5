/**
 * Run-time changes to the inbound policy: the overrides a server admin saved (admin/policy.ts) are merged over
 * `[policy]` at start, and a later change is written into the option objects the running policy, its rate
 * limiter and its greylister hold, so the next connection, MAIL or RCPT sees it without a restart.
 */
import type { Config } from '../config/schema.ts';
import { inboundPolicyOptionsFromConfig, type ConfiguredInboundPolicyOptions } from '../policy/policy-config.ts';

/** Applies `policy` to `live` in place (keeping its local domains, which the change feed maintains). */
export function applyPolicyInPlace(live: ConfiguredInboundPolicyOptions, hostname: string, policy: Config['policy']): void {
  const fresh = inboundPolicyOptionsFromConfig({ hostname, policy }, live.ourNames);
  // The rate limiter and the greylister keep references to these two objects: change them, do not replace them.
  Object.assign(live.rateLimit, fresh.rateLimit);
  Object.assign(live.greylist, fresh.greylist);
  // The policy reads these through its options object at each decision.
  live.spam = fresh.spam;
  live.defaults = fresh.defaults;
  live.domains = fresh.domains;
}
