/**
 * SEARCH / UID SEARCH (RFC 9051 §6.4.4) with ESEARCH result options (RFC 4731, RFC 9051 §7.3.4),
 * SEARCHRES SAVE (RFC 5182), PARTIAL and UPDATE (RFC 5267 §4), and the search run SORT and THREAD share.
 */
import { parseFlagText } from '../../../core/flag-text.ts';
import { parseMimeTree } from '../../../message/mime-tree.ts';
import type { ImapMessageMeta, ImapMetaField } from '../backend.ts';
import { bad, no, ok, type CommandContext, type CommandResult, type CommandSpec } from '../command.ts';
import type { Args } from '../parser/args.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import { formatString } from '../response.ts';
import { metaFieldsOf, needsText, SearchEvaluator, SearchParser, usesMessageNumbers, usesModSeq, type SearchKey, type SearchSubject } from '../search-query.ts';
import type { SearchUpdate } from '../search-update.ts';
import type { SelectedMailbox } from '../selected.ts';
import type { ImapSessionCore } from '../session-state.ts';
import { formatEsearch, parseReturnOptions } from './search-return.ts';
import { selectedMailbox, spansOf } from './message-set.ts';
import { batchSeq, batchUid, metaBatches } from './meta-batches.ts';

const EMPTY = Buffer.alloc(0);

export function parseCharset(args: Args): void {
  if (args.optionalKeyword('CHARSET') === null) return;
  const cs = args.astring('charset').toUpperCase();
  // RFC 9051 §6.4.4: UTF-8 and US-ASCII are required; others get [BADCHARSET].
  if (cs !== 'UTF-8' && cs !== 'US-ASCII') throw new BadCharset();
}

export class BadCharset extends Error {}

const NO_FLAGS: string[] = [];
const NO_DATE = new Date(0);

/**
 * Matching messages, in ascending sequence order, with their metadata (and bytes when needed).
 * `fields`: the metadata the caller reads from the results besides what the key reads.
 */
export async function runSearch(session: ImapSessionCore, mailbox: SelectedMailbox, key: SearchKey, keepHeaders: boolean, fields: ImapMetaField[] = []): Promise<SearchSubject[]> {
  // RFC 9586 §3: message numbers in the search program are refused too, with the same code.
  if (session.uidOnly && usesMessageNumbers(key)) throw new ImapSyntaxError('Message numbers are not used in this session', 'UIDREQUIRED');
  const account = session.account!;
  // The session's UIDs change only between commands (sync runs under the session's lock), so they need no copy.
  const evaluator = new SearchEvaluator({
    count: mailbox.exists,
    uids: mailbox.uids,
    saved: session.savedSearch,
    ...(session.rev1 ? { isRecent: (uid: number) => mailbox.isRecent(uid) } : {}),
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
        if (cols.emailId !== undefined) meta.emailId = cols.emailId[i]!;
        if (cols.threadId !== undefined) meta.threadId = cols.threadId[i]!;
        if (cols.saveDate !== undefined) meta.saveDate = new Date(cols.saveDate[i]!);
        const subject: SearchSubject = { seq: batchSeq(b, uid), meta };
        if (evaluator.matches(key, subject)) out.push(subject);
      }
    }
    return out;
  }
  const BATCH = 500;
  const objectFields = metaFieldsOf(key);
  const wantsObjectIds = objectFields.has('emailId') || objectFields.has('threadId');
  const wantsSaveDate = objectFields.has('saveDate');
  for (let start = 0; start < mailbox.exists; start += BATCH) {
    const uids = mailbox.uids.slice(start, start + BATCH);
    const metas = new Map<number, ImapMessageMeta>();
    const ids = wantsObjectIds ? await account.objectIds(mailbox.id, uids) : null;
    const saved = wantsSaveDate && uids.length > 0 ? await account.metaColumns(mailbox.id, { uidFrom: uids[0]!, uidTo: uids[uids.length - 1]! }, ['saveDate']) : null;
    const savedAt = new Map<number, number>();
    for (let i = 0; saved !== null && i < saved.count; i++) savedAt.set(saved.uids === null ? uids[0]! + i : saved.uids[i]!, saved.saveDate![i]!);
    for (const m of await account.messages(mailbox.id, uids)) {
      const meta = ids === null ? m : { ...m, ...ids.get(m.uid) };
      const at = savedAt.get(m.uid);
      metas.set(m.uid, at === undefined ? meta : { ...meta, saveDate: new Date(at) });
    }
    for (let i = start; i < start + uids.length; i++) {
      const meta = metas.get(uids[i - start]!);
      if (meta === undefined) continue;
      const subject: SearchSubject = { seq: i + 1, meta };
      if (withText) {
        const bytes = await account.readMessage(mailbox.id, meta.uid);
        if (bytes === null) continue;
        subject.message = { bytes, root: parseMimeTree(bytes, session.limits.mime) };
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
    const returns = parseReturnOptions(args, { allowSave: true });
    try {
      parseCharset(args);
    } catch (e) {
      if (e instanceof BadCharset) return no('Unsupported charset', 'BADCHARSET (UTF-8 US-ASCII)');
      throw e;
    }
    const key = parseRest(args);
    const modseq = usesModSeq(key);
    if (modseq) s.enableCondstore(ctx.untagged);
    const mailbox = selectedMailbox(ctx);
    const found = await runSearch(s, mailbox, key, false, modseq ? ['modSeq'] : []);
    const ids = found.map((f) => (ctx.isUid ? f.meta.uid : f.seq));
    const highest = found.reduce((m, f) => Math.max(m, f.meta.modSeq), 0);
    if (returns === null && !s.enabled.has('IMAP4REV2')) {
      const suffix = modseq && ids.length > 0 ? ` (MODSEQ ${highest})` : '';
      ctx.untagged(`SEARCH${ids.map((n) => ' ' + n).join('')}${suffix}`);
      return ok(`${ctx.verb} completed`);
    }
    const r = returns ?? { min: false, max: false, count: false, all: true, save: false, partial: null, update: false };
    if (r.save) s.savedSearch = found.map((f) => f.meta.uid);
    if (r.update) {
      const refused = startUpdate(ctx, mailbox, key, found.map((f) => f.meta.uid));
      if (refused !== null) return refused;
    }
    // RFC 5182 §2.4: SAVE alone returns no ESEARCH.
    if (r.save && !(r.min || r.max || r.count || r.all || r.partial !== null || r.update)) return ok(`${ctx.verb} completed`);
    let modSeq: number | undefined;
    if (modseq && ids.length > 0 && (r.min || r.max || r.count || r.all)) {
      // RFC 4731 §3.2, RFC 7162 §3.1.5: with MIN or MAX alone (or both), MODSEQ is the highest of the
      // messages returned, not of every match.
      const returned = r.all || r.count ? found : [...(r.min ? [found[0]!] : []), ...(r.max ? [found[found.length - 1]!] : [])];
      modSeq = returned.reduce((m, f) => Math.max(m, f.meta.modSeq), 0);
    }
    ctx.untagged(formatEsearch(ctx.tag, ctx.isUid, ids, r, modSeq));
    return ok(`${ctx.verb} completed`);
  },
};

/** RFC 5267 §4.2: at most this many searches are kept up to date per selection; more get NOUPDATE. */
const MAX_SEARCH_UPDATES = 10;

/** Starts keeping a SEARCH or SORT result up to date; the tagged BAD when it cannot be, else null. */
export function startUpdate(ctx: CommandContext, mailbox: SelectedMailbox, key: SearchKey, uids: number[], sort?: SearchUpdate['sort']): CommandResult | null {
  const updates = mailbox.searchUpdates;
  if (updates.has(ctx.tag)) return bad('A search with this tag is already being updated');
  // RFC 5267 §4.2: a server that cannot keep one more search up to date says so with NOUPDATE.
  if (updates.size >= MAX_SEARCH_UPDATES) {
    ctx.untagged(`OK [NOUPDATE ${formatString(ctx.tag)}] Too many searches kept up to date`);
    return null;
  }
  updates.set(ctx.tag, { tag: ctx.tag, key, isUid: ctx.isUid, uids: new Set(uids), ...(sort !== undefined ? { sort } : {}) });
  return null;
}

export function parseRest(args: Args): SearchKey {
  const tokens = [];
  while (args.remaining > 0) tokens.push(args.next('search key'));
  return new SearchParser(tokens).parseAll();
}
