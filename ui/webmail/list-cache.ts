/**
 * The message list's data for one query (folder or search, flat or by thread): the total and a sparse array
 * of ids filled a page at a time as the visible rows need them (RFC 8621 §4.4 Email/query with position and
 * limit, the rows by a back-reference to Email/get, thread sizes by Thread/get in the same request).
 */
import type { Jmap } from './jmap.ts';
import { LIST_PROPS, type ListItem } from './types.ts';

/** Rows per request: a screenful or three, so a jump anywhere costs one small request. */
export const PAGE = 50;

export interface ListQuery { filter: Record<string, unknown>; collapseThreads: boolean }

export class ListCache {
  total = -1;
  ids: (string | undefined)[] = [];
  readonly items = new Map<string, ListItem>();
  readonly threadSize = new Map<string, number>();
  private loaded = new Set<number>();
  private inFlight = new Map<number, Promise<void>>();
  private generation = 0;
  private fresh: (string | undefined)[] | null = null;
  /** The rows last asked for: what a refresh after a change reloads. */
  first = 0;
  last = PAGE - 1;

  constructor(private readonly jmap: Jmap, readonly query: ListQuery, private readonly onChange: () => void, private readonly onError: (err: unknown) => void) {}

  /** Loads every page that holds a row in [first, last] and is not loaded yet. */
  ensure(first: number, last: number): void {
    this.first = first;
    this.last = last;
    const top = this.total < 0 ? 0 : Math.min(last, this.total - 1);
    // A failed page (the session ended, the server went away) is the app's to report; the rows stay unknown.
    for (let p = Math.floor(Math.max(0, first) / PAGE); p <= Math.floor(Math.max(0, top) / PAGE); p++) this.page(p).catch(this.onError);
  }

  page(p: number): Promise<void> {
    if (this.loaded.has(p)) return Promise.resolve();
    const running = this.inFlight.get(p);
    if (running) return running;
    const gen = this.generation;
    const run = this.fetchPage(p, gen).finally(() => this.inFlight.delete(p));
    this.inFlight.set(p, run);
    return run;
  }

  /** After a change (push): refetch the given rows' pages, then drop every other page (it may have shifted). */
  async refresh(first: number, last: number): Promise<void> {
    this.generation++;
    this.loaded = new Set();
    this.inFlight = new Map();
    this.fresh = [];
    const pages: Promise<void>[] = [];
    for (let p = Math.floor(Math.max(0, first) / PAGE); p <= Math.floor(Math.max(0, last) / PAGE); p++) pages.push(this.page(p));
    await Promise.all(pages);
  }

  private async fetchPage(p: number, gen: number): Promise<void> {
    const accountId = this.jmap.session.accountId;
    const calls: [string, Record<string, unknown>, string][] = [
      ['Email/query', { accountId, filter: this.query.filter, sort: [{ property: 'receivedAt', isAscending: false }], collapseThreads: this.query.collapseThreads, position: p * PAGE, limit: PAGE, calculateTotal: true }, 'q'],
      ['Email/get', { accountId, '#ids': { resultOf: 'q', name: 'Email/query', path: '/ids' }, properties: LIST_PROPS }, 'g'],
    ];
    if (this.query.collapseThreads) calls.push(['Thread/get', { accountId, '#ids': { resultOf: 'g', name: 'Email/get', path: '/list/*/threadId' } }, 't']);
    const r = await this.jmap.call(calls);
    if (gen !== this.generation) return;
    for (const m of r.g.list as ListItem[]) this.items.set(m.id, m);
    if (r.t) for (const th of r.t.list as { id: string; emailIds: string[] }[]) this.threadSize.set(th.id, th.emailIds.length);
    this.total = r.q.total as number;
    if (this.fresh) {
      // The first page after a refresh replaces the whole array: rows of pages not refetched are unknown now.
      this.ids = this.fresh;
      this.fresh = null;
    }
    if (this.ids.length > this.total) this.ids.length = this.total;
    (r.q.ids as string[]).forEach((id, i) => { this.ids[p * PAGE + i] = id; });
    this.loaded.add(p);
    this.onChange();
  }

  item(index: number): ListItem | undefined {
    const id = this.ids[index];
    return id === undefined ? undefined : this.items.get(id);
  }

  indexOf(id: string): number {
    return this.ids.indexOf(id);
  }
}
