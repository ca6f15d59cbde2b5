/**
 * Our own MTA-STS policy (RFC 8461 §3.2) as served at https://mta-sts.<domain>/.well-known/mta-sts.txt, and the
 * id of its `_mta-sts` TXT record (§3.1), derived from the policy text so that it changes whenever the policy does.
 */
import { createHash } from 'node:crypto';
import type { Config } from '../config/schema.ts';

export type MtaStsMode = 'none' | 'testing' | 'enforce';

export interface MtaStsPolicyConfig {
  mode: MtaStsMode | 'off';
  maxAgeMs: number;
  /** MX patterns; empty: the hostname alone. */
  mx: readonly string[];
}

/** RFC 8461 §3.2: max_age is at most 31557600 seconds (about a year). */
export const MTA_STS_MAX_AGE_LIMIT = 31_557_600;

export const MTA_STS_PATH = '/.well-known/mta-sts.txt';

export interface OurMtaStsPolicy {
  text: string;
  id: string;
}

/** The policy text and its id; null when no policy is served (`mode = "off"`). */
export function ourMtaStsPolicy(config: MtaStsPolicyConfig, hostname: string): OurMtaStsPolicy | null {
  if (config.mode === 'off') return null;
  const mx = config.mx.length > 0 ? config.mx : [hostname];
  const maxAge = Math.min(MTA_STS_MAX_AGE_LIMIT, Math.max(0, Math.floor(config.maxAgeMs / 1000)));
  // RFC 8461 §3.2: "version: STSv1" first, key/value pairs separated by CRLF; one "mx" line per pattern.
  const lines = ['version: STSv1', `mode: ${config.mode}`, ...mx.map((m) => `mx: ${m.toLowerCase()}`), `max_age: ${maxAge}`];
  const text = lines.join('\r\n') + '\r\n';
  // RFC 8461 §3.1: id is 1-32 alphanumeric characters that change when the policy changes.
  const id = createHash('sha256').update(text).digest('hex').slice(0, 20);
  return { text, id };
}

/** The TXT record text of `_mta-sts.<domain>` (RFC 8461 §3.1). */
export function mtaStsRecordText(policy: OurMtaStsPolicy): string {
  return `v=STSv1; id=${policy.id}`;
}

/** The policy `[mta_sts_policy]` describes for this server. */
export function mtaStsPolicyFromConfig(config: Config): OurMtaStsPolicy | null {
  return ourMtaStsPolicy({ mode: config.mtaStsPolicy.mode, maxAgeMs: config.mtaStsPolicy.maxAge, mx: config.mtaStsPolicy.mx }, config.hostname);
}
