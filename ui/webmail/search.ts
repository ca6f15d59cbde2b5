/**
 * The search bar: words anywhere (RFC 8621 §4.4.1 `text`), and on request from, to, subject, a date range,
 * only with attachments, and one folder or all; turned into an Email/query filter.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { folderTree, roleName } from './folders.ts';
import type { El, Mailbox, T } from './types.ts';

export interface SearchFields { text: string; from: string; to: string; subject: string; after: string; before: string; hasAttachment: boolean; folder: string }
export const emptySearch: SearchFields = { text: '', from: '', to: '', subject: '', after: '', before: '', hasAttachment: false, folder: '' };

export function searchFilter(s: SearchFields): Record<string, unknown> | null {
  const f: Record<string, unknown> = {};
  for (const k of ['text', 'from', 'to', 'subject'] as const) if (s[k].trim()) f[k] = s[k].trim();
  // Dates are whole days in the user's time zone; `before` is exclusive, so the day after.
  if (s.after) f.after = new Date(`${s.after}T00:00:00`).toISOString().replace(/\.\d+Z$/, 'Z');
  if (s.before) { const d = new Date(`${s.before}T00:00:00`); d.setDate(d.getDate() + 1); f.before = d.toISOString().replace(/\.\d+Z$/, 'Z'); }
  if (s.hasAttachment) f.hasAttachment = true;
  if (Object.keys(f).length === 0) return null;
  if (s.folder) f.inMailbox = s.folder;
  return f;
}

export function SearchBar(props: { t: T; mailboxes: Mailbox[]; active: boolean; onSearch: (s: SearchFields | null) => void }): El {
  const { t } = props;
  const [s, setS] = useState<SearchFields>(emptySearch);
  const [more, setMore] = useState(false);
  const field = (k: 'from' | 'to' | 'subject', label: string): El => h('label', null, label, h('input', { type: 'text', name: k, value: s[k], onInput: (e: Event) => setS({ ...s, [k]: (e.target as HTMLInputElement).value }) }));
  return h('form', {
    class: 'search', role: 'search',
    onSubmit: (e: Event) => { e.preventDefault(); props.onSearch(searchFilter(s) ? s : null); },
  },
  h('div', { class: 'search-row' },
    h('input', { type: 'search', name: 'q', id: 'search-input', 'aria-label': t('search'), placeholder: t('searchPlaceholder'), value: s.text, onInput: (e: Event) => setS({ ...s, text: (e.target as HTMLInputElement).value }) }),
    h('button', { type: 'submit' }, t('search')),
    h('button', { type: 'button', 'aria-expanded': more, onClick: () => setMore(!more) }, t('moreOptions')),
    props.active ? h('button', { type: 'button', onClick: () => { setS(emptySearch); props.onSearch(null); } }, t('clearSearch')) : null),
  more ? h('div', { class: 'search-more' },
    field('from', t('from')), field('to', t('to')), field('subject', t('subject')),
    h('label', null, t('dateFrom'), h('input', { type: 'date', name: 'after', value: s.after, onInput: (e: Event) => setS({ ...s, after: (e.target as HTMLInputElement).value }) })),
    h('label', null, t('dateTo'), h('input', { type: 'date', name: 'before', value: s.before, onInput: (e: Event) => setS({ ...s, before: (e.target as HTMLInputElement).value }) })),
    h('label', { class: 'check' }, h('input', { type: 'checkbox', checked: s.hasAttachment, onChange: (e: Event) => setS({ ...s, hasAttachment: (e.target as HTMLInputElement).checked }) }), t('withAttachment')),
    h('label', { for: 'search-folder' }, t('inFolder')),
    h('select', { id: 'search-folder', value: s.folder, onChange: (e: Event) => setS({ ...s, folder: (e.target as HTMLSelectElement).value }) },
      h('option', { value: '' }, t('allFolders')),
      folderTree(props.mailboxes).map(({ m }) => h('option', { key: m.id, value: m.id }, roleName(m, t))))) : null);
}
