/**
 * The queue: messages filtered by sender, recipient or state; one message with its envelope, headers,
 * recipients and trace; retry now, hold, release, bounce, delete; and the suppression list.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api, enc } from './api.ts';
import { bytes, table, useLoad, useStatus, when, type El } from './ui.ts';

interface Recipient { address: string; state: string; attempts: number; nextAttemptAt: string; lastResult: string | null }
interface Queued { id: string; sender: string; size: number; createdAt: string; holdUntil: string | null; recipients: Recipient[] }
interface Detail extends Queued { headers: string; origin: string; trace: { at: string; event: string; result: string; reason: string | null; data: Record<string, unknown> }[] }
const value = (e: Event) => (e.target as HTMLInputElement).value;
/** A delayed send (RFC 4865 FUTURERELEASE) not yet released. */
const heldUntil = (m: Queued): boolean => m.holdUntil !== null && Date.parse(m.holdUntil) > Date.now();

export function QueuePage(props: { serverAdmin: boolean }): El {
  const [filter, setFilter] = useState({ sender: '', recipient: '', state: '' });
  const [applied, setApplied] = useState(filter);
  const [open, setOpen] = useState<string | null>(null);
  const query = new URLSearchParams(Object.entries(applied).filter(([, v]) => v !== '')).toString();
  const list = useLoad(() => api<Queued[]>('GET', `/queue${query ? `?${query}` : ''}`), [query]);
  const suppressions = useLoad(() => (props.serverAdmin ? api<{ address: string; reason: string; createdAt: string }[]>('GET', '/suppressions') : Promise.resolve([])));
  const { status, run } = useStatus();
  const act = (id: string, method: string, path: string, text: string, body?: unknown) => run(async () => { await api(method, `/queue/${enc(id)}${path}`, body); list.reload(); if (path === '' || path === '/bounce') setOpen(null); return text; });
  return h('div', null,
    h('h2', null, 'Queue'),
    h('form', { class: 'row', role: 'search', onSubmit: (e: Event) => { e.preventDefault(); setApplied(filter); } },
      h('label', null, 'Sender', h('input', { value: filter.sender, onInput: (e: Event) => setFilter({ ...filter, sender: value(e) }) })),
      h('label', null, 'Recipient', h('input', { value: filter.recipient, onInput: (e: Event) => setFilter({ ...filter, recipient: value(e) }) })),
      h('label', null, 'State', h('select', { value: filter.state, onChange: (e: Event) => setFilter({ ...filter, state: value(e) }) },
        ['', 'queued', 'deferred', 'held'].map((s) => h('option', { value: s }, s || 'any')))),
      h('button', { type: 'submit' }, 'Filter')),
    status,
    list.error ? h('p', { class: 'error', role: 'alert' }, list.error) : null,
    list.data ? table(['Queue id', 'Sender', 'Recipients', 'Size', 'Queued', ''], list.data.map((m) => [
      h('button', { type: 'button', 'aria-expanded': open === m.id, onClick: () => setOpen(open === m.id ? null : m.id) }, m.id),
      m.sender || '<>', m.recipients.map((r) => `${r.address} (${r.state}${r.attempts ? `, ${r.attempts} attempts` : ''})`).join(', '), bytes(m.size),
      heldUntil(m) ? h('span', null, when(m.createdAt), h('br', null), h('strong', null, `held until ${when(m.holdUntil!)}`)) : when(m.createdAt),
      h('div', { class: 'actions' },
        h('button', { type: 'button', onClick: () => void act(m.id, 'POST', '/retry', `${m.id}: retrying now.`) }, 'Retry now'),
        m.recipients.some((r) => r.state === 'held')
          ? h('button', { type: 'button', onClick: () => void act(m.id, 'POST', '/release', `${m.id} released.`) }, 'Release')
          : h('button', { type: 'button', onClick: () => void act(m.id, 'POST', '/hold', `${m.id} held.`) }, 'Hold'),
        h('button', { class: 'danger', type: 'button', onClick: () => { if (confirm(`Bounce ${m.id} to its sender?`)) void act(m.id, 'POST', '/bounce', `${m.id} bounced.`, {}); } }, 'Bounce'),
        h('button', { class: 'danger', type: 'button', onClick: () => { if (confirm(`Delete ${m.id} without notice?`)) void act(m.id, 'DELETE', '', `${m.id} deleted.`); } }, 'Delete')),
    ]), { empty: 'The queue is empty.' }) : null,
    open ? h(QueuedMessage, { id: open }) : null,
    props.serverAdmin ? h('div', null,
      h('h3', null, 'Suppression list'),
      suppressions.data ? table(['Address', 'Reason', 'Since', ''], suppressions.data.map((s) => [s.address, s.reason, when(s.createdAt),
        h('button', { type: 'button', 'aria-label': `Allow ${s.address} again`, onClick: () => void run(async () => { await api('DELETE', `/suppressions/${enc(s.address)}`); suppressions.reload(); return `${s.address} may be sent to again.`; }) }, 'Allow again')]), { empty: 'No suppressed addresses.' }) : null) : null);
}

function QueuedMessage(props: { id: string }): El {
  const { data, error } = useLoad(() => api<Detail>('GET', `/queue/${enc(props.id)}`), [props.id]);
  if (error) return h('p', { class: 'error' }, error);
  if (!data) return h('p', { class: 'muted' }, 'Loading…');
  return h('section', { 'aria-label': `Queued message ${data.id}` },
    h('h3', null, `Message ${data.id}`),
    h('p', null, `From ${data.sender || '<>'} (${data.origin}), queued ${when(data.createdAt)}${heldUntil(data) ? `, held until ${when(data.holdUntil!)} (delayed send; its sender may still cancel it)` : ''}`),
    table(['Recipient', 'State', 'Attempts', 'Next attempt', 'Last result'], data.recipients.map((r) => [r.address, r.state, String(r.attempts), when(r.nextAttemptAt), r.lastResult ?? ''])),
    h('h3', null, 'Headers'), h('pre', null, data.headers),
    h('h3', null, 'Trace'),
    table(['Time', 'Event', 'Result', 'Details'], data.trace.map((t) => [when(t.at), t.event, t.reason ? `${t.result} (${t.reason})` : t.result, h('code', null, JSON.stringify(t.data))]), { empty: 'No trace recorded for this message.' }));
}
