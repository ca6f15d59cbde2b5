/**
 * A message timeline as terminal text: one header line per message, then one line per event with its time,
 * what happened, to whom, and the details that matter for that kind of event.
 */
import type { MessageTimeline } from './service.ts';

type Data = Record<string, unknown>;

function str(v: unknown): string {
  return v === null || v === undefined || v === '' ? '-' : typeof v === 'string' ? v : JSON.stringify(v);
}

function detailOf(kind: string, data: Data): string {
  const parts: string[] = [];
  const add = (label: string, v: unknown): void => {
    if (v !== null && v !== undefined && v !== '') parts.push(`${label}=${str(v)}`);
  };
  if (kind === 'received' || kind === 'rejected') {
    add('role', data.role);
    add('ip', data.ip);
    add('helo', data.helo);
    add('tls', data.tls);
    add('user', data.user);
    add('command', data.command);
    const auth = data.auth as { spf: string; dkim: string; dmarc: string } | undefined;
    if (auth) parts.push(`spf=${auth.spf} dkim=${auth.dkim} dmarc=${auth.dmarc}`);
    const spam = data.spam as { score: number; verdict: string; shadow?: boolean; rules: { test: string; score: number }[] } | undefined;
    if (spam) parts.push(`spam=${spam.score} (${spam.verdict}${spam.shadow ? ', shadow mode' : ''}: ${spam.rules.map((r) => `${r.test}=${r.score}`).join(' ') || 'no rules scored'})`);
    add('size', data.size);
    add('reply', data.reply);
  } else if (kind === 'stored') {
    add('mailboxes', (data.mailboxes as string[] | undefined)?.join(', '));
  } else if (kind === 'deleted') {
    return '';
  } else if (kind === 'dsn') {
    add('action', data.action);
    add('to', data.to);
    add('dsn', data.dsnQueueId);
  } else {
    add('attempt', data.attempt);
    add('mx', data.mx);
    add('ip', data.ip);
    add('tls', data.tls);
    add('reply', data.reply);
  }
  return parts.join('  ');
}

/** What happened, in words: the event with its result and reason, who did it when an administrator did. */
function labelOf(e: MessageTimeline['events'][number]): string {
  if (e.event === 'dsn') return `DSN sent (${e.result})`;
  if (e.reason === 'admin') return `${e.event} by admin ${str(e.data.by)}`;
  const why = e.reason && e.reason !== e.event ? ` (${e.reason})` : '';
  return `${e.event}${e.result !== e.event ? `/${e.result}` : ''}${why}`;
}

export function formatTimelines(timelines: MessageTimeline[]): string[] {
  const lines: string[] = [];
  for (const t of timelines) {
    lines.push(`${t.queueId}  message-id <${t.messageId ?? '?'}>  from <${t.sender ?? ''}>  to ${t.recipients.map((r) => `<${r}>`).join(' ') || '-'}`);
    for (const e of t.events) {
      const who = e.recipients.length > 0 && e.event !== 'received' ? ` ${e.recipients.join(', ')}` : '';
      lines.push(`  ${e.at.toISOString()}  ${labelOf(e)}${who}  ${detailOf(e.event, e.data)}`.trimEnd());
    }
    lines.push('');
  }
  return lines;
}
