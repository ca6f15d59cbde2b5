/**
 * Keyboard shortcuts (Gmail-like letters): one table for the handler and for the help screen, so the two
 * cannot disagree. Ignored while typing in a field, except Escape.
 */
import { h } from 'preact';
import type { MessageKey } from './i18n.ts';
import type { ReaderActions } from './reader.ts';
import type { El, T } from './types.ts';

export interface ShortcutTarget {
  move: (delta: number) => void;
  page: (dir: number) => void;
  open: () => void;
  compose: () => void;
  reply: (all: boolean) => void;
  forward: () => void;
  targetIds: () => string[];
  act: ReaderActions;
  toggle: (keyword: string) => void;
  select: () => void;
  search: () => void;
  help: () => void;
  escape: () => void;
}

const TABLE: [string[], MessageKey, (s: ShortcutTarget) => void][] = [
  [['j', 'ArrowDown'], 'keyNext', (s) => s.move(1)],
  [['k', 'ArrowUp'], 'keyPrev', (s) => s.move(-1)],
  [['PageDown', 'n'], 'keyPageDown', (s) => s.page(1)],
  [['PageUp', 'p'], 'keyPageUp', (s) => s.page(-1)],
  [['Enter', 'o'], 'keyOpen', (s) => s.open()],
  [['c'], 'keyCompose', (s) => s.compose()],
  [['r'], 'keyReply', (s) => s.reply(false)],
  [['a'], 'keyReplyAll', (s) => s.reply(true)],
  [['f'], 'keyForward', (s) => s.forward()],
  [['u'], 'keyToggleRead', (s) => s.toggle('$seen')],
  [['s'], 'keyToggleFlag', (s) => s.toggle('$flagged')],
  [['e'], 'keyArchive', (s) => s.act.archive(s.targetIds())],
  [['#', 'Delete'], 'keyDelete', (s) => s.act.remove(s.targetIds())],
  [['!'], 'keySpam', (s) => s.act.spam(s.targetIds())],
  [['x'], 'keySelect', (s) => s.select()],
  [['/'], 'keySearch', (s) => s.search()],
  [['?'], 'keyHelp', (s) => s.help()],
  [['Escape'], 'keyEscape', (s) => s.escape()],
];

export function handleShortcut(e: KeyboardEvent, target: ShortcutTarget, composing: boolean): void {
  if (e.ctrlKey || e.metaKey || e.altKey) return;
  const el = e.target as HTMLElement | null;
  const typing = !!el && (el.isContentEditable || ['INPUT', 'TEXTAREA', 'SELECT'].includes(el.tagName));
  if ((typing || composing) && e.key !== 'Escape') return;
  // Enter on a focused button or link keeps its own meaning.
  if (e.key === 'Enter' && el && ['BUTTON', 'A'].includes(el.tagName)) return;
  const row = TABLE.find(([keys]) => keys.includes(e.key));
  if (!row) return;
  e.preventDefault();
  row[2](target);
}

export function Shortcuts(props: { t: T }): El {
  const { t } = props;
  return h('section', { class: 'help', 'aria-labelledby': 'help-title' },
    h('h2', { id: 'help-title' }, t('shortcuts')),
    h('dl', null, TABLE.map(([keys, label]) => [h('dt', { key: `k${label}` }, keys.map((k) => h('kbd', { key: k }, k))), h('dd', { key: `d${label}` }, t(label))])));
}
