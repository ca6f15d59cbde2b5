/**
 * Mailbox/get, /changes, /query, /queryChanges and /set (RFC 8621 §2) over the IMAP mailboxes: the name's
 * last "/" level is the JMAP name and the rest the parent, special-use flags are roles, subscriptions are
 * IMAP's (LSUB sees what isSubscribed sets).
 */
import { z } from 'zod';
import { formatObjectId, parseObjectId } from '../../../core/object-ids.ts';
import { MAIL_CAPABILITY } from '../capabilities.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { MethodError, setError, type SetError } from '../method-error.ts';
import { changesArgsSchema } from '../standard/changes.ts';
import { checkGetIds, getArgsSchema, pickProperties, selectProperties } from '../standard/get.ts';
import { checkQueryChangesCount, queryChangesArgsSchema } from '../standard/query-changes.ts';
import { checkSort, pageQuery, queryArgsSchema, type Filter } from '../standard/query.ts';
import { unsignedIntSchema } from '../standard/primitives.ts';
import { checkSetPreconditions, setArgsSchema, setResponse, splitWillDestroy } from '../standard/set.ts';
import type { JmapMailBackend, MailMailbox, MailboxWriteError } from './backend.ts';
import { formatState, mailChanges, MAX_CHANGES, parseState } from './state.ts';

const ROLE_OF: Record<string, string> = { '\\Sent': 'sent', '\\Drafts': 'drafts', '\\Trash': 'trash', '\\Junk': 'junk', '\\Archive': 'archive', '\\All': 'all', '\\Flagged': 'flagged' };
const SPECIAL_USE_OF: Record<string, string> = Object.fromEntries(Object.entries(ROLE_OF).map(([k, v]) => [v, k]));

export const MAILBOX_PROPERTIES = ['id', 'name', 'parentId', 'role', 'sortOrder', 'totalEmails', 'unreadEmails', 'totalThreads', 'unreadThreads', 'myRights', 'isSubscribed'];
/** The properties a client may give in Mailbox/set create and update; the others are the server's. */
const SETTABLE = ['name', 'parentId', 'role', 'sortOrder', 'isSubscribed'];
const SERVER_SET = MAILBOX_PROPERTIES.filter((p) => !SETTABLE.includes(p));

export type JmapMailbox = {
  id: string; name: string; parentId: string | null; role: string | null; sortOrder: number;
  totalEmails: number; unreadEmails: number; totalThreads: number; unreadThreads: number;
  myRights: Record<string, boolean>; isSubscribed: boolean;
};

export function roleOf(mailbox: Pick<MailMailbox, 'name' | 'specialUse'>): string | null {
  if (mailbox.name === 'INBOX') return 'inbox';
  return mailbox.specialUse === null ? null : (ROLE_OF[mailbox.specialUse] ?? null);
}

/** RFC 8621 §2 sortOrder: what a client did not set is, by default, the inbox first, the other roles next, then the rest. */
function defaultSortOrder(role: string | null): number {
  return role === 'inbox' ? 0 : role !== null ? 10 : 100;
}

/** What the user may do with a mailbox of that role: everything, except renaming or deleting the inbox. */
function rightsOf(role: string | null): Record<string, boolean> {
  return {
    mayReadItems: true, mayAddItems: true, mayRemoveItems: true, maySetSeen: true, maySetKeywords: true,
    mayCreateChild: true, mayRename: role !== 'inbox', mayDelete: role !== 'inbox', maySubmit: true,
  };
}

/** The JMAP view of every mailbox of the account, parents resolved by IMAP name. */
export function toJmapMailboxes(list: readonly MailMailbox[]): JmapMailbox[] {
  const byName = new Map(list.map((m) => [m.name, m]));
  return list.map((m) => {
    const slash = m.name.lastIndexOf('/');
    const parent = slash > 0 ? byName.get(m.name.slice(0, slash)) : undefined;
    const role = roleOf(m);
    return {
      id: formatObjectId('mailbox', m.id),
      name: parent ? m.name.slice(slash + 1) : m.name,
      parentId: parent ? formatObjectId('mailbox', parent.id) : null,
      role,
      // RFC 8621 §2 sortOrder: what a client set; by default the inbox first, the other roles next, then the rest.
      sortOrder: m.sortOrder ?? defaultSortOrder(role),
      totalEmails: m.totalEmails,
      unreadEmails: m.unreadEmails,
      totalThreads: m.totalThreads,
      unreadThreads: m.unreadThreads,
      myRights: rightsOf(role),
      isSubscribed: m.subscribed,
    };
  });
}

type MailboxCondition = { parentId?: string | null; name?: string; role?: string | null; hasAnyRole?: boolean; isSubscribed?: boolean };
const conditionSchema: z.ZodType<MailboxCondition> = z.object({
  parentId: z.string().nullable().optional(),
  name: z.string().optional(),
  role: z.string().nullable().optional(),
  hasAnyRole: z.boolean().optional(),
  isSubscribed: z.boolean().optional(),
}).strict();

function matches(m: JmapMailbox, filter: Filter<MailboxCondition> | null): boolean {
  if (filter === null) return true;
  if ('operator' in filter && 'conditions' in filter) {
    const results = (filter.conditions as Filter<MailboxCondition>[]).map((f) => matches(m, f));
    return filter.operator === 'AND' ? results.every(Boolean) : filter.operator === 'OR' ? results.some(Boolean) : !results.some(Boolean);
  }
  const c = filter as MailboxCondition;
  if (c.parentId !== undefined && m.parentId !== c.parentId) return false;
  if (c.name !== undefined && !m.name.toLowerCase().includes(c.name.toLowerCase())) return false;
  if (c.role !== undefined && m.role !== c.role) return false;
  if (c.hasAnyRole !== undefined && (m.role !== null) !== c.hasAnyRole) return false;
  if (c.isSubscribed !== undefined && m.isSubscribed !== c.isSubscribed) return false;
  return true;
}

const mailboxQuerySchema = queryArgsSchema(conditionSchema).extend({ sortAsTree: z.boolean().default(false), filterAsTree: z.boolean().default(false) });
const mailboxQueryChangesSchema = queryChangesArgsSchema(conditionSchema).extend({ sortAsTree: z.boolean().default(false), filterAsTree: z.boolean().default(false) });

/** The sorted ids of the mailboxes a query matches (RFC 8621 §2.5 filterAsTree and sortAsTree included). */
function queryIds(mailboxes: JmapMailbox[], args: { filter: unknown; sort: { property: string; isAscending: boolean }[] | null; sortAsTree: boolean; filterAsTree: boolean }): string[] {
  const filter = args.filter as Filter<MailboxCondition> | null;
  let matching = mailboxes.filter((m) => matches(m, filter));
  // RFC 8621 §2.5 filterAsTree: a mailbox is kept only if its parents are kept too.
  if (args.filterAsTree) {
    const kept = new Set(matching.map((m) => m.id));
    const byId = new Map(mailboxes.map((m) => [m.id, m]));
    const ok = (m: JmapMailbox): boolean => m.parentId === null || (kept.has(m.parentId) && ok(byId.get(m.parentId)!));
    matching = matching.filter(ok);
  }
  return sortMailboxes(matching, args.sort, args.sortAsTree).map((m) => m.id);
}

/** RFC 8621 §2.5: with sortAsTree, parents come before their children, siblings in sort order. */
function sortMailboxes(list: JmapMailbox[], sort: { property: string; isAscending: boolean }[] | null, asTree: boolean): JmapMailbox[] {
  const compare = (a: JmapMailbox, b: JmapMailbox): number => {
    for (const c of sort ?? []) {
      const d = c.property === 'name' ? a.name.localeCompare(b.name) : a.sortOrder - b.sortOrder;
      if (d !== 0) return c.isAscending ? d : -d;
    }
    return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
  };
  if (!asTree) return [...list].sort(compare);
  const out: JmapMailbox[] = [];
  const ids = new Set(list.map((m) => m.id));
  const visit = (parentId: string | null): void => {
    for (const m of list.filter((x) => (x.parentId !== null && ids.has(x.parentId) ? x.parentId : null) === parentId).sort(compare)) {
      out.push(m);
      visit(m.id);
    }
  };
  visit(null);
  return out;
}

/**
 * The SetError of a refused mailbox write. RFC 8621 §2: two siblings must not have the same name; a create or
 * rename onto an existing name is `alreadyExists` with the existing mailbox's id (RFC 8620 §5.4 existingId).
 */
function mailboxError(error: MailboxWriteError, existing?: { list: readonly MailMailbox[]; name: string }): SetError {
  if (error === 'mailboxHasChild' || error === 'mailboxHasEmail') return setError(error);
  if (error === 'alreadyExists') {
    const found = existing?.list.find((m) => m.name === existing.name);
    return setError('alreadyExists', { description: 'a mailbox of that name exists under the same parent', ...(found ? { existingId: formatObjectId('mailbox', found.id) } : {}) });
  }
  return setError(error === 'notFound' ? 'notFound' : 'forbidden');
}

const mailboxCreateSchema = z.object({
  name: z.string().min(1).max(255),
  parentId: z.string().nullable().default(null),
  role: z.string().nullable().default(null),
  sortOrder: unsignedIntSchema.optional(),
  isSubscribed: z.boolean().default(false),
}).passthrough();

/** RFC 8620 §5.3: a create naming a property the Mailbox type does not have is refused, not silently ignored. */
function unknownProperties(raw: unknown): string[] {
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) return [];
  return Object.keys(raw).filter((k) => !MAILBOX_PROPERTIES.includes(k));
}

export function mailboxMethods(): MethodTable<JmapMailBackend> {
  async function load(backend: JmapMailBackend, accountId: string) {
    const [state, list] = await Promise.all([backend.mailState(accountId), backend.mailboxes(accountId)]);
    return { state, raw: list, mailboxes: toJmapMailboxes(list) };
  }

  return {
    'Mailbox/get': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: getArgsSchema,
      handle: async (args, ctx) => {
        const { state, mailboxes } = await load(ctx.backend, args.accountId);
        const properties = selectProperties(args.properties, MAILBOX_PROPERTIES);
        const ids = checkGetIds(args.ids?.map((id) => ctx.createdIds.resolve(id) ?? id) ?? null, ctx.limits.maxObjectsInGet) ?? mailboxes.map((m) => m.id);
        const byId = new Map(mailboxes.map((m) => [m.id, m]));
        return {
          accountId: args.accountId,
          state: formatState(state),
          list: ids.flatMap((id) => (byId.has(id) ? [pickProperties(byId.get(id)!, properties)] : [])),
          notFound: ids.filter((id) => !byId.has(id)),
        };
      },
    }),
    'Mailbox/changes': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: changesArgsSchema,
      handle: async (args, ctx) => ({ ...(await mailChanges(ctx.backend, args.accountId, 'Mailbox', args)), updatedProperties: null }),
    }),
    'Mailbox/query': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: mailboxQuerySchema,
      handle: async (args, ctx) => {
        checkSort(args.sort, ['sortOrder', 'name'], ['i;unicode-casemap', 'i;ascii-casemap']);
        const { state, mailboxes } = await load(ctx.backend, args.accountId);
        const ids = queryIds(mailboxes, args);
        return { accountId: args.accountId, queryState: formatState(state), canCalculateChanges: true, ...pageQuery(ids, args) };
      },
    }),
    'Mailbox/queryChanges': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: mailboxQueryChangesSchema,
      handle: async (args, ctx) => {
        checkSort(args.sort, ['sortOrder', 'name'], ['i;unicode-casemap', 'i;ascii-casemap']);
        const { state, mailboxes } = await load(ctx.backend, args.accountId);
        const since = parseState(args.sinceQueryState, state);
        const changes = await ctx.backend.changes(args.accountId, 'Mailbox', since, MAX_CHANGES);
        if (changes.length > MAX_CHANGES) throw new MethodError('cannotCalculateChanges', 'too many changes; query again');
        const ids = queryIds(mailboxes, args);
        // RFC 8620 §5.6: removed may hold ids that were not in the old results, as long as each id now in
        // the results and possibly moved is added back at its index. A mailbox's place depends on its
        // parent and siblings (tree order, parentId filters), and an account has few mailboxes, so any
        // change reports the whole list: removed everything that was or may have been there, added it all.
        const removed = changes.length === 0 ? [] : [...new Set([...ids, ...changes.map((c) => formatObjectId('mailbox', c.id))])];
        const added = changes.length === 0 ? [] : ids.map((id, index) => ({ id, index }));
        checkQueryChangesCount(removed.length, added.length, args.maxChanges);
        return { accountId: args.accountId, oldQueryState: args.sinceQueryState, newQueryState: formatState(state), removed, added, ...(args.calculateTotal ? { total: ids.length } : {}) };
      },
    }),
    'Mailbox/set': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'write',
      args: setArgsSchema.extend({ onDestroyRemoveEmails: z.boolean().default(false) }),
      handle: async (args, ctx) => {
        const backend = ctx.backend;
        const accountId = args.accountId;
        const oldState = formatState(await backend.mailState(accountId));
        checkSetPreconditions(args, oldState, ctx.limits.maxObjectsInSet);
        const created: Record<string, Record<string, unknown>> = {};
        const notCreated: Record<string, SetError> = {};
        const resolveParent = (parentRef: string | null, list: readonly MailMailbox[]): string | SetError => {
          if (parentRef === null) return '';
          const parentId = parseObjectId('mailbox', ctx.createdIds.resolve(parentRef) ?? '');
          const parent = list.find((m) => m.id === parentId);
          return parent ? `${parent.name}/` : setError('invalidProperties', { properties: ['parentId'] });
        };
        for (const [creationId, raw] of Object.entries(args.create ?? {})) {
          // RFC 8620 §5.3 invalidProperties: "the record given is invalid", with the properties at fault.
          const unknown = unknownProperties(raw);
          if (unknown.length > 0) {
            notCreated[creationId] = setError('invalidProperties', { properties: unknown, description: 'not properties of a Mailbox' });
            continue;
          }
          const parsed = mailboxCreateSchema.safeParse(raw);
          if (!parsed.success) {
            notCreated[creationId] = setError('invalidProperties', { properties: [...new Set(parsed.error.issues.map((i) => String(i.path[0] ?? 'name')))] });
            continue;
          }
          const props = parsed.data;
          const readOnly = SERVER_SET.filter((p) => p in props);
          if (readOnly.length > 0 || props.name.includes('/')) {
            notCreated[creationId] = setError('invalidProperties', { properties: readOnly.length > 0 ? readOnly : ['name'] });
            continue;
          }
          // One read of the account's mailboxes per create: earlier creates of this request are in it.
          const list = await backend.mailboxes(accountId);
          const specialUse = props.role === null ? null : SPECIAL_USE_OF[props.role];
          // RFC 8621 §2 role: no two mailboxes of an account have the same role.
          if (specialUse === undefined || (props.role !== null && list.some((m) => roleOf(m) === props.role))) {
            notCreated[creationId] = setError('invalidProperties', { properties: ['role'], ...(specialUse === undefined ? {} : { description: `a mailbox with role ${props.role} exists` }) });
            continue;
          }
          const prefix = resolveParent(props.parentId, list);
          if (typeof prefix !== 'string') {
            notCreated[creationId] = prefix;
            continue;
          }
          const name = `${prefix}${props.name}`;
          const result = await backend.createMailbox(accountId, name, specialUse);
          if (typeof result === 'string') {
            notCreated[creationId] = mailboxError(result, { list, name });
            continue;
          }
          if (props.isSubscribed) await backend.setSubscribed(accountId, result.id, true);
          if (props.sortOrder !== undefined) await backend.setSortOrder(accountId, result.id, props.sortOrder);
          const id = formatObjectId('mailbox', result.id);
          ctx.createdIds.set(creationId, id);
          const role = roleOf({ name, specialUse });
          created[creationId] = { id, sortOrder: props.sortOrder ?? defaultSortOrder(role), totalEmails: 0, unreadEmails: 0, totalThreads: 0, unreadThreads: 0, myRights: rightsOf(role), isSubscribed: props.isSubscribed };
        }
        const { update, notUpdated } = splitWillDestroy(args.update, args.destroy);
        const updated: Record<string, null> = {};
        for (const [ref, rawPatch] of Object.entries(update)) {
          const patch = rawPatch as Record<string, unknown>;
          const numeric = parseObjectId('mailbox', ctx.createdIds.resolve(ref) ?? '');
          const list = await backend.mailboxes(accountId);
          const current = list.find((m) => m.id === numeric);
          if (!current) {
            notUpdated[ref] = setError('notFound');
            continue;
          }
          const view = toJmapMailboxes(list).find((m) => m.id === formatObjectId('mailbox', current.id))!;
          const bad = Object.keys(patch).filter((k) => !SETTABLE.includes(k));
          if (bad.length > 0 || ('name' in patch && (typeof patch.name !== 'string' || patch.name === '' || patch.name.includes('/'))) || ('isSubscribed' in patch && typeof patch.isSubscribed !== 'boolean')
            || ('role' in patch && patch.role !== view.role) || ('sortOrder' in patch && !unsignedIntSchema.safeParse(patch.sortOrder).success)) {
            notUpdated[ref] = setError('invalidProperties', { properties: bad.length > 0 ? bad : Object.keys(patch) });
            continue;
          }
          if ('name' in patch || 'parentId' in patch) {
            const prefix = resolveParent('parentId' in patch ? (patch.parentId as string | null) : view.parentId, list);
            if (typeof prefix !== 'string') {
              notUpdated[ref] = prefix;
              continue;
            }
            const newName = `${prefix}${'name' in patch ? (patch.name as string) : view.name}`;
            // RFC 8621 §2.5: a mailbox cannot become its own descendant.
            if (newName.startsWith(`${current.name}/`)) {
              notUpdated[ref] = setError('invalidProperties', { properties: ['parentId'] });
              continue;
            }
            if (newName !== current.name) {
              const r = await backend.renameMailbox(accountId, current.id, newName);
              if (r !== true) {
                notUpdated[ref] = mailboxError(r, { list, name: newName });
                continue;
              }
            }
          }
          if (typeof patch.isSubscribed === 'boolean' && patch.isSubscribed !== current.subscribed) await backend.setSubscribed(accountId, current.id, patch.isSubscribed);
          // RFC 8621 §2 sortOrder: set by the client, kept for every device.
          if (typeof patch.sortOrder === 'number' && patch.sortOrder !== view.sortOrder) await backend.setSortOrder(accountId, current.id, patch.sortOrder);
          updated[ref] = null;
        }
        const destroyed: string[] = [];
        const notDestroyed: Record<string, SetError> = {};
        for (const ref of args.destroy ?? []) {
          const numeric = parseObjectId('mailbox', ctx.createdIds.resolve(ref) ?? '');
          const r = numeric === null ? 'notFound' : await backend.destroyMailbox(accountId, numeric, { removeEmails: args.onDestroyRemoveEmails });
          if (r === true) destroyed.push(ref);
          else notDestroyed[ref] = mailboxError(r);
        }
        const newState = formatState(await backend.mailState(accountId));
        return { ...setResponse({ accountId, oldState, newState, created, updated, destroyed, notCreated, notUpdated, notDestroyed }) };
      },
    }),
  };
}
