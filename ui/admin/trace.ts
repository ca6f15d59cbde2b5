/**
 * The message trace: find messages by Message-ID, sender, recipient, queue id, result or time and read each one's
 * timeline (received, stored, queued, every delivery attempt, deferrals, DSNs; refusals with their reason).
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { describeTraceEvent, type TraceEventView } from './trace-event.ts';
import { table, useLoad, when, type El } from './ui.ts';

interface Timeline {
  queueId: string; messageId: string | null; sender: string | null; recipients: string[]; firstAt: string; lastAt: string;
  events: TraceEventView[];
}
const KEYS = [['messageId', 'Message-ID'], ['sender', 'Sender'], ['recipient', 'Recipient'], ['queueId', 'Queue id'], ['result', 'Result']] as const;
/** The time range, in the browser's time zone (the API takes ISO times with their offset). */
const TIMES = [['since', 'Since'], ['until', 'Until']] as const;

function queryOf(form: Record<string, string>): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(form)) {
    if (value.trim() === '') continue;
    params.set(key, key === 'since' || key === 'until' ? new Date(value).toISOString() : value.trim());
  }
  return params.toString();
}

export function TracePage(): El {
  const [form, setForm] = useState<Record<string, string>>({});
  const [query, setQuery] = useState('');
  const { data, error } = useLoad(() => api<Timeline[]>('GET', `/trace${query ? `?${query}` : ''}`), [query]);
  return h('div', null,
    h('h2', null, 'Trace'),
    h('form', { class: 'row', role: 'search', onSubmit: (e: Event) => { e.preventDefault(); setQuery(queryOf(form)); } },
      KEYS.map(([key, label]) => h('label', null, label, h('input', { value: form[key] ?? '', onInput: (e: Event) => setForm({ ...form, [key]: (e.target as HTMLInputElement).value }) }))),
      TIMES.map(([key, label]) => h('label', null, label, h('input', { type: 'datetime-local', value: form[key] ?? '', onInput: (e: Event) => setForm({ ...form, [key]: (e.target as HTMLInputElement).value }) }))),
      h('button', { class: 'primary', type: 'submit' }, 'Search')),
    error ? h('p', { class: 'error', role: 'alert' }, error) : null,
    !data ? h('p', { class: 'muted' }, 'Loading…') : data.length === 0 ? h('p', { class: 'muted' }, 'No message found.') :
        data.map((t) => h('section', { 'aria-label': `Message ${t.queueId}` },
          h('h3', null, `${t.queueId}: ${t.sender || '<>'} → ${t.recipients.join(', ') || '—'}`),
          t.messageId ? h('p', { class: 'muted' }, `Message-ID <${t.messageId}>`) : null,
          table(['Time', 'What', 'Recipients', 'Host', 'Reply', 'DSN', 'Details'], t.events.map((e) => {
            const d = describeTraceEvent(e);
            return [
              h('time', { dateTime: e.at, title: e.at }, when(e.at, { seconds: true })), d.what, e.recipients.join(', '), d.host, d.reply ? h('code', null, d.reply) : '', d.dsn,
              d.details.length === 0 ? '' : h('dl', { class: 'details' }, d.details.flatMap(([label, value]) => [h('dt', null, label), h('dd', null, value)])),
            ];
          })))));
}
