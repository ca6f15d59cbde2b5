/**
 * Email/query, Email/queryChanges, Email/changes and SearchSnippet/get (RFC 8621 §4.3-§4.5, §5): filters
 * and sorts over the store's email index, reading a message only for conditions on its content; the
 * newest page of one mailbox is answered from the store's date index alone.
 */
import { z } from 'zod';
import { formatObjectId, parseObjectId } from '../../../core/object-ids.ts';
import { MAIL_CAPABILITY } from '../capabilities.ts';
import { defineMethod, type MethodTable } from '../method.ts';
import { MethodError } from '../method-error.ts';
import { changesArgsSchema } from '../standard/changes.ts';
import { idSchema, intSchema, unsignedIntSchema, utcDateSchema } from '../standard/primitives.ts';
import { checkQueryChangesCount } from '../standard/query-changes.ts';
import { filterSchema, pageQuery, type Filter } from '../standard/query.ts';
import type { JmapMailBackend, MailIndexRow } from './backend.ts';
import { emailBlobId } from './blobs.ts';
import { EmailView } from './email-view.ts';
import { bodyTextOf, documentMatches, searchDocumentOf, termsOf, type MailSearchDocument, type MailSearchTerm } from './search-document.ts';
import { flagTextHasKeyword } from './keywords.ts';
import { formatState, mailChanges, parseState } from './state.ts';

/** RFC 8621 §4.4.1 FilterCondition. */
type EmailCondition = {
  inMailbox?: string; inMailboxOtherThan?: string[]; before?: string; after?: string; minSize?: number; maxSize?: number;
  allInThreadHaveKeyword?: string; someInThreadHaveKeyword?: string; noneInThreadHaveKeyword?: string; hasKeyword?: string; notKeyword?: string;
  hasAttachment?: boolean; text?: string; from?: string; to?: string; cc?: string; bcc?: string; subject?: string; body?: string; header?: string[];
};
const conditionSchema: z.ZodType<EmailCondition> = z.object({
  inMailbox: idSchema.optional(), inMailboxOtherThan: z.array(idSchema).optional(), before: utcDateSchema.optional(), after: utcDateSchema.optional(),
  minSize: unsignedIntSchema.optional(), maxSize: unsignedIntSchema.optional(),
  allInThreadHaveKeyword: z.string().optional(), someInThreadHaveKeyword: z.string().optional(), noneInThreadHaveKeyword: z.string().optional(),
  hasKeyword: z.string().optional(), notKeyword: z.string().optional(), hasAttachment: z.boolean().optional(),
  text: z.string().optional(), from: z.string().optional(), to: z.string().optional(), cc: z.string().optional(), bcc: z.string().optional(),
  subject: z.string().optional(), body: z.string().optional(), header: z.array(z.string()).min(1).max(2).optional(),
}).strict();

const emailComparatorSchema = z.object({ property: z.string(), isAscending: z.boolean().default(true), collation: z.string().optional(), keyword: z.string().optional() });
type EmailComparator = z.infer<typeof emailComparatorSchema>;
const SORTABLE = ['receivedAt', 'size', 'from', 'to', 'subject', 'sentAt', 'hasKeyword', 'allInThreadHaveKeyword', 'someInThreadHaveKeyword'];

const baseQuery = {
  accountId: idSchema,
  filter: filterSchema(conditionSchema).nullable().default(null),
  sort: z.array(emailComparatorSchema).nullable().default(null),
  collapseThreads: z.boolean().default(false),
};
const querySchema = z.object({ ...baseQuery, position: intSchema.default(0), anchor: idSchema.nullable().default(null), anchorOffset: intSchema.default(0), limit: unsignedIntSchema.nullable().default(null), calculateTotal: z.boolean().default(false) });
const queryChangesSchema = z.object({ ...baseQuery, sinceQueryState: z.string(), maxChanges: unsignedIntSchema.nullable().default(null), upToId: idSchema.nullable().default(null), calculateTotal: z.boolean().default(false) });

/** Ids returned by one Email/query at most (RFC 8620 §5.5: a larger limit is clamped and said so). */
export const MAX_QUERY_LIMIT = 1000;

/**
 * The search index's answer for the content terms of one query: the account's emails it does not hold yet
 * (delivered since the indexer last ran: those are read), and for each term which of the rest match. An
 * email listed before the answer was read and not among `unindexed` had its document then.
 */
interface IndexAnswer {
  unindexed: Set<number>;
  matches: Set<number>[];
}

/** Every condition of the filter with content terms, each with the position of its first term in one list. */
function collectTerms(filter: Filter<EmailCondition> | null): { terms: MailSearchTerm[]; offsets: Map<EmailCondition, number> } {
  const terms: MailSearchTerm[] = [];
  const offsets = new Map<EmailCondition, number>();
  const walk = (f: Filter<EmailCondition> | null): void => {
    if (f === null) return;
    if ('operator' in f && 'conditions' in f) {
      for (const c of f.conditions as Filter<EmailCondition>[]) walk(c);
      return;
    }
    const own = termsOf(f as EmailCondition);
    if (own.length > 0 && !offsets.has(f as EmailCondition)) {
      offsets.set(f as EmailCondition, terms.length);
      terms.push(...own);
    }
  };
  walk(filter);
  return { terms, offsets };
}

class Evaluator {
  private threadFlags: Map<number, string[]> | null = null;
  private readonly documents = new Map<number, MailSearchDocument | null>();
  constructor(
    private readonly backend: JmapMailBackend,
    private readonly accountId: string,
    private readonly all: () => Promise<MailIndexRow[]>,
    private readonly search: { terms: MailSearchTerm[]; offsets: Map<EmailCondition, number>; index: IndexAnswer | null },
  ) {}

  private async threads(): Promise<Map<number, string[]>> {
    if (this.threadFlags === null) {
      this.threadFlags = new Map();
      for (const r of await this.all()) {
        const list = this.threadFlags.get(r.threadId) ?? [];
        list.push(r.flags);
        this.threadFlags.set(r.threadId, list);
      }
    }
    return this.threadFlags;
  }

  /** The search document of an email the index does not hold yet, made from its bytes as the indexer would. */
  private async document(id: number): Promise<MailSearchDocument | null> {
    if (!this.documents.has(id)) {
      const bytes = await this.backend.emailBytes(this.accountId, id);
      this.documents.set(id, bytes === null ? null : searchDocumentOf(new EmailView(bytes, emailBlobId(id))));
    }
    return this.documents.get(id)!;
  }

  async threadHas(row: MailIndexRow, keyword: string, mode: 'all' | 'some'): Promise<boolean> {
    const flags = (await this.threads()).get(row.threadId) ?? [row.flags];
    return mode === 'all' ? flags.every((f) => flagTextHasKeyword(f, keyword)) : flags.some((f) => flagTextHasKeyword(f, keyword));
  }

  private async contentMatches(row: MailIndexRow, c: EmailCondition): Promise<boolean> {
    const offset = this.search.offsets.get(c);
    if (offset === undefined) return true;
    const end = offset + termsOf(c).length;
    const index = this.search.index;
    if (index !== null && !index.unindexed.has(row.id)) {
      for (let i = offset; i < end; i++) if (!index.matches[i]!.has(row.id)) return false;
      return true;
    }
    const doc = await this.document(row.id);
    if (doc === null) return false;
    for (let i = offset; i < end; i++) if (!documentMatches(doc, this.search.terms[i]!)) return false;
    return true;
  }

  async matches(row: MailIndexRow, filter: Filter<EmailCondition> | null): Promise<boolean> {
    if (filter === null) return true;
    if ('operator' in filter && 'conditions' in filter) {
      const conditions = filter.conditions as Filter<EmailCondition>[];
      for (const f of conditions) {
        const r = await this.matches(row, f);
        if (filter.operator === 'AND' && !r) return false;
        if (filter.operator === 'OR' && r) return true;
        if (filter.operator === 'NOT' && r) return false;
      }
      return filter.operator !== 'OR';
    }
    const c = filter as EmailCondition;
    if (c.inMailbox !== undefined && !row.mailboxIds.includes(parseObjectId('mailbox', c.inMailbox) ?? -1)) return false;
    if (c.inMailboxOtherThan !== undefined) {
      const excluded = new Set(c.inMailboxOtherThan.map((id) => parseObjectId('mailbox', id)));
      if (!row.mailboxIds.some((m) => !excluded.has(m))) return false;
    }
    if (c.before !== undefined && !(row.receivedAt < Date.parse(c.before))) return false;
    if (c.after !== undefined && !(row.receivedAt >= Date.parse(c.after))) return false;
    if (c.minSize !== undefined && row.size < c.minSize) return false;
    if (c.maxSize !== undefined && row.size >= c.maxSize) return false;
    if (c.hasKeyword !== undefined && !flagTextHasKeyword(row.flags, c.hasKeyword)) return false;
    if (c.notKeyword !== undefined && flagTextHasKeyword(row.flags, c.notKeyword)) return false;
    if (c.allInThreadHaveKeyword !== undefined && !(await this.threadHas(row, c.allInThreadHaveKeyword, 'all'))) return false;
    if (c.someInThreadHaveKeyword !== undefined && !(await this.threadHas(row, c.someInThreadHaveKeyword, 'some'))) return false;
    if (c.noneInThreadHaveKeyword !== undefined && (await this.threadHas(row, c.noneInThreadHaveKeyword, 'some'))) return false;
    // RFC 8621 §4.4.1: text, from, to, cc, bcc, subject, body and header compare as case-insensitive
    // substrings; the index answers for the emails it holds, the rest are read (search-document.ts).
    return this.contentMatches(row, c);
  }
}

async function sortRows(rows: MailIndexRow[], sort: EmailComparator[] | null, evaluator: Evaluator): Promise<MailIndexRow[]> {
  const comparators = sort === null || sort.length === 0 ? [{ property: 'receivedAt', isAscending: false } as EmailComparator] : sort;
  for (const c of comparators) {
    if (!SORTABLE.includes(c.property)) throw new MethodError('unsupportedSort', `cannot sort by ${JSON.stringify(c.property)}`);
    if (c.collation !== undefined && !['i;unicode-casemap', 'i;ascii-casemap', 'i;ascii-numeric'].includes(c.collation)) throw new MethodError('unsupportedSort', 'unknown collation');
    if (c.property.endsWith('Keyword') && c.keyword === undefined) throw new MethodError('invalidArguments', `${c.property} needs a keyword`);
  }
  const keys = new Map<number, unknown[]>();
  for (const r of rows) {
    const key: unknown[] = [];
    for (const c of comparators) {
      switch (c.property) {
        case 'receivedAt': key.push(r.receivedAt); break;
        case 'size': key.push(r.size); break;
        case 'from': key.push(r.fromSort); break;
        case 'to': key.push(r.toSort); break;
        case 'subject': key.push(r.baseSubject); break;
        case 'sentAt': key.push(r.sentAt ?? r.receivedAt); break;
        case 'hasKeyword': key.push(flagTextHasKeyword(r.flags, c.keyword!) ? 1 : 0); break;
        default: key.push((await evaluator.threadHas(r, c.keyword!, c.property === 'allInThreadHaveKeyword' ? 'all' : 'some')) ? 1 : 0);
      }
    }
    keys.set(r.id, key);
  }
  const tieAscending = comparators[0]!.isAscending;
  return [...rows].sort((a, b) => {
    const ka = keys.get(a.id)!;
    const kb = keys.get(b.id)!;
    for (let i = 0; i < comparators.length; i++) {
      const x = ka[i] as string | number;
      const y = kb[i] as string | number;
      if (x !== y) return (x < y ? -1 : 1) * (comparators[i]!.isAscending ? 1 : -1);
    }
    return (a.id - b.id) * (tieAscending ? 1 : -1);
  });
}

/** The full sorted result of a query (ids as numbers), threads collapsed when asked. */
async function runQuery(backend: JmapMailBackend, accountId: string, args: { filter: unknown; sort: EmailComparator[] | null; collapseThreads: boolean }): Promise<MailIndexRow[]> {
  const filter = args.filter as Filter<EmailCondition> | null;
  let all: Promise<MailIndexRow[]> | null = null;
  const allRows = (): Promise<MailIndexRow[]> => (all ??= backend.emailIndex(accountId));
  // One mailbox's rows are enough when the filter requires that mailbox.
  const single = filter !== null && !('operator' in filter) ? (filter as EmailCondition).inMailbox : undefined;
  const mailboxId = single === undefined ? undefined : parseObjectId('mailbox', single);
  const { terms, offsets } = collectTerms(filter);
  const searchable = terms.length > 0 && backend.searchEmails !== undefined;
  const search = async (): Promise<IndexAnswer | null> => {
    if (!searchable) return null;
    const r = await backend.searchEmails!(accountId, terms);
    return { unindexed: new Set(r.unindexed), matches: r.matches };
  };
  let index: IndexAnswer | null;
  let candidates: MailIndexRow[];
  const own = searchable && filter !== null ? offsets.get(filter as EmailCondition) : undefined;
  if (mailboxId === null) {
    index = null;
    candidates = [];
  } else if (own !== undefined) {
    // A single condition with content terms can only hold for the indexed emails that match all of its terms
    // and for those not indexed yet: only their rows are read (after the index), not the whole mailbox's.
    index = (await search())!;
    const sets = index.matches.slice(own, own + termsOf(filter as EmailCondition).length).sort((a, b) => a.size - b.size);
    const ids = [...index.unindexed, ...[...sets[0]!].filter((id) => sets.every((s) => s.has(id)))];
    candidates = await backend.emailIndex(accountId, { ...(mailboxId === undefined ? {} : { mailboxId }), ids });
  } else {
    // The candidates before the index: each of them not among the index's unindexed had its document when
    // the index was read, so the index's answer for it is exact (one delivered in between is not a candidate).
    candidates = mailboxId === undefined ? await allRows() : await backend.emailIndex(accountId, { mailboxId });
    index = await search();
  }
  const evaluator = new Evaluator(backend, accountId, allRows, { terms, offsets, index });
  const matching: MailIndexRow[] = [];
  for (const row of candidates) if (await evaluator.matches(row, filter)) matching.push(row);
  let sorted = await sortRows(matching, args.sort, evaluator);
  if (args.collapseThreads) {
    const seen = new Set<number>();
    sorted = sorted.filter((r) => (seen.has(r.threadId) ? false : (seen.add(r.threadId), true)));
  }
  return sorted;
}

/** The newest page of one mailbox straight from the date index, when the query is exactly that. */
function fastPage(args: z.infer<typeof querySchema>): { mailboxId: number } | null {
  const f = args.filter as Record<string, unknown> | null;
  if (f === null || Object.keys(f).length !== 1 || typeof f.inMailbox !== 'string') return null;
  const newestFirst = args.sort === null || (args.sort.length === 1 && args.sort[0]!.property === 'receivedAt' && !args.sort[0]!.isAscending && args.sort[0]!.collation === undefined);
  if (!newestFirst || args.collapseThreads || args.anchor !== null || args.position < 0) return null;
  const mailboxId = parseObjectId('mailbox', f.inMailbox);
  return mailboxId === null ? null : { mailboxId };
}

export function emailQueryMethods(): MethodTable<JmapMailBackend> {
  return {
    'Email/changes': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: changesArgsSchema,
      handle: async (args, ctx) => ({ ...(await mailChanges(ctx.backend, args.accountId, 'Email', args)) }),
    }),
    'Email/query': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: querySchema,
      handle: async (args, ctx) => {
        const state = formatState(await ctx.backend.mailState(args.accountId));
        const limit = args.limit === null || args.limit > MAX_QUERY_LIMIT ? MAX_QUERY_LIMIT : args.limit;
        const clamped = args.limit === null || args.limit > MAX_QUERY_LIMIT ? { limit: MAX_QUERY_LIMIT } : {};
        const fast = fastPage(args);
        if (fast !== null) {
          const page = await ctx.backend.mailboxPage(args.accountId, fast.mailboxId, { position: args.position, limit });
          if (page !== null) {
            return {
              accountId: args.accountId, queryState: state, canCalculateChanges: true, collapseThreads: false, position: args.position,
              ids: page.ids.map((id) => formatObjectId('email', id)), ...(args.calculateTotal ? { total: page.total } : {}), ...clamped,
            };
          }
        }
        const rows = await runQuery(ctx.backend, args.accountId, args);
        const ids = rows.map((r) => formatObjectId('email', r.id));
        return { accountId: args.accountId, queryState: state, canCalculateChanges: true, collapseThreads: args.collapseThreads, ...pageQuery(ids, args, { maxLimit: MAX_QUERY_LIMIT }) };
      },
    }),
    'Email/queryChanges': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: queryChangesSchema,
      handle: async (args, ctx) => {
        const current = await ctx.backend.mailState(args.accountId);
        const since = parseState(args.sinceQueryState, current);
        const changes = await ctx.backend.changes(args.accountId, 'Email', since, 50_000);
        if (changes.length > 50_000) throw new MethodError('cannotCalculateChanges', 'too many changes; query again');
        const rows = await runQuery(ctx.backend, args.accountId, args);
        const touched = new Set(changes.map((c) => c.id));
        // RFC 8620 §5.6: every id that may have moved is removed and, if still in the results, added back at its
        // index. With collapsed threads the thread's exemplar may change, and a thread keyword condition or sort
        // (RFC 8621 §4.4.1) moves every email of a thread when one of them changes: all of a touched thread count.
        const threadKeywords = JSON.stringify(args.filter ?? null).includes('InThreadHaveKeyword') || (args.sort ?? []).some((c) => c.property.endsWith('InThreadHaveKeyword'));
        if (args.collapseThreads || threadKeywords) {
          const index = await ctx.backend.emailIndex(args.accountId);
          const threads = new Set(index.filter((r) => touched.has(r.id)).map((r) => r.threadId));
          for (const r of index) if (threads.has(r.threadId)) touched.add(r.id);
        }
        const added: { id: string; index: number }[] = [];
        const upTo = args.upToId === null ? null : parseObjectId('email', args.upToId);
        for (let i = 0; i < rows.length; i++) {
          if (touched.has(rows[i]!.id)) added.push({ id: formatObjectId('email', rows[i]!.id), index: i });
          if (upTo !== null && rows[i]!.id === upTo) break;
        }
        const removed = [...touched].map((id) => formatObjectId('email', id));
        checkQueryChangesCount(removed.length, added.length, args.maxChanges);
        return { accountId: args.accountId, oldQueryState: args.sinceQueryState, newQueryState: formatState(current), removed, added, ...(args.calculateTotal ? { total: rows.length } : {}) };
      },
    }),
    'SearchSnippet/get': defineMethod({
      capability: MAIL_CAPABILITY,
      account: 'read',
      args: z.object({ accountId: idSchema, filter: filterSchema(conditionSchema).nullable().default(null), emailIds: z.array(idSchema) }),
      handle: async (args, ctx) => {
        if (args.emailIds.length > ctx.limits.maxObjectsInGet) throw new MethodError('requestTooLarge');
        const terms = new Set<string>();
        const collect = (f: unknown): void => {
          if (f === null || typeof f !== 'object') return;
          const o = f as Record<string, unknown>;
          if (Array.isArray(o.conditions)) {
            if (o.operator !== 'NOT') o.conditions.forEach(collect);
            return;
          }
          for (const k of ['text', 'subject', 'body']) if (typeof o[k] === 'string' && (o[k] as string).trim() !== '') terms.add((o[k] as string).trim().toLowerCase());
        };
        collect(args.filter);
        const list: { emailId: string; subject: string | null; preview: string | null }[] = [];
        const notFound: string[] = [];
        for (const emailId of args.emailIds) {
          const id = parseObjectId('email', emailId);
          const bytes = id === null ? null : await ctx.backend.emailBytes(args.accountId, id);
          if (bytes === null) {
            notFound.push(emailId);
            continue;
          }
          list.push({ emailId, ...snippet(new EmailView(bytes, emailBlobId(id!)), [...terms]) });
        }
        return { accountId: args.accountId, list, notFound: notFound.length > 0 ? notFound : null };
      },
    }),
  };
}

function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function highlight(text: string, terms: string[]): string | null {
  const lower = text.toLowerCase();
  if (!terms.some((t) => lower.includes(t))) return null;
  const pattern = new RegExp(terms.map((t) => t.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('|'), 'gi');
  let out = '';
  let last = 0;
  for (const m of text.matchAll(pattern)) {
    out += `${escapeHtml(text.slice(last, m.index))}<mark>${escapeHtml(m[0])}</mark>`;
    last = m.index! + m[0].length;
  }
  return out + escapeHtml(text.slice(last));
}

/** RFC 8621 §5.1: subject and a body excerpt with the matched terms in <mark>, HTML-escaped; null when nothing matched. */
function snippet(view: EmailView, terms: string[]): { subject: string | null; preview: string | null } {
  if (terms.length === 0) return { subject: null, preview: null };
  const subject = highlight(String(view.headerProperty('subject') ?? ''), terms);
  const body = bodyTextOf(view).replace(/\s+/g, ' ');
  const at = terms.map((t) => body.toLowerCase().indexOf(t)).filter((i) => i >= 0).sort((a, b) => a - b)[0];
  const preview = at === undefined ? null : highlight(body.slice(Math.max(0, at - 80), at + 170), terms);
  return { subject, preview };
}
