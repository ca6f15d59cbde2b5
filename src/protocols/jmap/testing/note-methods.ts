/**
 * A tiny in-memory data type ("Note": id, title, tags) whose five standard methods are built only from the
 * standard/ helpers, so the tests show how a data type plugs into them and pin their error paths.
 */
import { z } from 'zod';
import { MAIL_CAPABILITY } from '../capabilities.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { MethodError, setError, type SetError } from '../method-error.ts';
import { changesArgsSchema, changesResponse } from '../standard/changes.ts';
import { checkGetAll, checkGetIds, getArgsSchema, pickProperties, selectProperties } from '../standard/get.ts';
import { checkQueryChangesCount, queryChangesArgsSchema } from '../standard/query-changes.ts';
import { checkSort, pageQuery, queryArgsSchema, type Filter } from '../standard/query.ts';
import { applyPatch, checkSetPreconditions, setArgsSchema, setResponse, splitWillDestroy } from '../standard/set.ts';

type Note = { id: string; title: string; tags: string[] };
type NoteCondition = { hasTag?: string; titleContains?: string };
const conditionSchema: z.ZodType<NoteCondition> = z.object({ hasTag: z.string().optional(), titleContains: z.string().optional() }).strict();

/** One account's notes with a change log: state N = after the Nth change. */
export class NoteStore {
  readonly notes = new Map<string, Note>();
  readonly log: { id: string; kind: 'created' | 'updated' | 'destroyed' }[] = [];
  /** States older than this cannot be compared against (cannotCalculateChanges). */
  oldestState = 0;
  private next = 1;
  get state(): string {
    return String(this.log.length);
  }
  create(title: string, tags: string[] = []): Note {
    const note = { id: `N${this.next++}`, title, tags };
    this.notes.set(note.id, note);
    this.log.push({ id: note.id, kind: 'created' });
    return note;
  }
}

function matches(note: Note, filter: Filter<NoteCondition> | null): boolean {
  if (filter === null) return true;
  if ('operator' in filter && 'conditions' in filter) {
    const results = (filter.conditions as Filter<NoteCondition>[]).map((f) => matches(note, f));
    return filter.operator === 'AND' ? results.every(Boolean) : filter.operator === 'OR' ? results.some(Boolean) : !results.some(Boolean);
  }
  const c = filter as NoteCondition;
  return (c.hasTag === undefined || note.tags.includes(c.hasTag)) && (c.titleContains === undefined || note.title.includes(c.titleContains));
}

function parseState(state: string, store: NoteStore): number {
  const n = /^\d+$/.test(state) ? Number(state) : -1;
  // RFC 8620 §5.2: a state the server cannot compute changes from is cannotCalculateChanges.
  if (n < store.oldestState || n > store.log.length) throw new MethodError('cannotCalculateChanges');
  return n;
}

function sortedIds(store: NoteStore, filter: Filter<NoteCondition> | null, sort: { property: string; isAscending: boolean }[] | null): string[] {
  const list = [...store.notes.values()].filter((n) => matches(n, filter));
  const [first] = sort ?? [];
  if (first) list.sort((a, b) => (first.isAscending ? 1 : -1) * a.title.localeCompare(b.title));
  return list.map((n) => n.id);
}

export function noteMethods(store: NoteStore): MethodTable {
  const PROPERTIES = ['id', 'title', 'tags'];
  return {
    'Note/get': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: getArgsSchema,
      handle: (args, ctx) => {
        let ids = checkGetIds(args.ids?.map((id) => ctx.createdIds.resolve(id) ?? id) ?? null, ctx.limits.maxObjectsInGet);
        if (ids === null) {
          checkGetAll(store.notes.size, ctx.limits.maxObjectsInGet);
          ids = [...store.notes.keys()];
        }
        const properties = selectProperties(args.properties, PROPERTIES);
        const list = ids.flatMap((id) => (store.notes.has(id) ? [pickProperties(store.notes.get(id)!, properties)] : []));
        return { accountId: args.accountId, state: store.state, list, notFound: ids.filter((id) => !store.notes.has(id)) };
      },
    }),
    'Note/changes': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: changesArgsSchema,
      handle: (args) => {
        const since = parseState(args.sinceState, store);
        const end = args.maxChanges === null ? store.log.length : Math.min(store.log.length, since + args.maxChanges);
        const slice = store.log.slice(since, end);
        const of = (kind: string) => slice.filter((e) => e.kind === kind).map((e) => e.id);
        return { ...changesResponse({ accountId: args.accountId, oldState: args.sinceState, newState: String(end), hasMoreChanges: end < store.log.length, created: of('created'), updated: of('updated'), destroyed: of('destroyed') }) };
      },
    }),
    'Note/set': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'write',
      args: setArgsSchema,
      handle: (args, ctx) => {
        const oldState = store.state;
        checkSetPreconditions(args, oldState, ctx.limits.maxObjectsInSet);
        const created: Record<string, { id: string }> = {};
        const notCreated: Record<string, SetError> = {};
        for (const [creationId, props] of Object.entries(args.create ?? {})) {
          if (typeof props.title !== 'string') {
            notCreated[creationId] = setError('invalidProperties', { properties: ['title'] });
            continue;
          }
          const note = store.create(props.title);
          ctx.createdIds.set(creationId, note.id);
          created[creationId] = { id: note.id };
        }
        const { update, notUpdated } = splitWillDestroy(args.update, args.destroy);
        const updated: Record<string, null> = {};
        for (const [ref, patch] of Object.entries(update)) {
          const id = ctx.createdIds.resolve(ref);
          const note = id === undefined ? undefined : store.notes.get(id);
          if (note === undefined) {
            notUpdated[ref] = setError('notFound');
            continue;
          }
          const patched = applyPatch(note, patch as Record<string, unknown>);
          if (!patched.ok) {
            notUpdated[ref] = patched.error;
            continue;
          }
          store.notes.set(note.id, patched.value as Note);
          store.log.push({ id: note.id, kind: 'updated' });
          updated[ref] = null;
        }
        const destroyed: string[] = [];
        const notDestroyed: Record<string, SetError> = {};
        for (const ref of args.destroy ?? []) {
          const id = ctx.createdIds.resolve(ref);
          if (id === undefined || !store.notes.delete(id)) {
            notDestroyed[ref] = setError('notFound');
            continue;
          }
          store.log.push({ id, kind: 'destroyed' });
          destroyed.push(ref);
        }
        return { ...setResponse({ accountId: args.accountId, oldState, newState: store.state, created, updated, destroyed, notCreated, notUpdated, notDestroyed }) };
      },
    }),
    'Note/query': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: queryArgsSchema(conditionSchema),
      handle: (args) => {
        checkSort(args.sort, ['title'], ['i;unicode-casemap']);
        if (args.filter !== null && JSON.stringify(args.filter).includes('"titleContains":""')) throw new MethodError('unsupportedFilter', 'empty titleContains');
        const ids = sortedIds(store, args.filter as Filter<NoteCondition> | null, args.sort);
        return { accountId: args.accountId, queryState: store.state, canCalculateChanges: true, ...pageQuery(ids, args, { maxLimit: 10 }) };
      },
    }),
    'Note/queryChanges': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: queryChangesArgsSchema(conditionSchema),
      handle: (args) => {
        const since = parseState(args.sinceQueryState, store);
        const touched = new Set(store.log.slice(since).map((e) => e.id));
        const ids = sortedIds(store, args.filter as Filter<NoteCondition> | null, args.sort);
        const added = ids.flatMap((id, index) => (touched.has(id) ? [{ id, index }] : []));
        const removed = [...touched];
        checkQueryChangesCount(removed.length, added.length, args.maxChanges);
        return { accountId: args.accountId, oldQueryState: args.sinceQueryState, newQueryState: store.state, removed, added, ...(args.calculateTotal ? { total: ids.length } : {}) };
      },
    }),
  };
}
