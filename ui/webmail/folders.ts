/**
 * The folder column: folders with unread counts (nested by parentId), each a drop target for dragged
 * messages, and creating, renaming and deleting folders (Mailbox/set, RFC 8621 §2.5).
 */
import { h } from 'preact';
import { useState } from 'preact/hooks';
import { DRAG_TYPE } from './message-list.ts';
import type { El, Mailbox, T } from './types.ts';

const ROLE_ORDER = ['inbox', 'drafts', 'sent', 'archive', 'junk', 'trash'];
const rank = (m: Mailbox): number => { const i = ROLE_ORDER.indexOf(m.role ?? ''); return i < 0 ? ROLE_ORDER.length : i; };

/** Folders in display order, each with its depth: roles first, then by name, children under their parent. */
export function folderTree(boxes: Mailbox[]): { m: Mailbox; depth: number }[] {
  const byParent = new Map<string | null, Mailbox[]>();
  for (const m of boxes) byParent.set(m.parentId, [...(byParent.get(m.parentId) ?? []), m]);
  const out: { m: Mailbox; depth: number }[] = [];
  const walk = (parent: string | null, depth: number): void => {
    const kids = (byParent.get(parent) ?? []).slice().sort((a, b) => rank(a) - rank(b) || a.sortOrder - b.sortOrder || a.name.localeCompare(b.name));
    for (const m of kids) { out.push({ m, depth }); walk(m.id, depth + 1); }
  };
  walk(null, 0);
  return out;
}

export function roleName(m: Mailbox, t: T): string {
  switch (m.role) {
    case 'inbox': return t('inbox');
    case 'drafts': return t('drafts');
    case 'sent': return t('sentFolder');
    case 'archive': return t('archiveFolder');
    case 'junk': return t('junk');
    case 'trash': return t('trash');
    default: return m.name;
  }
}

export function Folders(props: {
  t: T; mailboxes: Mailbox[]; current: string | null; onPick: (id: string) => void; onDrop: (ids: string[], mailboxId: string) => void;
  onCreate: (name: string) => Promise<string | null>;
}): El {
  const { t } = props;
  const [over, setOver] = useState<string | null>(null);
  const [creating, setCreating] = useState(false);
  const [error, setError] = useState('');
  return h('div', { class: 'folders' },
    h('ul', null, folderTree(props.mailboxes).map(({ m, depth }) => h('li', { key: m.id },
      h('button', {
        type: 'button', class: `mailbox${m.id === props.current ? ' current' : ''}${over === m.id ? ' drop' : ''}`, 'data-role': m.role ?? undefined,
        style: { paddingLeft: `${0.8 + depth}em` }, 'aria-current': m.id === props.current ? 'page' : undefined,
        onClick: () => props.onPick(m.id),
        onDragOver: (e: DragEvent) => { if (e.dataTransfer?.types.includes(DRAG_TYPE)) { e.preventDefault(); setOver(m.id); } },
        onDragLeave: () => setOver(null),
        onDrop: (e: DragEvent) => {
          e.preventDefault();
          setOver(null);
          const ids = JSON.parse(e.dataTransfer?.getData(DRAG_TYPE) || '[]') as string[];
          if (ids.length) props.onDrop(ids, m.id);
        },
      }, h('span', { class: 'name' }, roleName(m, t)), m.unreadEmails ? h('span', { class: 'count', 'aria-label': t('unreadCount', { n: m.unreadEmails }) }, m.unreadEmails) : null)))),
    creating
      ? h('form', {
          class: 'new-folder',
          onSubmit: async (e: Event) => {
            e.preventDefault();
            const name = String(new FormData(e.currentTarget as HTMLFormElement).get('name') ?? '').trim();
            if (!name) return;
            const err = await props.onCreate(name);
            if (err) setError(err); else { setCreating(false); setError(''); }
          },
        },
        h('label', null, t('folderName'), h('input', { name: 'name', autoFocus: true, required: true })),
        error ? h('p', { class: 'error', role: 'alert' }, error) : null,
        h('div', { class: 'toolbar' }, h('button', { type: 'submit' }, t('create')), h('button', { type: 'button', onClick: () => setCreating(false) }, t('cancel'))))
      : h('button', { type: 'button', class: 'add-folder', onClick: () => setCreating(true) }, t('newFolder')));
}
