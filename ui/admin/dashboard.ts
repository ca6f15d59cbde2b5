/**
 * The dashboard: mail over the last hour and day (accepted, rejected by reason, delivered, deferred,
 * bounced), the queue, disk and data size, certificate expiry, and each domain's DNS health.
 */
import { h } from 'preact';
import { api } from './api.ts';
import { bytes, table, useLoad, when, type El } from './ui.ts';

interface Activity { accepted: number; rejected: number; rejectedByReason: Record<string, number>; delivered: number; deferred: number; bounced: number }
interface Dashboard {
  queue: { messages: number; pendingRecipients: number; oldestCreatedAt: string | null };
  server: null | { disk: { freeBytes: number; totalBytes: number } | null; dataBytes: number; certificates: { names: string[]; validTo: string; daysLeft: number }[]; activity: { lastHour: Activity; lastDay: Activity } };
  domains: string[];
}
interface DnsHealth { domain: string; ok: boolean; failures: number | null; problems?: { type: string; name: string; status: string }[]; error?: string }

function activityCard(title: string, a: Activity): El {
  const reasons = Object.entries(a.rejectedByReason);
  return h('section', { class: 'card', 'aria-label': title },
    h('h3', null, title),
    h('dl', null,
      ...([['Accepted', a.accepted], ['Rejected', a.rejected], ['Delivered', a.delivered], ['Deferred', a.deferred], ['Bounced', a.bounced]] as [string, number][]).flatMap(([k, v]) => [h('dt', null, k), h('dd', null, String(v))])),
    reasons.length ? h('p', { class: 'muted' }, 'Rejected by reason: ', reasons.map(([r, n]) => `${r} ${n}`).join(', ')) : null);
}

export function DashboardPage(): El {
  const { data, error } = useLoad(() => api<Dashboard>('GET', '/dashboard'));
  const dns = useLoad(() => api<DnsHealth[]>('GET', '/dashboard/dns'));
  if (error) return h('p', { class: 'error', role: 'alert' }, error);
  if (!data) return h('p', { class: 'muted' }, 'Loading…');
  const s = data.server;
  return h('div', null,
    h('h2', null, 'Dashboard'),
    h('div', { class: 'cards' },
      s ? activityCard('Last hour', s.activity.lastHour) : null,
      s ? activityCard('Last day', s.activity.lastDay) : null,
      h('section', { class: 'card', 'aria-label': 'Queue' }, h('h3', null, 'Queue'),
        h('dl', null, h('dt', null, 'Messages'), h('dd', null, String(data.queue.messages)), h('dt', null, 'Pending recipients'), h('dd', null, String(data.queue.pendingRecipients)), h('dt', null, 'Oldest'), h('dd', null, when(data.queue.oldestCreatedAt)))),
      s ? h('section', { class: 'card', 'aria-label': 'Storage' }, h('h3', null, 'Storage'),
        h('dl', null, h('dt', null, 'Data'), h('dd', null, bytes(s.dataBytes)), h('dt', null, 'Disk free'), h('dd', null, s.disk ? `${bytes(s.disk.freeBytes)} of ${bytes(s.disk.totalBytes)}` : '—'))) : null,
      s ? h('section', { class: 'card', 'aria-label': 'Certificate' }, h('h3', null, 'Certificate'),
        s.certificates.length === 0 ? h('p', { class: 'muted' }, 'None loaded.') : s.certificates.map((c) => h('p', { class: c.daysLeft < 14 ? 'warn' : '' }, `${c.names.join(', ') || 'default'}: expires ${when(c.validTo)} (${c.daysLeft} days)`))) : null),
    h('h3', null, 'DNS health'),
    dns.error ? h('p', { class: 'error' }, dns.error) : !dns.data ? h('p', { class: 'muted' }, 'Checking DNS…') :
        table(['Domain', 'State', 'Problems'], dns.data.map((d) => [
          h('a', { href: `#/domains/${d.domain}` }, d.domain),
          h('span', { class: d.ok ? 'ok' : 'error' }, d.ok ? 'ok' : d.error ? 'check failed' : `${d.failures} problem(s)`),
          d.error ?? (d.problems ?? []).map((p) => `${p.status} ${p.type} ${p.name}`).join('; '),
        ]), { empty: 'No domains yet.' }));
}
