/**
 * The DNS records a mail domain should publish for what Postamt serves (the mail host's A/AAAA, MX, SPF,
 * DKIM, DMARC, TLS-RPT, RFC 6186 SRV) and the PTR to ask the hosting provider for; and the check of what is
 * actually published; with the https listener on, the names mail clients try for autoconfiguration too.
 */
import { isIPv6 } from 'node:net';
import { spf as mailauthSpf } from 'mailauth';
import { dkimRecordText, formatTxt } from './dkim-sign.ts';
import { mtaStsRecordText, type OurMtaStsPolicy } from './mta-sts-policy.ts';
import { ptrName, sameIp } from './ip-prefix.ts';
import { organizationalDomain } from './org-domain.ts';
import { isNxError, type DkimKey, type PolicyResolver } from './types.ts';

export type RecordType = 'MX' | 'TXT' | 'SRV' | 'CNAME' | 'PTR' | 'A' | 'AAAA';

export interface ExpectedRecord {
  name: string;
  type: RecordType;
  /** Zone-file RDATA: "10 mx.example.org.", a quoted TXT, "0 1 587 mx.example.org." ... */
  value: string;
  purpose: string;
  /** Required records make `dns check` fail when missing; optional ones are advice. */
  required: boolean;
  /** For TXT: the unquoted text; for PTR: the address. */
  text?: string;
  srv?: { port: number; target: string };
}

/** Listener ports as published in SRV records (RFC 6186 §3); null: service not offered (target "."). */
export interface ServicePorts {
  submission: number | null;
  submissions: number | null;
  imap: number | null;
  imaps: number | null;
  pop3: number | null;
  pop3s: number | null;
  /** The https listener, where clients fetch their autoconfiguration; absent or null: none is published. */
  https?: number | null;
}

export const STANDARD_PORTS: ServicePorts = { submission: 587, submissions: 465, imap: 143, imaps: 993, pop3: 110, pop3s: 995, https: 443 };

export interface ExpectedRecordsInput {
  domain: string;
  /** The server's host name: the MX target and the SRV target. */
  hostname: string;
  dkimKeys: DkimKey[];
  /** Public addresses of `hostname`, for the PTR advice; may be empty. */
  serverIps?: string[];
  ports?: ServicePorts;
  /** Also the A/AAAA records of the mail host for `serverIps` (when the operator gave them). */
  addressRecords?: boolean;
  /** Our MTA-STS policy when one is served: its `_mta-sts` record and the policy host name. */
  mtaSts?: OurMtaStsPolicy | null;
  /** Where reports about the domain go (the rua of `_smtp._tls` and `_dmarc`); '' or absent: postmaster@<domain>. */
  reportAddresses?: { tlsrpt?: string; dmarc?: string };
}

const fqdn = (name: string) => name.replace(/\.$/, '') + '.';

export function spfRecordText(): string {
  return 'v=spf1 mx -all';
}

export function dmarcRecordText(domain: string, rua = `postmaster@${domain}`): string {
  return `v=DMARC1; p=quarantine; rua=mailto:${rua}`;
}

/** RFC 8460 §3: the TLS-RPT record; reports arrive by mail at `rua`. */
export function tlsRptRecordText(rua: string): string {
  return `v=TLSRPTv1; rua=mailto:${rua}`;
}

export function expectedRecords(input: ExpectedRecordsInput): ExpectedRecord[] {
  const d = input.domain.toLowerCase().replace(/\.$/, '');
  const host = input.hostname.toLowerCase().replace(/\.$/, '');
  const txt = (name: string, text: string, purpose: string, required: boolean): ExpectedRecord => ({ name, type: 'TXT', value: formatTxt(text), text, purpose, required });
  const out: ExpectedRecord[] = [];
  if (input.addressRecords) {
    for (const ip of input.serverIps ?? []) {
      out.push({ name: host, type: isIPv6(ip) ? 'AAAA' : 'A', value: ip, purpose: 'the address of the mail host (the MX target; RFC 5321 §5.1)', required: true });
    }
  }
  out.push(
    { name: d, type: 'MX', value: `10 ${fqdn(host)}`, purpose: 'mail for the domain goes to this server (RFC 5321 §5.1)', required: true },
    txt(d, spfRecordText(), 'SPF: only the MX hosts send for the domain (RFC 7208)', true),
  );
  for (const key of input.dkimKeys) {
    const state = !key.active ? ' (retired, keep until old mail is verified)' : key.pending ? ' (pending: signing starts once this record is published)' : '';
    out.push(txt(`${key.selector}._domainkey.${d}`, dkimRecordText(key), `DKIM ${key.algorithm} key${state} (RFC ${key.algorithm === 'ed25519' ? '8463' : '6376 §3.6.2'})`, key.active));
  }
  const dmarcRua = input.reportAddresses?.dmarc || `postmaster@${d}`;
  out.push(txt(`_dmarc.${d}`, dmarcRecordText(d, dmarcRua), 'DMARC policy and aggregate reports (RFC 7489 §6.1)', true));
  const ruaDomain = dmarcRua.slice(dmarcRua.lastIndexOf('@') + 1).toLowerCase();
  if (organizationalDomain(ruaDomain) !== organizationalDomain(d)) {
    // RFC 7489 §7.1: reporters send to another organization's address only when that domain agrees in DNS.
    out.push(txt(`${d}._report._dmarc.${ruaDomain}`, 'v=DMARC1', `DMARC: ${ruaDomain} agrees to receive ${d}'s reports (RFC 7489 §7.1)`, false));
  }
  if (input.mtaSts) {
    // RFC 8461 §3.1: the TXT record announces the policy, its id tells senders when to fetch it again; §3.3: the
    // policy is fetched from https://mta-sts.<domain>/, which must reach this server (the https listener).
    out.push(txt(`_mta-sts.${d}`, mtaStsRecordText(input.mtaSts), 'MTA-STS: senders deliver only over verified TLS (RFC 8461 §3.1)', true));
    out.push({ name: `mta-sts.${d}`, type: 'CNAME', value: fqdn(host), purpose: 'MTA-STS: the policy host, served by the https listener (RFC 8461 §3.3)', required: true });
  }
  out.push(txt(`_smtp._tls.${d}`, tlsRptRecordText(input.reportAddresses?.tlsrpt || `postmaster@${d}`), 'TLS reporting (RFC 8460 §3)', false));
  const ports = input.ports ?? STANDARD_PORTS;
  const services: [keyof ServicePorts, string][] = [
    ['submission', '_submission._tcp'], ['submissions', '_submissions._tcp'], ['imap', '_imap._tcp'],
    ['imaps', '_imaps._tcp'], ['pop3', '_pop3._tcp'], ['pop3s', '_pop3s._tcp'],
  ];
  for (const [service, label] of services) {
    const port = ports[service];
    // RFC 6186 §4: a service that is not offered is published with target "." (and port 0).
    const srv = port ? { port, target: host } : { port: 0, target: '' };
    out.push({ name: `${label}.${d}`, type: 'SRV', value: port ? `0 1 ${port} ${fqdn(host)}` : '0 0 0 .', srv, purpose: `${service} for mail clients (RFC 6186${service.endsWith('s') && service !== 'pop3s' && service !== 'imaps' ? ', RFC 8314' : ''})`, required: false });
  }
  if (ports.https) {
    // Thunderbird asks autoconfig.<domain>, Outlook autodiscover.<domain> (or the SRV record below) over https.
    out.push({ name: `autoconfig.${d}`, type: 'CNAME', value: fqdn(host), purpose: 'Thunderbird and other clients fetch their settings here (autoconfig)', required: false });
    out.push({ name: `autodiscover.${d}`, type: 'CNAME', value: fqdn(host), purpose: 'Outlook fetches its settings here (autodiscover)', required: false });
    out.push({ name: `_autodiscover._tcp.${d}`, type: 'SRV', value: `0 1 ${ports.https} ${fqdn(host)}`, srv: { port: ports.https, target: host }, purpose: 'Outlook fetches its settings here (autodiscover)', required: false });
  }
  for (const ip of input.serverIps ?? []) {
    out.push({ name: ptrName(ip) ?? ip, type: 'PTR', value: fqdn(host), text: ip, purpose: `reverse DNS of ${ip}: ask the provider of the address`, required: true });
  }
  return out;
}

/** Zone-file lines, with the PTR records as advice at the end. */
export function formatZone(records: ExpectedRecord[]): string {
  const width = Math.max(...records.map((r) => fqdn(r.name).length), 20);
  const lines: string[] = [];
  let lastPurpose = '';
  for (const r of records.filter((x) => x.type !== 'PTR')) {
    if (r.purpose !== lastPurpose) lines.push(`; ${r.purpose}${r.required ? '' : ' [optional]'}`);
    lastPurpose = r.purpose;
    lines.push(`${fqdn(r.name).padEnd(width)}  IN  ${r.type.padEnd(5)}  ${r.value}`);
  }
  const ptrs = records.filter((x) => x.type === 'PTR');
  if (ptrs.length) {
    lines.push('', '; Reverse DNS: ask the provider of each address to set its PTR (FCrDNS, RFC 8601 §2.7.3 "iprev"):');
    for (const r of ptrs) lines.push(`;   ${r.text} -> ${r.value}    (${fqdn(r.name)} IN PTR ${r.value})`);
  } else {
    lines.push('', '; Reverse DNS: ask the provider of the server\'s address(es) to set the PTR to the MX host name.');
  }
  return lines.join('\n') + '\n';
}

export type CheckStatus = 'ok' | 'missing' | 'wrong';

export interface RecordCheck {
  record: ExpectedRecord;
  status: CheckStatus;
  /** What was found, when it differs. */
  found?: string;
}

async function lookup(resolver: PolicyResolver, name: string, type: string): Promise<unknown[] | null> {
  try {
    const r = await resolver.resolve(name, type);
    return Array.isArray(r) && r.length > 0 ? r : null;
  } catch (err) {
    if (isNxError(err)) return null;
    throw err;
  }
}

const strip = (s: string) => s.toLowerCase().replace(/\.$/, '');

/** Queries every expected record through `resolver` (in parallel) and says which are ok, missing or wrong. */
export async function checkRecords(records: ExpectedRecord[], options: { resolver: PolicyResolver; hostname: string; serverIps: string[] }): Promise<RecordCheck[]> {
  const { resolver } = options;
  const host = strip(options.hostname);
  return Promise.all(
    records.map(async (record): Promise<RecordCheck> => {
      try {
        return { record, ...(await checkOne(record)) };
      } catch (err) {
        return { record, status: 'missing', found: `lookup failed: ${(err as Error).message}` };
      }
    }),
  );

  async function checkOne(record: ExpectedRecord): Promise<{ status: CheckStatus; found?: string }> {
    switch (record.type) {
      case 'MX': {
        const mx = (await lookup(resolver, record.name, 'MX')) as { exchange: string; priority: number }[] | null;
        if (!mx) return { status: 'missing' };
        return mx.some((m) => strip(m.exchange) === host) ? { status: 'ok' } : { status: 'wrong', found: mx.map((m) => `${m.priority} ${m.exchange}`).join(', ') };
      }
      case 'TXT': {
        const rows = ((await lookup(resolver, record.name, 'TXT')) as string[][] | null)?.map((r) => r.join('')) ?? [];
        const tag = /^v=[A-Za-z0-9]+/.exec(record.text ?? '')?.[0] ?? '';
        const mine = rows.filter((r) => r.toLowerCase().startsWith(tag.toLowerCase()));
        if (mine.length === 0) return { status: 'missing' };
        // RFC 7208 §4.5 / RFC 7489 §6.6.3: more than one record of the kind is an error.
        if (mine.length > 1) return { status: 'wrong', found: `${mine.length} records: ${mine.join(' | ')}` };
        return { status: txtMatches(record, mine[0]!) ? 'ok' : 'wrong', found: mine[0] };
      }
      case 'SRV': {
        const srv = (await lookup(resolver, record.name, 'SRV')) as { port: number; name: string }[] | null;
        if (!srv) return { status: 'missing' };
        const want = record.srv!;
        return srv.some((s) => s.port === want.port && strip(s.name) === want.target) ? { status: 'ok' } : { status: 'wrong', found: srv.map((s) => `${s.port} ${s.name}`).join(', ') };
      }
      case 'CNAME': {
        const cname = (await lookup(resolver, record.name, 'CNAME')) as string[] | null;
        if (cname) return cname.some((c) => strip(c) === host) ? { status: 'ok' } : { status: 'wrong', found: cname.join(', ') };
        // An A record with the server's address does the same job.
        const a = (await lookup(resolver, record.name, 'A')) as string[] | null;
        if (!a) return { status: 'missing' };
        return a.some((ip) => options.serverIps.some((s) => sameIp(ip, s))) ? { status: 'ok' } : { status: 'wrong', found: a.join(', ') };
      }
      case 'A':
      case 'AAAA': {
        const found = (await lookup(resolver, record.name, record.type)) as string[] | null;
        if (!found) return { status: 'missing' };
        return found.some((ip) => sameIp(ip, record.value)) ? { status: 'ok' } : { status: 'wrong', found: found.join(', ') };
      }
      case 'PTR': {
        const names = (await lookup(resolver, record.name, 'PTR')) as string[] | null;
        if (!names) return { status: 'missing' };
        return names.some((n) => strip(n) === host) ? { status: 'ok' } : { status: 'wrong', found: names.join(', ') };
      }
      default:
        return { status: 'missing' };
    }
  }

  function txtMatches(record: ExpectedRecord, found: string): boolean {
    const want = record.text ?? '';
    if (want.startsWith('v=DKIM1')) return tagValue(found, 'p') === tagValue(want, 'p');
    if (want === 'v=DMARC1') return true; // the §7.1 authorization record: its presence is all that counts
    if (want.startsWith('v=DMARC1')) return /^v=DMARC1\s*;\s*p=(none|quarantine|reject)\b/i.test(found);
    // A stale id makes senders keep the policy they cached: the published id must be ours.
    if (want.startsWith('v=STSv1')) return tagValue(found, 'id') === tagValue(want, 'id');
    if (want.startsWith('v=TLSRPTv1')) return /\brua=/.test(found);
    return true; // SPF is judged by evaluating it (spfAllowsServer), not by its text.
  }
}

function tagValue(record: string, tag: string): string | null {
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === tag) return part.slice(eq + 1).replace(/\s+/g, '');
  }
  return null;
}

/** Does the published SPF record let the server's addresses send for the domain? */
export async function spfAllowsServer(options: { domain: string; serverIps: string[]; hostname: string; resolver: PolicyResolver }): Promise<{ ip: string; result: string }[]> {
  const fn = ((n: string, t: string) => options.resolver.resolve(n, t)) as unknown as (n: string, t: string) => Promise<string[]>;
  return Promise.all(
    options.serverIps.map(async (ip) => {
      const r = await mailauthSpf({ ip, sender: `postmaster@${options.domain}`, helo: options.hostname, mta: options.hostname, resolver: fn });
      return { ip, result: String(r.status.result) };
    }),
  );
}

/** The server's public addresses, from its host name's A and AAAA records. */
export async function serverAddresses(resolver: PolicyResolver, hostname: string): Promise<string[]> {
  const [a, aaaa] = await Promise.all([lookup(resolver, hostname, 'A').catch(() => null), lookup(resolver, hostname, 'AAAA').catch(() => null)]);
  return [...((a as string[] | null) ?? []), ...((aaaa as string[] | null) ?? [])];
}
