/**
 * The reports other servers sent us: TLS-RPT (how their TLS sessions to our MX went, RFC 8460) and DMARC
 * aggregate reports (who sends mail in our domains' names and whether it passes, RFC 7489 §7.2).
 */
import { h } from 'preact';
import { api } from './api.ts';
import { table, useLoad, type El } from './ui.ts';

interface Received<T> { address: string; reports: T[]; problems: { uid: number; file: string; reason: string }[] }
interface TlsReport {
  organization: string; reportId: string; start: string;
  policies: { type: string; domain: string; successful: number; failed: number; failures: { type: string; mx: string; ip: string; count: number }[] }[];
}
interface DmarcReport {
  organization: string; reportId: string; begin: string; domain: string; policy: string;
  records: { sourceIp: string; count: number; disposition: string; dkim: string; spf: string; headerFrom: string }[];
}

const day = (iso: string) => iso.slice(0, 10);

function problems(list: Received<unknown>['problems']): El | null {
  return list.length ? h('p', { class: 'muted' }, `${list.length} attachment(s) could not be read: ${list.map((p) => `message ${p.uid} ${p.file}: ${p.reason}`).join('; ')}`) : null;
}

function unset(key: string): El {
  return h('p', { class: 'muted' }, `No report address is configured: set ${key} in the config to the account that receives them (postamt dns prints the record that names it).`);
}

export function ReportsPage(): El {
  const tls = useLoad(() => api<Received<TlsReport>>('GET', '/reports/tlsrpt'));
  const dmarc = useLoad(() => api<Received<DmarcReport>>('GET', '/reports/dmarc'));
  return h('div', null,
    h('h2', null, 'Reports'),
    h('section', { 'aria-labelledby': 'dmarc-reports' },
      h('h3', { id: 'dmarc-reports' }, 'DMARC: who sends mail in our name'),
      dmarc.error ? h('p', { class: 'error', role: 'alert' }, dmarc.error) : !dmarc.data ? h('p', { class: 'muted' }, 'Loading…') : !dmarc.data.address ? unset('reports.dmarc_address') : h('div', null,
        h('p', { class: 'muted' }, `From the INBOX of ${dmarc.data.address}. A source that fails and is yours needs SPF or DKIM; one that is not yours is forging the domain.`),
        table(['Reporter', 'Day', 'Domain', 'Source IP', 'Messages', 'Disposition', 'DKIM', 'SPF', 'DMARC'], dmarc.data.reports.flatMap((r) => r.records.map((rec) => {
          const pass = rec.dkim === 'pass' || rec.spf === 'pass';
          return [r.organization, day(r.begin), rec.headerFrom || r.domain, rec.sourceIp, String(rec.count), rec.disposition, rec.dkim, rec.spf, h('strong', { class: pass ? 'ok' : 'error' }, pass ? 'pass' : 'fail')];
        })), { caption: 'DMARC aggregate reports', empty: 'No DMARC reports received yet.' }),
        problems(dmarc.data.problems))),
    h('section', { 'aria-labelledby': 'tls-reports' },
      h('h3', { id: 'tls-reports' }, 'TLS-RPT: how other servers reached our MX'),
      tls.error ? h('p', { class: 'error', role: 'alert' }, tls.error) : !tls.data ? h('p', { class: 'muted' }, 'Loading…') : !tls.data.address ? unset('reports.tlsrpt_address') : h('div', null,
        h('p', { class: 'muted' }, `From the INBOX of ${tls.data.address}.`),
        table(['Reporter', 'Day', 'Policy', 'Domain', 'Successful', 'Failed', 'Failures'], tls.data.reports.flatMap((r) => r.policies.map((p) => [
          r.organization, day(r.start), p.type, p.domain, String(p.successful), String(p.failed),
          p.failures.map((f) => `${f.type} ×${f.count}${f.mx ? ` (${f.mx}${f.ip ? ` ${f.ip}` : ''})` : ''}`).join('; ') || '—',
        ])), { caption: 'TLS-RPT reports', empty: 'No TLS reports received yet.' }),
        problems(tls.data.problems))));
}
