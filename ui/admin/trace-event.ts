/**
 * One message trace event in words for the admin UI: what happened, the host involved (the client that sent it or
 * the MX it went to), the SMTP reply, the DSN sent, and the remaining details as labelled values instead of JSON.
 */
import { bytes } from './ui.ts';

export interface TraceEventView {
  at: string;
  event: string;
  result: string;
  reason: string | null;
  recipients: string[];
  data: Record<string, unknown>;
}

export interface DescribedEvent {
  what: string;
  host: string;
  reply: string;
  dsn: string;
  details: [string, string][];
}

const WHAT: Record<string, string> = {
  received: 'Received',
  rejected: 'Refused',
  stored: 'Stored',
  queued: 'Queued',
  delivered: 'Delivered',
  deferred: 'Deferred',
  bounced: 'Bounced',
  suppressed: 'Suppressed',
  expired: 'Expired',
  deleted: 'Deleted',
  dsn: 'DSN sent',
};

function text(v: unknown): string | null {
  if (v === null || v === undefined || v === '') return null;
  if (Array.isArray(v)) return v.map((x) => text(x) ?? '').filter((x) => x !== '').join(', ') || null;
  if (typeof v === 'object') return Object.entries(v as Record<string, unknown>).map(([k, x]) => `${k} ${text(x) ?? '—'}`).join(', ');
  return String(v);
}

export function describeTraceEvent(e: TraceEventView): DescribedEvent {
  const d = e.data;
  const used = new Set<string>();
  const take = (key: string): unknown => {
    used.add(key);
    return d[key];
  };
  let what = WHAT[e.event] ?? e.event;
  if (e.event === 'rejected') what = `${e.result === 'tempfail' ? 'Refused for now' : 'Refused'} at ${text(take('command')) ?? '?'}`;
  else if (e.event === 'dsn') what = `DSN sent (${e.result})`;
  else if (e.reason === 'admin') what = `${what} by admin ${text(take('by')) ?? ''}`.trim();
  if (e.reason && e.reason !== e.event && e.reason !== 'admin') what += ` (${e.reason.replace(/_/g, ' ')})`;

  let host = '';
  if (e.event === 'received' || e.event === 'rejected') {
    const helo = text(take('helo'));
    const ip = text(take('ip'));
    // A client greeting with its address literal (EHLO [192.0.2.1]) is shown once.
    host = [helo === ip || helo === `[${ip}]` ? null : helo, ip ? `[${ip}]` : null].filter(Boolean).join(' ');
  } else if (e.event === 'delivered' || e.event === 'deferred' || e.event === 'bounced') {
    const local = take('local') === true;
    const mx = text(take('mx'));
    const ip = text(take('ip'));
    host = local ? 'this server' : [mx, ip && ip !== mx ? `[${ip}]` : null].filter(Boolean).join(' ');
  }
  const reply = text(take('reply')) ?? '';

  let dsn = '';
  if (e.event === 'dsn') {
    dsn = `${text(take('action')) ?? e.result} to <${text(take('to')) ?? ''}>`;
    const id = text(take('dsnQueueId'));
    if (id) dsn += ` (queue id ${id})`;
  }

  const details: [string, string][] = [];
  const add = (label: string, value: string | null): void => {
    if (value) details.push([label, value]);
  };
  add('Attempt', text(take('attempt')));
  add('Listener', text(take('role')));
  add('TLS', text(take('tls')) ?? (e.event === 'received' || e.event === 'rejected' || e.event === 'delivered' ? 'none' : null));
  add('User', text(take('user')));
  const auth = take('auth') as { spf?: string; dkim?: string; dmarc?: string } | undefined;
  if (auth) add('Authentication', `SPF ${auth.spf ?? '—'}, DKIM ${auth.dkim ?? '—'}, DMARC ${auth.dmarc ?? '—'}`);
  const spam = take('spam') as { score: number; verdict: string; shadow?: boolean; rules: { test: string; score: number }[] } | undefined;
  if (spam) add('Spam score', `${spam.score} (${spam.verdict}${spam.shadow ? ', shadow mode' : ''}): ${spam.rules.map((r) => `${r.test} ${r.score}`).join(', ') || 'no rule scored'}`);
  const size = take('size');
  add('Size', typeof size === 'number' ? bytes(size) : null);
  add('Mailboxes', text(take('mailboxes')));
  const folder = take('folder');
  if (folder === 'junk') add('Folder', 'Junk');
  for (const [key, value] of Object.entries(d)) if (!used.has(key)) add(key, text(value));
  return { what, host, reply, dsn, details };
}
