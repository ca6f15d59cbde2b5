/**
 * An address field (To, Cc, Bcc) with completion from the addresses the user wrote to or received from:
 * the last comma-separated entry is matched, arrows move through the suggestions, Enter or a click takes one.
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import type { El } from './types.ts';

let fieldIds = 0;

export function AddressField(props: { label: string; name: string; value: string; known: readonly string[]; onInput: (v: string) => void; required?: boolean; autoFocus?: boolean }): El {
  const [active, setActive] = useState(-1);
  const [open, setOpen] = useState(false);
  const [id] = useState(() => `addr-${++fieldIds}`);
  const parts = props.value.split(/,\s*/);
  const term = (parts[parts.length - 1] ?? '').trim().toLowerCase();
  const matches = term.length < 1 ? [] : props.known.filter((a) => a.toLowerCase().includes(term) && !parts.slice(0, -1).some((p) => p.trim() === a)).slice(0, 6);
  const shown = open && matches.length > 0;
  const take = (a: string): void => {
    props.onInput([...parts.slice(0, -1).map((p) => p.trim()).filter(Boolean), a].join(', ') + ', ');
    setOpen(false);
    setActive(-1);
  };
  const onKeyDown = (e: KeyboardEvent): void => {
    if (!shown) return;
    if (e.key === 'ArrowDown') { e.preventDefault(); setActive((active + 1) % matches.length); } else if (e.key === 'ArrowUp') { e.preventDefault(); setActive((active - 1 + matches.length) % matches.length); } else if (e.key === 'Enter' && active >= 0) { e.preventDefault(); take(matches[active]!); } else if (e.key === 'Escape') { e.stopPropagation(); setOpen(false); }
  };
  return h('div', { class: 'address-field' },
    h('label', { for: id }, props.label),
    h('input', {
      id, name: props.name, type: 'text', value: props.value, required: props.required, autoFocus: props.autoFocus, autocomplete: 'off',
      role: 'combobox', 'aria-expanded': shown, 'aria-controls': `${id}-list`, 'aria-autocomplete': 'list',
      'aria-activedescendant': shown && active >= 0 ? `${id}-${active}` : undefined,
      onInput: (e: Event) => { props.onInput((e.target as HTMLInputElement).value); setOpen(true); setActive(-1); },
      onKeyDown, onBlur: () => setTimeout(() => setOpen(false), 150),
    }),
    shown ? h('ul', { id: `${id}-list`, role: 'listbox', class: 'suggestions', 'aria-label': props.label }, matches.map((a, i) => h('li', {
      key: a, id: `${id}-${i}`, role: 'option', 'aria-selected': i === active, class: i === active ? 'active' : '',
      onMouseDown: (e: MouseEvent) => { e.preventDefault(); take(a); },
    }, a))) : null);
}
