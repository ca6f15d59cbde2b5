/**
 * The virtual message list: only the rows in view (plus a margin) are in the DOM, absolutely placed in a box
 * as tall as the whole folder, so a 100,000-message folder scrolls like a short one; the rows' pages are
 * asked for as they come into view. Rows can be selected (checkbox, shift for a range) and dragged to a folder.
 */
import { h } from 'preact';
import { useEffect, useLayoutEffect, useRef, useState } from 'preact/hooks';
import { fmtDate, who } from './format.ts';
import type { ListCache } from './list-cache.ts';
import type { El, ListItem, T } from './types.ts';

export const ROW_PX = 76;
/** A paperclip drawn in SVG: an emoji would depend on the fonts installed. */
const clip = (): El => h('svg', { viewBox: '0 0 16 16', width: 13, height: 13, 'aria-hidden': 'true' },
  h('path', { d: 'M10.5 4.5v6a2.5 2.5 0 0 1-5 0v-7a1.5 1.5 0 0 1 3 0v6.5a.5.5 0 0 1-1 0V5', fill: 'none', stroke: 'currentColor', 'stroke-width': 1.4, 'stroke-linecap': 'round' }));
const OVERSCAN = 8;
export const DRAG_TYPE = 'application/x-postamt-emails';

export interface ListProps {
  cache: ListCache;
  version: number;
  t: T;
  lang: string;
  openId: string | null;
  cursor: number;
  selected: ReadonlySet<string>;
  sentView: boolean;
  onOpen: (index: number) => void;
  onSelect: (index: number, range: boolean) => void;
}

function Row(props: { m: ListItem | undefined; index: number; p: ListProps }): El {
  const { m, index, p } = props;
  const { t } = p;
  const style = { transform: `translateY(${index * ROW_PX}px)` };
  if (!m) return h('div', { class: 'item placeholder', style, role: 'listitem', 'aria-posinset': index + 1, 'aria-setsize': p.cache.total }, h('span', { class: 'skeleton' }));
  const size = p.cache.query.collapseThreads ? (p.cache.threadSize.get(m.threadId) ?? 1) : 1;
  const unread = !m.keywords.$seen;
  const isSelected = p.selected.has(m.id);
  const onDragStart = (e: DragEvent): void => {
    const ids = isSelected ? [...p.selected] : [m.id];
    e.dataTransfer?.setData(DRAG_TYPE, JSON.stringify(ids));
    e.dataTransfer?.setData('text/plain', m.subject ?? '');
    if (e.dataTransfer) e.dataTransfer.effectAllowed = 'move';
  };
  const person = p.sentView ? who(m.to) : who(m.from);
  return h('div', {
    class: `item${unread ? ' unread' : ''}${m.id === p.openId ? ' open' : ''}${isSelected ? ' selected' : ''}${index === p.cursor ? ' cursor' : ''}`,
    style, role: 'listitem', 'aria-posinset': index + 1, 'aria-setsize': p.cache.total, draggable: true, onDragStart, 'data-id': m.id,
  },
  h('input', { type: 'checkbox', checked: isSelected, 'aria-label': `${t('select')}: ${m.subject || t('noSubject')}`, onClick: (e: MouseEvent) => { p.onSelect(index, e.shiftKey); } }),
  h('button', { type: 'button', class: 'open-item', onClick: () => p.onOpen(index), 'aria-current': m.id === p.openId ? 'true' : undefined },
    h('span', { class: 'from' }, person || t('noSender'), size > 1 ? h('span', { class: 'count', 'aria-label': t('inThread', { n: size }) }, ` ${size}`) : null),
    h('span', { class: 'marks' },
      m.keywords.$flagged ? h('span', { class: 'flag', title: t('flagged'), 'aria-label': t('flagged') }, '⚑') : null,
      m.keywords.$answered ? h('span', { class: 'answered', title: t('answered'), 'aria-label': t('answered') }, '↩') : null,
      m.hasAttachment ? h('span', { class: 'clip', title: t('hasAttachment'), 'aria-label': t('hasAttachment') }, clip()) : null,
      unread ? h('span', { class: 'dot', title: t('unread'), 'aria-label': t('unread') }, '●') : null),
    h('time', { dateTime: m.receivedAt }, fmtDate(m.receivedAt, p.lang)),
    h('span', { class: 'subject' }, m.subject || t('noSubject')),
    h('span', { class: 'preview' }, m.preview)));
}

export function MessageList(props: ListProps): El {
  const box = useRef<HTMLDivElement>(null);
  const [view, setView] = useState({ top: 0, height: 800 });
  const frame = useRef(0);
  const { cache } = props;

  useLayoutEffect(() => {
    const el = box.current!;
    const measure = (): void => setView({ top: el.scrollTop, height: el.clientHeight });
    measure();
    const ro = new ResizeObserver(measure);
    ro.observe(el);
    return () => ro.disconnect();
  }, []);
  // A new query starts at the top.
  useLayoutEffect(() => { box.current!.scrollTop = 0; setView((v) => ({ ...v, top: 0 })); }, [cache]);

  const first = Math.max(0, Math.floor(view.top / ROW_PX) - OVERSCAN);
  const count = Math.max(0, cache.total);
  const last = Math.min(count - 1, Math.ceil((view.top + view.height) / ROW_PX) + OVERSCAN);
  useEffect(() => { cache.ensure(first, Math.max(first, last)); }, [cache, first, last, props.version]);

  // Keep the keyboard cursor in view.
  useEffect(() => {
    const el = box.current;
    if (!el || props.cursor < 0) return;
    const y = props.cursor * ROW_PX;
    if (y < el.scrollTop) el.scrollTop = y;
    else if (y + ROW_PX > el.scrollTop + el.clientHeight) el.scrollTop = y + ROW_PX - el.clientHeight;
  }, [props.cursor]);

  const onScroll = (): void => {
    // The rows coming into view are asked for at once, not after the next draw (an effect runs a frame later).
    const el = box.current;
    if (el && count > 0) {
      const from = Math.max(0, Math.floor(el.scrollTop / ROW_PX) - OVERSCAN);
      cache.ensure(from, Math.max(from, Math.min(count - 1, Math.ceil((el.scrollTop + el.clientHeight) / ROW_PX) + OVERSCAN)));
    }
    cancelAnimationFrame(frame.current);
    frame.current = requestAnimationFrame(() => { const el = box.current; if (el) setView({ top: el.scrollTop, height: el.clientHeight }); });
  };
  const rows: El[] = [];
  for (let i = first; i <= last; i++) rows.push(h(Row, { key: cache.ids[i] ?? `p${i}`, m: cache.item(i), index: i, p: props }));
  return h('div', { class: 'list-scroll', ref: box, onScroll, tabIndex: -1 },
    cache.total === 0 ? h('p', { class: 'empty' }, props.t('noMessages')) : null,
    h('div', { class: 'rows', role: 'list', 'aria-label': props.t('messages'), style: { height: `${count * ROW_PX}px` } }, rows));
}
