/**
 * SEARCH / UID SEARCH (RFC 9051 §6.4.4) with ESEARCH result options (RFC 4731, RFC 9051 §7.3.4),
 * SEARCHRES SAVE (RFC 5182), and SORT / UID SORT (RFC 5256).
 */
import { parseFlagText } from '../../../core/flag-text.ts';
import { parseMimeTree } from '../../../message/mime-tree.ts';
import type { ImapMessageMeta, ImapMetaField } from '../backend.ts';
import { no, ok, type CommandContext, type CommandSpec } from '../command.ts';
import type { Args } from '../parser/args.ts';
import { tokenText } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { formatString } from '../response.ts';
import { baseSubject, firstAddressMailbox, metaFieldsOf, needsText, SearchEvaluator, SearchParser, usesModSeq, type SearchKey, type SearchSubject } from '../search-query.ts';
import { formatSequenceSet } from '../sequence-set.ts';
import { selectedMailbox, spansOf } from './message-set.ts';
import { batchSeq, batchUid, metaBatches } from './meta-batches.ts';

const EMPTY = Buffer.alloc(0);
const RETURN_OPTIONS = new Set(['MIN', 'MAX', 'COUNT', 'ALL', 'SAVE']);

function parseCharset(args: Args): void {
  if (args.optionalKeyword('CHARSET') === null) return;
  const cs = args.astring('charset').toUpperCase();
  // RFC 9051 §6.4.4: UTF-8 and US-ASCII are required; others get [BADCHARSET].
  if (cs !== 'UTF-8' && cs !== 'US-ASCII') throw new BadCharset();
}

class BadCharset extends Error {}

const NO_FLAGS: string[] = [];
const NO_DATE = new Date(0);

/**
 * Matching messages, in ascending sequence order, with their metadata (and bytes when needed).
 * `fields`: the metadata the caller reads from the results besides what the key reads.
 */
async function runSearch(ctx: CommandContext, key: SearchKey, keepHeaders: boolean, fields: ImapMetaField[] = []): Promise<SearchSubject[]> {
  const mailbox = selectedMailbox(ctx);
  const account = ctx.session.account!;
  // The session's UIDs change only between commands (sync runs under the session's lock), so they need no copy.
  const evaluator = new SearchEvaluator({
    count: mailbox.exists,
    uids: mailbox.uids,
    saved: ctx.session.savedSearch,
    ...(ctx.session.rev1 ? { isRecent: (uid: number) => mailbox.isRecent(uid) } : {}),
  });
  const withText = needsText(key) || keepHeaders;
  const out: SearchSubject[] = [];
  if (!withText) {
    // Metadata only (flags, sizes, dates, modseqs): the fields needed, read as columns over UID spans;
    // the others stay empty in the subjects (nothing reads them).
    const want = [...metaFieldsOf(key, new Set(fields))];
    const spans = spansOf(mailbox.uids, [[0, mailbox.exists - 1]]);
    for await (const b of metaBatches(account, mailbox.id, spans, want)) {
      const cols = b.cols;
      for (let i = 0; i < cols.count; i++) {
        const uid = batchUid(b, i);
        const flags = cols.flags?.[i];
        const meta: ImapMessageMeta = {
          uid,
          flags: flags === undefined ? NO_FLAGS : parseFlagText(flags),
          size: cols.size?.[i] ?? 0,
          internalDate: cols.internalDate === undefined ? NO_DATE : new Date(cols.internalDate[i]!),
          modSeq: cols.modSeq?.[i] ?? 0,
        };
        const subject: SearchSubject = { seq: batchSeq(b, uid), meta };
        if (evaluator.matches(key, subject)) out.push(subject);
      }
    }
    return out;
  }
  const BATCH = 500;
  for (let start = 0; start < mailbox.exists; start += BATCH) {
    const uids = mailbox.uids.slice(start, start + BATCH);
    const metas = new Map<number, ImapMessageMeta>();
    for (const m of await account.messages(mailbox.id, uids)) metas.set(m.uid, m);
    for (let i = start; i < start + uids.length; i++) {
      const meta = metas.get(uids[i - start]!);
      if (meta === undefined) continue;
      const subject: SearchSubject = { seq: i + 1, meta };
      if (withText) {
        const bytes = await account.readMessage(mailbox.id, meta.uid);
        if (bytes === null) continue;
        subject.message = { bytes, root: parseMimeTree(bytes, ctx.session.limits.mime) };
      }
      if (evaluator.matches(key, subject)) {
        // Sorting needs only the parsed header fields; the bytes are dropped at once.
        if (!keepHeaders) delete subject.message;
        else if (subject.message !== undefined) subject.message = { bytes: EMPTY, root: subject.message.root };
        out.push(subject);
      }
    }
  }
  return out;
}

export const SEARCH: CommandSpec = {
  states: ['selected'],
  noExpungeAfter: true,
  async handle(ctx, args) {
    const s = ctx.session;
    let returns: Set<string> | null = null;
    if (args.optionalKeyword('RETURN') !== null) {
      returns = new Set(args.list('return options').map((t) => tokenText(t, 'return option').toUpperCase()));
      for (const r of returns) if (!RETURN_OPTIONS.has(r)) throw new ImapSyntaxError(`Unknown RETURN option ${r}`);
      // RFC 4731 §3.1: RETURN () means ALL.
      if (returns.size === 0) returns.add('ALL');
    }
    try {
      parseCharset(args);
    } catch (e) {
      if (e instanceof BadCharset) return no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
      throw e;
    }
    const key = parseRest(args);
    const modseq = usesModSeq(key);
    if (modseq) s.enableCondstore(ctx.untagged);
    const found = await runSearch(ctx, key, false, modseq ? ['modSeq'] : []);
    const ids = found.map((f) => (ctx.isUid ? f.meta.uid : f.seq));
    const highest = found.reduce((m, f) => Math.max(m, f.meta.modSeq), 0);
    if (returns === null && !s.enabled.has('IMAP4REV2')) {
      const suffix = modseq && ids.length > 0 ? ` (MODSEQ ${highest})` : '';
      ctx.untagged(`SEARCH${ids.map((n) => ' ' + n).join('')}${suffix}`);
      return ok(`${ctx.verb} completed`);
    }
    returns ??= new Set(['ALL']);
    if (returns.has('SAVE')) {
      s.savedSearch = found.map((f) => f.meta.uid);
      returns.delete('SAVE');
      // RFC 5182 §2.4: SAVE alone returns no ESEARCH.
      if (returns.size === 0) return ok(`${ctx.verb} completed`);
    }
    const parts = [`ESEARCH (TAG ${formatString(ctx.tag)})`];
    if (ctx.isUid) parts.push('UID');
    if (ids.length > 0) {
      if (returns.has('MIN')) parts.push(`MIN ${ids[0]}`);
      if (returns.has('MAX')) parts.push(`MAX ${ids[ids.length - 1]}`);
    }
    if (returns.has('COUNT')) parts.push(`COUNT ${ids.length}`);
    if (returns.has('ALL') && ids.length > 0) parts.push(`ALL ${formatSequenceSet(ids)}`);
    if (modseq && ids.length > 0) {
      // RFC 4731 §3.2, RFC 7162 §3.1.5: with MIN or MAX alone (or both), MODSEQ is the highest of the
      // messages returned, not of every match.
      const returned = returns.has('ALL') || returns.has('COUNT') ? found : [...(returns.has('MIN') ? [found[0]!] : []), ...(returns.has('MAX') ? [found[found.length - 1]!] : [])];
      parts.push(`MODSEQ ${returned.reduce((m, f) => Math.max(m, f.meta.modSeq), 0)}`);
    }
    ctx.untagged(parts.join(' '));
    return ok(`${ctx.verb} completed`);
  },
};

function parseRest(args: Args): SearchKey {
  const tokens = [];
  while (args.remaining > 0) tokens.push(args.next('search key'));
  return new SearchParser(tokens).parseAll();
}

type SortKey = 'ARRIVAL' | 'CC' | 'DATE' | 'FROM' | 'SIZE' | 'SUBJECT' | 'TO';
const SORT_KEYS = new Set<string>(['ARRIVAL', 'CC', 'DATE', 'FROM', 'SIZE', 'SUBJECT', 'TO']);

export const SORT: CommandSpec = {
  states: ['selected'],
  noExpungeAfter: true,
  async handle(ctx, args) {
    const criteria: { key: SortKey; reverse: boolean }[] = [];
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
    const found = await runSearch(ctx, key, needHeaders, ['internalDate', 'size']);
    const keyOf = (f: SearchSubject, k: SortKey): string | number => {
      const root = f.message?.root;
      switch (k) {
        case 'ARRIVAL': return f.meta.internalDate.getTime();
        case 'SIZE': return f.meta.size;
        case 'FROM': case 'TO': case 'CC': return root === undefined ? '' : firstAddressMailbox(root, k.toLowerCase());
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
    };
    const keyed = found.map((f) => ({ f, keys: criteria.map((c) => keyOf(f, c.key)) }));
    keyed.sort((a, b) => {
      for (let i = 0; i < criteria.length; i++) {
        const x = a.keys[i]!;
        const y = b.keys[i]!;
        if (x !== y) return (x < y ? -1 : 1) * (criteria[i]!.reverse ? -1 : 1);
      }
      return a.f.seq - b.f.seq; // RFC 5256 §3: ties are ordered by sequence number
    });
    ctx.untagged(`SORT${keyed.map((k) => ' ' + (ctx.isUid ? k.f.meta.uid : k.f.seq)).join('')}`);
    return ok(`${ctx.verb} completed`);
  },
};
