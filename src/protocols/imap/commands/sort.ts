/**
 * SORT / UID SORT (RFC 5256 §3) with DISPLAYFROM/DISPLAYTO (RFC 5957 SORT=DISPLAY), and its ESEARCH
 * form with RETURN options, PARTIAL results and UPDATE (RFC 5267 §3.1 ESORT, §4.2-§4.4 CONTEXT=SORT).
 */
import { no, ok, type CommandSpec } from '../command.ts';
import { tokenText } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { baseSubject, firstAddressDisplay, firstAddressMailbox, type SearchSubject } from '../search-query.ts';
import { parseRest, runSearch, startUpdate } from './search.ts';
import { formatEsearch, parseReturnOptions } from './search-return.ts';
import { selectedMailbox } from './message-set.ts';

type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO' | 'DISPLAYFROM' | 'DISPLAYTO';
const SORT_KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO', 'DISPLAYFROM', 'DISPLAYTO']);

export interface SortCriterion {
  key: SortKey;
  reverse: boolean;
}

function keyOf(f: SearchSubject, k: SortKey): string | number {
  const root = f.message?.root;
  switch (k) {
    case 'ARRIVAL': return f.meta.internalDate.getTime();
    case 'SIZE': return f.meta.size;
    case 'FROM': case 'TO': case 'CC': return root === undefined ? '' : firstAddressMailbox(root, k.toLowerCase());
    // RFC 5957 §3: the display name of the first From/To address.
    case 'DISPLAYFROM': return root === undefined ? '' : firstAddressDisplay(root, 'from');
    case 'DISPLAYTO': return root === undefined ? '' : firstAddressDisplay(root, 'to');
    case 'SUBJECT': {
      const raw = root?.headers.find((h) => h.name.toLowerCase() === 'subject')?.value;
      return raw === undefined ? '' : baseSubject(raw);
    }
    case 'DATE': {
      // RFC 5256 §2.2: the sent date, or the internal date when it is missing or invalid.
      const raw = root?.headers.find((h) => h.name.toLowerCase() === 'date')?.value;
      const t = raw === undefined ? NaN : Date.parse(raw.replace(/\([^)]*\)/g, ''));
      return Number.isNaN(t) ? f.meta.internalDate.getTime() : t;
    }
  }
}

/** The search results in sort order. */
export function sortSubjects(found: SearchSubject[], criteria: readonly SortCriterion[]): SearchSubject[] {
  const keyed = found.map((f) => ({ f, keys: criteria.map((c) => keyOf(f, c.key)) }));
  keyed.sort((a, b) => {
    for (let i = 0; i < criteria.length; i++) {
      const x = a.keys[i]!;
      const y = b.keys[i]!;
      if (x !== y) return (x < y ? -1 : 1) * (criteria[i]!.reverse ? -1 : 1);
    }
    return a.f.seq - b.f.seq; // RFC 5256 §3: ties are ordered by sequence number
  });
  return keyed.map((k) => k.f);
}

export const SORT: CommandSpec = {
  states: ['selected'],
  noExpungeAfter: true,
  async handle(ctx, args) {
    const returns = parseReturnOptions(args, { allowSave: false });
    const criteria: SortCriterion[] = [];
    let reverse = false;
    for (const t of args.list('sort criteria')) {
      const w = tokenText(t, 'sort criterion').toUpperCase();
      if (w === 'REVERSE') {
        reverse = true;
        continue;
      }
      if (!SORT_KEYS.has(w)) throw new ImapSyntaxError(`Unknown sort criterion ${w}`);
      criteria.push({ key: w as SortKey, reverse });
      reverse = false;
    }
    if (criteria.length === 0 || reverse) throw new ImapSyntaxError('Invalid sort criteria');
    const cs = args.astring('charset').toUpperCase();
    if (cs !== 'UTF-8' && cs !== 'US-ASCII') return no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
    const key = parseRest(args);
    const needHeaders = criteria.some((c) => c.key !== 'ARRIVAL' && c.key !== 'SIZE');
    const found = await runSearch(ctx.session, selectedMailbox(ctx), key, needHeaders, ['internalDate', 'size']);
    const sorted = sortSubjects(found, criteria);
    const ids = sorted.map((f) => (ctx.isUid ? f.meta.uid : f.seq));
    if (returns?.update === true) {
      // RFC 5267 §4.2 CONTEXT=SORT: the sorted result is kept up to date, with positions in its order.
      const order = sorted.map((f) => f.meta.uid);
      const resort = (again: SearchSubject[]): number[] => sortSubjects(again, criteria).map((f) => f.meta.uid);
      const refused = startUpdate(ctx, selectedMailbox(ctx), key, order, { order, resort, needHeaders });
      if (refused !== null) return refused;
    }
    // RFC 5267 §3.1: with RETURN, the answer is an ESEARCH response in sort order.
    if (returns !== null) ctx.untagged(formatEsearch(ctx.tag, ctx.isUid, ids, returns));
    else ctx.untagged(`SORT${ids.map((n) => ' ' + n).join('')}`);
    return ok(`${ctx.verb} completed`);
  },
};
