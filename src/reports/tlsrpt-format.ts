/**
 * TLS-RPT (RFC 8460) formats without I/O: the `_smtp._tls` TXT record (§3), the aggregate report JSON built
 * from recorded TLS attempts (§4.4), and reading a report someone sent us into per-policy counts.
 */
import type { TlsAttempt } from '../outbound-tls/attempt.ts';

/** The rua URIs of the one `v=TLSRPTv1` record, or null (none, or more than one: RFC 8460 §3). */
export function parseTlsRptRecord(records: string[][]): string[] | null {
  const rpt = records.map((r) => r.join('')).filter((r) => /^v=TLSRPTv1\s*(;|$)/.test(r));
  if (rpt.length !== 1) return null;
  const rua = /(?:^|;)\s*rua=([^;]+)/.exec(rpt[0]!)?.[1];
  if (!rua) return null;
  return rua.split(',').map((u) => u.trim()).filter((u) => u.length > 0);
}

/** RFC 8460 §3: the mailto: URIs, as addresses (the https: ones are posted: httpsUris). */
export function mailtoAddresses(uris: string[]): string[] {
  return uris.filter((u) => /^mailto:/i.test(u)).map((u) => decodeURIComponent(u.slice(7).split('?')[0]!)).filter((a) => /^[^@\s]+@[^@\s]+$/.test(a));
}

/** RFC 8460 §3: the https: URIs, where the report is POSTed (§5.4). */
export function httpsUris(uris: string[]): string[] {
  return uris.filter((u) => /^https:\/\//i.test(u));
}

export interface TlsRptReport {
  'organization-name': string;
  'date-range': { 'start-datetime': string; 'end-datetime': string };
  'contact-info': string;
  'report-id': string;
  policies: TlsRptPolicy[];
}

export interface TlsRptPolicy {
  policy: { 'policy-type': string; 'policy-string'?: string[]; 'policy-domain': string; 'mx-host'?: string[] };
  summary: { 'total-successful-session-count': number; 'total-failure-session-count': number };
  'failure-details'?: {
    'result-type': string;
    'sending-mta-ip'?: string;
    'receiving-mx-hostname'?: string;
    'receiving-ip'?: string;
    'failed-session-count': number;
    'additional-information'?: string;
  }[];
}

/** RFC 8460 §4.4: one report per policy domain and UTC day; sessions grouped by policy, failures by kind. */
export function buildTlsRptReport(options: { domain: string; day: string; attempts: TlsAttempt[]; organization: string; contact: string; reportId: string; sendingIp?: string }): TlsRptReport {
  const groups = new Map<string, { attempts: TlsAttempt[] }>();
  for (const a of options.attempts) {
    if (a.policy.domain !== options.domain) continue;
    const key = JSON.stringify([a.policy.type, a.policy.strings, a.policy.mxHost ?? null]);
    const g = groups.get(key) ?? { attempts: [] };
    g.attempts.push(a);
    groups.set(key, g);
  }
  const policies: TlsRptPolicy[] = [];
  for (const { attempts } of groups.values()) {
    const p = attempts[0]!.policy;
    const failures = new Map<string, NonNullable<TlsRptPolicy['failure-details']>[number]>();
    let ok = 0;
    for (const a of attempts) {
      if (a.result === 'success') {
        ok++;
        continue;
      }
      const key = JSON.stringify([a.result, a.mx, a.ip]);
      const f = failures.get(key) ?? { 'result-type': a.result, ...(options.sendingIp ? { 'sending-mta-ip': options.sendingIp } : {}), 'receiving-mx-hostname': a.mx, ...(a.ip ? { 'receiving-ip': a.ip } : {}), 'failed-session-count': 0, ...(a.detail ? { 'additional-information': a.detail } : {}) };
      f['failed-session-count']++;
      failures.set(key, f);
    }
    const mxHosts = p.type === 'sts' ? p.strings.filter((s) => s.startsWith('mx:')).map((s) => s.slice(3).trim()) : p.mxHost ? [p.mxHost] : [];
    policies.push({
      policy: { 'policy-type': p.type, ...(p.strings.length ? { 'policy-string': p.strings } : {}), 'policy-domain': options.domain, ...(mxHosts.length ? { 'mx-host': mxHosts } : {}) },
      summary: { 'total-successful-session-count': ok, 'total-failure-session-count': attempts.length - ok },
      ...(failures.size ? { 'failure-details': [...failures.values()] } : {}),
    });
  }
  return {
    'organization-name': options.organization,
    'date-range': { 'start-datetime': `${options.day}T00:00:00Z`, 'end-datetime': `${options.day}T23:59:59Z` },
    'contact-info': options.contact,
    'report-id': options.reportId,
    policies,
  };
}

export interface TlsRptSummary {
  organization: string;
  reportId: string;
  start: string;
  end: string;
  policies: { type: string; domain: string; mx: string[]; successful: number; failed: number; failures: { type: string; mx: string; ip: string; count: number; info: string }[] }[];
}

/** Reads a report we received; throws with a reason when it is not RFC 8460 JSON. */
export function summarizeTlsRptReport(json: string): TlsRptSummary {
  const r = JSON.parse(json) as Partial<TlsRptReport>;
  if (!r || typeof r !== 'object' || !Array.isArray(r.policies) || !r['date-range']) throw new Error('not a TLS-RPT report (no policies or date-range)');
  const num = (v: unknown): number => (typeof v === 'number' && Number.isFinite(v) ? v : 0);
  const str = (v: unknown): string => (typeof v === 'string' ? v : '');
  return {
    organization: str(r['organization-name']),
    reportId: str(r['report-id']),
    start: str(r['date-range']['start-datetime']),
    end: str(r['date-range']['end-datetime']),
    policies: r.policies.map((p) => ({
      type: str(p?.policy?.['policy-type']),
      domain: str(p?.policy?.['policy-domain']),
      mx: Array.isArray(p?.policy?.['mx-host']) ? p.policy['mx-host'].map(str) : [],
      successful: num(p?.summary?.['total-successful-session-count']),
      failed: num(p?.summary?.['total-failure-session-count']),
      failures: (Array.isArray(p?.['failure-details']) ? p['failure-details'] : []).map((f) => ({
        type: str(f?.['result-type']), mx: str(f?.['receiving-mx-hostname']), ip: str(f?.['receiving-ip']), count: num(f?.['failed-session-count']), info: str(f?.['additional-information']),
      })),
    })),
  };
}
