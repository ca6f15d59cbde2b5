/** Small text helpers for addresses, dates, sizes and quoting, shared by the list, the reader and the composer. */
import type { Addr } from './types.ts';

export const who = (a: Addr[] | null): string => (a ?? []).map((x) => x.name || x.email).join(', ');
export const fullAddr = (a: Addr): string => (a.name ? `${a.name} <${a.email}>` : a.email);
export const addrList = (a: Addr[] | null): string => (a ?? []).map(fullAddr).join(', ');

export function fmtDate(iso: string, lang: string): string {
  const d = new Date(iso);
  const today = new Date().toDateString() === d.toDateString();
  return today ? d.toLocaleTimeString(lang, { hour: '2-digit', minute: '2-digit' }) : d.toLocaleDateString(lang);
}

export function fmtSize(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(bytes < 10 * 1024 ? 1 : 0)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** "a@x, Bob <b@y>; c@z" into addresses; a display name is kept when given. */
export function parseAddresses(text: string): Addr[] {
  return text.split(/[,;]/).map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^(.*)<([^<>]+)>$/.exec(s);
    return m ? { name: m[1]!.trim().replace(/^"|"$/g, '') || null, email: m[2]!.trim() } : { name: null, email: s };
  });
}

/** Subject with one reply or forward prefix, not a growing chain of them. */
export function prefixed(prefix: 'Re' | 'Fwd', subject: string | null): string {
  const base = (subject ?? '').replace(/^\s*((re|fwd?|aw|wg)\s*:\s*)+/i, '');
  return `${prefix}: ${base}`;
}

export function quote(text: string): string {
  return text.replace(/\r\n/g, '\n').replace(/\n+$/, '').split('\n').map((l) => (l.startsWith('>') ? `>${l}` : `> ${l}`)).join('\n');
}
