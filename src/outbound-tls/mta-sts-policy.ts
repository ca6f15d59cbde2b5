/**
 * MTA-STS (RFC 8461) text formats without I/O: the `_mta-sts` TXT record (§3.1), the policy file (§3.2)
 * and the match of an MX host against the policy's `mx` patterns (§4.1).
 */

export type StsMode = 'enforce' | 'testing' | 'none';

export interface StsPolicy {
  mode: StsMode;
  /** Seconds the policy may be cached (RFC 8461 §3.2: at most 31557600). */
  maxAge: number;
  mx: string[];
  /** The policy text as fetched, for TLS-RPT's policy-string (RFC 8460 §4.4). */
  text: string;
}

/** RFC 8461 §3.2: max_age is at most one year. */
export const STS_MAX_AGE_LIMIT = 31_557_600;

/**
 * The `id` of the one TXT record that starts with "v=STSv1", or null: none, or more than one (RFC 8461 §3.1:
 * "If multiple TXT records for _mta-sts are returned by the resolver, records that do not begin with v=STSv1;
 * are discarded. If the number of resulting records is not one, senders MUST assume the recipient domain does
 * not have an available MTA-STS Policy").
 */
export function parseStsRecord(records: string[][]): { id: string } | null {
  const sts = records.map((r) => r.join('')).filter((r) => /^v=STSv1\s*(;|$)/.test(r));
  if (sts.length !== 1) return null;
  const fields = new Map<string, string>();
  for (const part of sts[0]!.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const id = fields.get('id');
  // RFC 8461 §3.1: sts-id = 1*32(ALPHA / DIGIT).
  if (!id || !/^[A-Za-z0-9]{1,32}$/.test(id)) return null;
  return { id };
}

export type PolicyParse = { ok: true; policy: StsPolicy } | { ok: false; reason: string };

/** RFC 8461 §3.2: "key: value" lines (CRLF or LF), unknown keys ignored; version, mode and max_age required. */
export function parseStsPolicy(text: string): PolicyParse {
  const fields = new Map<string, string[]>();
  for (const line of text.split(/\r?\n/)) {
    if (line.trim() === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) return { ok: false, reason: `malformed line ${JSON.stringify(line.slice(0, 80))}` };
    const key = line.slice(0, colon).trim();
    const list = fields.get(key) ?? [];
    list.push(line.slice(colon + 1).trim());
    fields.set(key, list);
  }
  if (fields.get('version')?.[0] !== 'STSv1') return { ok: false, reason: 'version is not STSv1' };
  const mode = fields.get('mode')?.[0];
  if (mode !== 'enforce' && mode !== 'testing' && mode !== 'none') return { ok: false, reason: `bad mode ${JSON.stringify(mode ?? '')}` };
  const maxAgeText = fields.get('max_age')?.[0] ?? '';
  if (!/^\d{1,10}$/.test(maxAgeText)) return { ok: false, reason: 'missing or bad max_age' };
  const maxAge = Math.min(Number(maxAgeText), STS_MAX_AGE_LIMIT);
  const mx = (fields.get('mx') ?? []).map((m) => m.toLowerCase().replace(/\.$/, ''));
  // RFC 8461 §3.2: mx is required for enforce and testing; each is a host name, optionally "*." in front.
  if (mode !== 'none' && mx.length === 0) return { ok: false, reason: 'no mx patterns' };
  if (mx.some((m) => !/^(\*\.)?[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(m))) return { ok: false, reason: 'bad mx pattern' };
  return { ok: true, policy: { mode, maxAge, mx, text } };
}

/** RFC 8461 §4.1: exact match, or "*.example.com" matching exactly one more left-most label. */
export function mxMatchesPolicy(host: string, patterns: string[]): boolean {
  const h = host.toLowerCase().replace(/\.$/, '');
  return patterns.some((p) => {
    if (!p.startsWith('*.')) return p === h;
    const dot = h.indexOf('.');
    return dot > 0 && h.slice(dot + 1) === p.slice(2);
  });
}
