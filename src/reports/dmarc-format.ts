/**
 * DMARC aggregate reports (RFC 7489 §7.2, Appendix C) without I/O: reading the XML others send us into
 * rows a person can read, writing ours from the day's recorded results, and the rua/§7.1 record parsing.
 */
import { XMLParser } from 'fast-xml-parser';

export interface DmarcRow {
  sourceIp: string;
  count: number;
  disposition: string;
  /** DMARC-aligned results (policy_evaluated). */
  dkim: string;
  spf: string;
  headerFrom: string;
  envelopeFrom: string;
  authDkim: { domain: string; selector: string; result: string }[];
  authSpf: { domain: string; result: string }[];
}

export interface DmarcReportSummary {
  organization: string;
  email: string;
  reportId: string;
  /** ISO times of date_range. */
  begin: string;
  end: string;
  domain: string;
  policy: string;
  records: DmarcRow[];
}

const asArray = <T>(v: T | T[] | undefined): T[] => (v === undefined || v === null ? [] : Array.isArray(v) ? v : [v]);
const text = (v: unknown): string => (v === undefined || v === null ? '' : typeof v === 'object' ? '' : String(v).trim());

/** Parses one aggregate report; throws with a reason when it is not one. */
export function parseDmarcReport(xml: string): DmarcReportSummary {
  // Entities are not expanded (no billion-laughs), attributes are not needed.
  const doc = new XMLParser({ ignoreAttributes: true, processEntities: false, parseTagValue: false }).parse(xml) as Record<string, unknown>;
  const fb = doc.feedback as Record<string, any> | undefined; // eslint-disable-line @typescript-eslint/no-explicit-any
  if (!fb || typeof fb !== 'object') throw new Error('not a DMARC aggregate report (no <feedback>)');
  const meta = fb.report_metadata ?? {};
  const range = meta.date_range ?? {};
  const iso = (v: unknown): string => {
    const n = Number(text(v));
    return Number.isFinite(n) && n > 0 ? new Date(n * 1000).toISOString() : '';
  };
  const pub = fb.policy_published ?? {};
  return {
    organization: text(meta.org_name),
    email: text(meta.email),
    reportId: text(meta.report_id),
    begin: iso(range.begin),
    end: iso(range.end),
    domain: text(pub.domain),
    policy: text(pub.p),
    records: asArray(fb.record).map((r: any) => { // eslint-disable-line @typescript-eslint/no-explicit-any
      const row = r?.row ?? {};
      const ev = row.policy_evaluated ?? {};
      const ids = r?.identifiers ?? {};
      const auth = r?.auth_results ?? {};
      return {
        sourceIp: text(row.source_ip),
        count: Number(text(row.count)) || 0,
        disposition: text(ev.disposition),
        dkim: text(ev.dkim),
        spf: text(ev.spf),
        headerFrom: text(ids.header_from),
        envelopeFrom: text(ids.envelope_from),
        authDkim: asArray(auth.dkim).map((d: any) => ({ domain: text(d?.domain), selector: text(d?.selector), result: text(d?.result) })), // eslint-disable-line @typescript-eslint/no-explicit-any
        authSpf: asArray(auth.spf).map((s: any) => ({ domain: text(s?.domain), result: text(s?.result) })), // eslint-disable-line @typescript-eslint/no-explicit-any
      };
    }),
  };
}

export interface DmarcRecord {
  p: string;
  sp: string | null;
  adkim: 'r' | 's';
  aspf: 'r' | 's';
  pct: number;
  rua: string[];
}

/** The one `v=DMARC1` record (RFC 7489 §6.6.3): tags, or null. */
export function parseDmarcRecord(records: string[][]): DmarcRecord | null {
  const list = records.map((r) => r.join('')).filter((r) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(r));
  if (list.length !== 1) return null;
  const tags = new Map<string, string>();
  for (const part of list[0]!.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0) tags.set(part.slice(0, eq).trim().toLowerCase(), part.slice(eq + 1).trim());
  }
  const p = (tags.get('p') ?? '').toLowerCase();
  return {
    p: ['none', 'quarantine', 'reject'].includes(p) ? p : 'none',
    sp: tags.get('sp')?.toLowerCase() ?? null,
    adkim: tags.get('adkim')?.toLowerCase() === 's' ? 's' : 'r',
    aspf: tags.get('aspf')?.toLowerCase() === 's' ? 's' : 'r',
    pct: Math.min(100, Math.max(0, Number(tags.get('pct') ?? 100) || 0)),
    rua: (tags.get('rua') ?? '').split(',').map((u) => u.trim()).filter((u) => u.length > 0),
  };
}

/**
 * RFC 7489 §7.1: a report for `domain` may go to an address in another organizational domain only when
 * `<domain>._report._dmarc.<target>` has a "v=DMARC1" TXT record.
 */
export function authorizesExternal(records: string[][]): boolean {
  return records.some((r) => /^v\s*=\s*DMARC1\s*(;|$)/i.test(r.join('')));
}

const escapeXml = (s: string): string => s.replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '\'': '&apos;', '"': '&quot;' })[c]!);

/** RFC 7489 Appendix C: the aggregate report for one domain and one day. */
export function buildDmarcReport(o: { organization: string; email: string; reportId: string; begin: number; end: number; domain: string; published: DmarcRecord; rows: DmarcRow[] }): string {
  const e = escapeXml;
  const rows = o.rows.map((r) => [
    '  <record>',
    `    <row><source_ip>${e(r.sourceIp)}</source_ip><count>${r.count}</count><policy_evaluated><disposition>${e(r.disposition)}</disposition><dkim>${e(r.dkim)}</dkim><spf>${e(r.spf)}</spf></policy_evaluated></row>`,
    `    <identifiers><header_from>${e(r.headerFrom)}</header_from>${r.envelopeFrom ? `<envelope_from>${e(r.envelopeFrom)}</envelope_from>` : ''}</identifiers>`,
    '    <auth_results>',
    ...r.authDkim.map((d) => `      <dkim><domain>${e(d.domain)}</domain>${d.selector ? `<selector>${e(d.selector)}</selector>` : ''}<result>${e(d.result)}</result></dkim>`),
    ...r.authSpf.map((s) => `      <spf><domain>${e(s.domain)}</domain><scope>mfrom</scope><result>${e(s.result)}</result></spf>`),
    '    </auth_results>',
    '  </record>',
  ].join('\n'));
  const p = o.published;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>',
    '<feedback>',
    '  <version>1.0</version>',
    `  <report_metadata><org_name>${e(o.organization)}</org_name><email>${e(o.email)}</email><report_id>${e(o.reportId)}</report_id><date_range><begin>${o.begin}</begin><end>${o.end}</end></date_range></report_metadata>`,
    `  <policy_published><domain>${e(o.domain)}</domain><adkim>${p.adkim}</adkim><aspf>${p.aspf}</aspf><p>${e(p.p)}</p><sp>${e(p.sp ?? p.p)}</sp><pct>${p.pct}</pct></policy_published>`,
    ...rows,
    '</feedback>',
    '',
  ].join('\n');
}
