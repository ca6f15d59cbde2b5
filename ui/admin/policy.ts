/**
 * Inbound policy settings: each run-time key with what applies and what the file says, changed and saved at
 * once (no restart); the keys only the config file sets are shown as needing a restart.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { api } from './api.ts';
import { table, useLoad, useStatus, type El } from './ui.ts';

interface Setting { key: string; type: string; doc: string; value: unknown; fileValue: unknown; overridden: boolean; live: boolean }

/** A value as the config file writes it (durations in ms are shown as such; lists comma-separated). */
const shown = (v: unknown): string => (Array.isArray(v) ? v.join(', ') : v === null || v === undefined ? '' : String(v));

function parse(s: Setting, text: string): unknown {
  if (s.type === 'boolean') return text === 'true';
  if (s.type.startsWith('array')) return text.split(',').map((x) => x.trim()).filter(Boolean);
  if (s.type === 'duration') return /^\d+$/.test(text.trim()) ? `${text.trim()}ms` : text.trim();
  if (s.type === 'number' || s.type === 'integer') return text.trim() === 'inf' ? 'inf' : Number(text);
  return text;
}

export function PolicyPage(): El {
  const { data, error, reload } = useLoad(() => api<Setting[]>('GET', '/policy'));
  const [edits, setEdits] = useState<Record<string, string>>({});
  const { status, run } = useStatus();
  if (error) return h('p', { class: 'error', role: 'alert' }, error);
  if (!data) return h('p', { class: 'muted' }, 'Loading…');
  const save = () => run(async () => {
    const changes = Object.fromEntries(Object.entries(edits).map(([k, v]) => [k, parse(data.find((s) => s.key === k)!, v)]));
    await api('PATCH', '/policy', changes);
    setEdits({});
    reload();
    return 'Saved and applied: the next connection uses the new settings.';
  });
  const input = (s: Setting): El => {
    const id = `policy-${s.key}`;
    const current = edits[s.key] ?? shown(s.value);
    const set = (v: string) => setEdits({ ...edits, [s.key]: v });
    if (s.type === 'boolean') return h('select', { id, 'aria-label': s.key, value: current, disabled: !s.live, onChange: (e: Event) => set((e.target as HTMLSelectElement).value) }, h('option', { value: 'true' }, 'on'), h('option', { value: 'false' }, 'off'));
    return h('input', { id, 'aria-label': s.key, value: current, disabled: !s.live, onInput: (e: Event) => set((e.target as HTMLInputElement).value) });
  };
  return h('div', null,
    h('h2', null, 'Policy'),
    h('p', { class: 'muted' }, 'Durations in milliseconds (or with a unit: 10m), lists comma-separated. Changes apply at once; "file" returns a key to the config file\'s value.'),
    status,
    h('form', { onSubmit: (e: Event) => { e.preventDefault(); void save(); } },
      table(['Setting', 'Value', 'Config file', ''], data.map((s) => [
        h('span', { title: s.doc }, s.key, s.live ? null : h('span', { class: 'warn' }, ' (restart needed: set it in the config file)')),
        input(s), shown(s.fileValue),
        s.overridden ? h('button', { type: 'button', 'aria-label': `Use the file's ${s.key}`, onClick: () => void run(async () => { await api('PATCH', '/policy', { [s.key]: null }); reload(); return `${s.key}: the file's value applies again.`; }) }, 'file') : null,
      ])),
      h('button', { class: 'primary', type: 'submit', disabled: Object.keys(edits).length === 0 }, 'Save and apply')));
}
