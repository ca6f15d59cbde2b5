/**
 * Small shared pieces of the admin pages: loading data with a reload, a status line for the outcome of an
 * action, sizes and dates for people.
 */
import { h, type VNode } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError } from './api.ts';

/** A rendered element; Preact's per-element prop types add nothing here. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type El = VNode<any>;

/** Data from `load`, reloaded when `deps` change or `reload()` is called; `error` holds the server's text. */
export function useLoad<T>(load: () => Promise<T>, deps: unknown[] = []): { data: T | null; error: string; reload: () => void } {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState('');
  const [n, setN] = useState(0);
  useEffect(() => {
    let live = true;
    load().then((d) => { if (live) { setData(d); setError(''); } }, (e: unknown) => { if (live) setError(message(e)); });
    return () => { live = false; };
  }, [...deps, n]);
  return { data, error, reload: () => setN((x) => x + 1) };
}

export function message(e: unknown): string {
  return e instanceof ApiError || e instanceof Error ? e.message : String(e);
}

/** The outcome of the last action: role=status for success, role=alert for a refusal. */
export function useStatus(): { status: El | null; run: (action: () => Promise<string | void>) => Promise<void> } {
  const [state, setState] = useState<{ ok: boolean; text: string } | null>(null);
  return {
    status: state ? h('p', { class: `notice ${state.ok ? 'ok' : 'error'}`, role: state.ok ? 'status' : 'alert' }, state.text) : null,
    run: async (action) => {
      try {
        const text = await action();
        setState(text ? { ok: true, text } : null);
      } catch (e) {
        setState({ ok: false, text: message(e) });
      }
    },
  };
}

export function bytes(n: number | null | undefined): string {
  if (n === null || n === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) { v /= 1024; i++; }
  return `${v.toFixed(i === 0 ? 0 : 1)} ${units[i]}`;
}

/** A time in the browser's time zone; `seconds` where events are seconds apart (message trace steps). */
export function when(iso: string | null | undefined, options: { seconds?: boolean } = {}): string {
  return iso ? new Date(iso).toLocaleString('en-GB', { dateStyle: 'medium', timeStyle: options.seconds === true ? 'medium' : 'short' }) : '—';
}

export function field(label: string, input: Record<string, unknown>): El {
  return h('label', null, label, h('input', input));
}

export function table(head: string[], rows: (string | number | El | null)[][], options: { caption?: string; empty?: string } = {}): El {
  if (rows.length === 0) return h('p', { class: 'muted' }, options.empty ?? 'Nothing here.');
  return h('table', null,
    options.caption ? h('caption', { class: 'muted' }, options.caption) : null,
    h('thead', null, h('tr', null, head.map((c) => h('th', { scope: 'col' }, c)))),
    h('tbody', null, rows.map((r) => h('tr', null, r.map((c) => h('td', null, c))))));
}
