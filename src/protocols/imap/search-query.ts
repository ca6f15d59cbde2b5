/**
 * SEARCH criteria (RFC 9051 §6.4.4, MODSEQ from RFC 7162 §3.1.5, EMAILID/THREADID from RFC 8474 §6): parsing the key tree and
 * evaluating it against one message's metadata and, when a key needs them, its decoded text.
 */
import { parseAddressList, type NamedAddress } from '../../message/address.ts';
import type { MimePart } from '../../message/mime-tree.ts';
import { decodeHeaderValue } from '../../message/encoded-words.ts';
import { messageText } from '../../message/search-text.ts';
import { parseObjectId } from '../../core/object-ids.ts';
import type { ImapMessageMeta, ImapMetaField } from './backend.ts';
import { parseNumber, parseSearchDate, tokenText } from './parser/args.ts';
import { ImapSyntaxError, type Token } from './parser/tokenizer.ts';
import { isSequenceSet, parseSequenceSet, resolveSequenceNumbers, resolveUidIndexes, type SequenceSet } from './sequence-set.ts';
import type { SortedUids } from './uid-map.ts';

export type SearchKey =
  | { k: 'all' }
  | { k: 'flag'; flag: string; has: boolean }
  | { k: 'recent' }
  | { k: 'header'; field: string; value: string }
  | { k: 'address'; field: string; value: string }
  | { k: 'body'; value: string }
  | { k: 'text'; value: string }
  | { k: 'date'; sent: boolean; op: 'before' | 'on' | 'since'; day: number }
  /** RFC 8514 §4.3: SAVEDBEFORE / SAVEDON / SAVEDSINCE, on the save date's day. */
  | { k: 'savedate'; op: 'before' | 'on' | 'since'; day: number }
  | { k: 'size'; larger: boolean; n: number }
  | { k: 'uid'; set: SequenceSet }
  | { k: 'seq'; set: SequenceSet }
  | { k: 'modseq'; n: number }
  /** RFC 8474 §6: EMAILID / THREADID; id null: not an id this server gives, so nothing matches. */
  | { k: 'objectid'; field: 'emailId' | 'threadId'; id: number | null }
  | { k: 'not'; key: SearchKey }
  | { k: 'or'; a: SearchKey; b: SearchKey }
  | { k: 'and'; keys: SearchKey[] };

const FLAG_KEYS: Record<string, [string, boolean]> = {
  ANSWERED: ['\\Answered', true], DELETED: ['\\Deleted', true], DRAFT: ['\\Draft', true], FLAGGED: ['\\Flagged', true], SEEN: ['\\Seen', true],
  UNANSWERED: ['\\Answered', false], UNDELETED: ['\\Deleted', false], UNDRAFT: ['\\Draft', false], UNFLAGGED: ['\\Flagged', false], UNSEEN: ['\\Seen', false],
};
const ADDRESS_KEYS = new Set(['BCC', 'CC', 'FROM', 'TO']);
const DATE_KEYS: Record<string, [boolean, 'before' | 'on' | 'since']> = {
  BEFORE: [false, 'before'], ON: [false, 'on'], SINCE: [false, 'since'],
  SENTBEFORE: [true, 'before'], SENTON: [true, 'on'], SENTSINCE: [true, 'since'],
};

const SAVED_KEYS: Record<string, 'before' | 'on' | 'since'> = { SAVEDBEFORE: 'before', SAVEDON: 'on', SAVEDSINCE: 'since' };

export class SearchParser {
  private i = 0;
  constructor(private readonly tokens: Token[]) {}

  get done(): boolean {
    return this.i >= this.tokens.length;
  }

  parseAll(): SearchKey {
    const keys: SearchKey[] = [];
    while (!this.done) keys.push(this.key(0));
    if (keys.length === 0) throw new ImapSyntaxError('Missing search criteria');
    return keys.length === 1 ? keys[0]! : { k: 'and', keys };
  }

  private take(what: string): Token {
    const t = this.tokens[this.i++];
    if (t === undefined) throw new ImapSyntaxError(`Missing ${what}`);
    return t;
  }

  private str(what: string): string {
    const t = this.take(what);
    if (t.type === 'string' || (t.type === 'atom' && t.section === undefined)) return t.value;
    throw new ImapSyntaxError(`Invalid ${what}`);
  }

  private key(depth: number): SearchKey {
    if (depth > 32) throw new ImapSyntaxError('Search criteria too deep');
    const t = this.take('search key');
    if (t.type === 'list') {
      const sub = new SearchParser(t.items);
      return sub.parseAll();
    }
    const word = tokenText(t, 'search key');
    const upper = word.toUpperCase();
    const flag = FLAG_KEYS[upper];
    if (flag !== undefined) return { k: 'flag', flag: flag[0], has: flag[1] };
    const date = DATE_KEYS[upper];
    if (date !== undefined) {
      const d = parseSearchDate(this.str('date'));
      return { k: 'date', sent: date[0], op: date[1], day: d.getTime() };
    }
    const saved = SAVED_KEYS[upper];
    if (saved !== undefined) return { k: 'savedate', op: saved, day: parseSearchDate(this.str('date')).getTime() };
    if (ADDRESS_KEYS.has(upper)) return { k: 'address', field: upper, value: this.str('search string') };
    if (upper === 'SUBJECT') return { k: 'header', field: upper, value: this.str('search string') };
    switch (upper) {
      case 'ALL': return { k: 'all' };
      // RFC 8514 §4.3: every mailbox here keeps save dates, so every message matches.
      case 'SAVEDATESUPPORTED': return { k: 'all' };
      // RFC 3501 §6.4.4: NEW is RECENT UNSEEN, OLD is NOT RECENT (in IMAP4rev2 sessions nothing is recent).
      case 'NEW': return { k: 'and', keys: [{ k: 'recent' }, { k: 'flag', flag: '\\Seen', has: false }] };
      case 'OLD': return { k: 'not', key: { k: 'recent' } };
      case 'RECENT': return { k: 'recent' };
      case 'KEYWORD': return { k: 'flag', flag: this.str('keyword'), has: true };
      case 'UNKEYWORD': return { k: 'flag', flag: this.str('keyword'), has: false };
      case 'HEADER': return { k: 'header', field: this.str('header field').toUpperCase(), value: this.str('search string') };
      case 'BODY': return { k: 'body', value: this.str('search string') };
      case 'TEXT': return { k: 'text', value: this.str('search string') };
      case 'LARGER': return { k: 'size', larger: true, n: parseNumber(this.str('size'), 'size') };
      case 'SMALLER': return { k: 'size', larger: false, n: parseNumber(this.str('size'), 'size') };
      case 'UID': return { k: 'uid', set: parseSequenceSet(this.str('UID set')) };
      case 'NOT': return { k: 'not', key: this.key(depth + 1) };
      case 'OR': return { k: 'or', a: this.key(depth + 1), b: this.key(depth + 1) };
      case 'EMAILID': case 'THREADID': {
        const text = this.str('object id');
        // RFC 8474 §3: objectid = 1*255(ALPHA / DIGIT / "_" / "-").
        if (!/^[A-Za-z0-9_-]{1,255}$/.test(text)) throw new ImapSyntaxError('Invalid object id');
        const email = upper === 'EMAILID';
        return { k: 'objectid', field: email ? 'emailId' : 'threadId', id: parseObjectId(email ? 'email' : 'thread', text) };
      }
      case 'MODSEQ': {
        // RFC 7162 §3.1.5: MODSEQ [entry-name entry-type] mod-sequence-valzer
        let v = this.str('modseq');
        if (!/^\d+$/.test(v)) {
          this.str('entry type');
          v = this.str('modseq');
        }
        return { k: 'modseq', n: parseNumber(v, 'modseq') };
      }
    }
    if (isSequenceSet(word)) return { k: 'seq', set: parseSequenceSet(word) };
    throw new ImapSyntaxError(`Unknown search key ${word}`);
  }
}

export function needsText(key: SearchKey): boolean {
  switch (key.k) {
    case 'header': case 'address': case 'body': case 'text': return true;
    case 'date': return key.sent;
    case 'not': return needsText(key.key);
    case 'or': return needsText(key.a) || needsText(key.b);
    case 'and': return key.keys.some(needsText);
    default: return false;
  }
}

/** The metadata fields a key reads besides UIDs and sequence numbers (keys that need text excepted). */
export function metaFieldsOf(key: SearchKey, out: Set<ImapMetaField> = new Set()): Set<ImapMetaField> {
  switch (key.k) {
    case 'flag': out.add('flags'); break;
    case 'size': out.add('size'); break;
    case 'modseq': out.add('modSeq'); break;
    case 'objectid': out.add(key.field); break;
    case 'date': out.add('internalDate'); break;
    case 'savedate': out.add('saveDate'); break;
    case 'not': metaFieldsOf(key.key, out); break;
    case 'or': metaFieldsOf(key.a, out); metaFieldsOf(key.b, out); break;
    case 'and': for (const k of key.keys) metaFieldsOf(k, out); break;
    // UIDs and sequence numbers come with every row; text keys are read from the message, not columns.
    case 'all': case 'recent': case 'uid': case 'seq': case 'header': case 'address': case 'body': case 'text': break;
    default: {
      // A new key kind must say here which columns it reads.
      const unknown: never = key;
      throw new Error(`search key ${(unknown as SearchKey).k} reads unknown fields`);
    }
  }
  return out;
}

/** The key refers to message numbers (a sequence-set key), which UIDONLY sessions may not use (RFC 9586 §3). */
export function usesMessageNumbers(key: SearchKey): boolean {
  if (key.k === 'seq') return true;
  if (key.k === 'not') return usesMessageNumbers(key.key);
  if (key.k === 'or') return usesMessageNumbers(key.a) || usesMessageNumbers(key.b);
  if (key.k === 'and') return key.keys.some(usesMessageNumbers);
  return false;
}

export function usesModSeq(key: SearchKey): boolean {
  if (key.k === 'modseq') return true;
  if (key.k === 'not') return usesModSeq(key.key);
  if (key.k === 'or') return usesModSeq(key.a) || usesModSeq(key.b);
  if (key.k === 'and') return key.keys.some(usesModSeq);
  return false;
}

export interface SearchSubject {
  seq: number;
  meta: ImapMessageMeta;
  /** Present when needsText(): the stored bytes and their MIME tree. */
  message?: { bytes: Buffer; root: MimePart };
}

export interface SearchScope {
  count: number;
  /** The session's UIDs in sequence order (the selected mailbox's UidMap, not a copy). */
  uids: SortedUids;
  saved: readonly number[] | null;
  /** RFC 3501 §2.3.2: \Recent in this session; absent when nothing is (IMAP4rev2 sessions). */
  isRecent?: (uid: number) => boolean;
}

export class SearchEvaluator {
  private text: { headers: string; body: string } | null = null;
  private seqCache = new Map<SequenceSet, Set<number>>();
  constructor(private readonly scope: SearchScope) {}

  matches(key: SearchKey, subject: SearchSubject): boolean {
    this.text = null;
    return this.eval(key, subject);
  }

  private eval(key: SearchKey, m: SearchSubject): boolean {
    switch (key.k) {
      case 'all': return true;
      case 'flag': return m.meta.flags.some((f) => f.toLowerCase() === key.flag.toLowerCase()) === key.has;
      case 'recent': return this.scope.isRecent?.(m.meta.uid) ?? false;
      case 'size': return key.larger ? m.meta.size > key.n : m.meta.size < key.n;
      case 'modseq': return m.meta.modSeq >= key.n;
      case 'objectid': return key.id !== null && m.meta[key.field] === key.id;
      case 'not': return !this.eval(key.key, m);
      case 'or': return this.eval(key.a, m) || this.eval(key.b, m);
      case 'and': return key.keys.every((k) => this.eval(k, m));
      case 'uid': return this.setOf(key.set, true).has(m.meta.uid);
      case 'seq': return this.setOf(key.set, false).has(m.meta.uid);
      case 'savedate': {
        if (m.meta.saveDate === undefined) return false;
        const day = utcDay(m.meta.saveDate);
        return key.op === 'before' ? day < key.day : key.op === 'on' ? day === key.day : day >= key.day;
      }
      case 'date': {
        const day = key.sent ? sentDay(m) : utcDay(m.meta.internalDate);
        if (day === null) return false;
        return key.op === 'before' ? day < key.day : key.op === 'on' ? day === key.day : day >= key.day;
      }
      case 'header': {
        if (m.message === undefined) return false;
        const needle = key.value.toLowerCase();
        const fields = m.message.root.headers.filter((f) => f.name.toUpperCase() === key.field);
        // RFC 9051 §6.4.4: HEADER with an empty string matches every message that has the field.
        return fields.some((f) => decodeHeaderValue(f.value).toLowerCase().includes(needle));
      }
      case 'address': {
        if (m.message === undefined) return false;
        const needle = key.value.toLowerCase();
        const fields = m.message.root.headers.filter((f) => f.name.toUpperCase() === key.field);
        return fields.some((f) => addressSearchText(f.value).some((t) => t.includes(needle)));
      }
      case 'body': return this.loadText(m).body.toLowerCase().includes(key.value.toLowerCase());
      case 'text': {
        const t = this.loadText(m);
        const needle = key.value.toLowerCase();
        return t.headers.toLowerCase().includes(needle) || t.body.toLowerCase().includes(needle);
      }
    }
  }

  private loadText(m: SearchSubject): { headers: string; body: string } {
    if (m.message === undefined) return { headers: '', body: '' };
    this.text ??= messageText(m.message.bytes, m.message.root);
    return this.text;
  }

  /** UIDs selected by a set (sequence numbers or UIDs), computed once per search. */
  private setOf(set: SequenceSet, isUid: boolean): Set<number> {
    let out = this.seqCache.get(set);
    if (out !== undefined) return out;
    const uids = this.scope.uids;
    if (set === '$') out = new Set(this.scope.saved ?? []);
    else if (isUid) out = new Set(resolveUidIndexes(set, uids).map((i) => uids.at(i)!));
    else out = new Set(resolveSequenceNumbers(set, this.scope.count).map((n) => uids.at(n - 1)!));
    this.seqCache.set(set, out);
    return out;
  }
}

/**
 * RFC 9051 §6.4.4 FROM/TO/CC/BCC: the string is looked for in the addresses, not the raw field (where
 * comments and folding could split an address): each address as `name <local@domain>`, lower-cased, and
 * each group's name. A field with no parsable address is searched as decoded text.
 */
function addressSearchText(value: string): string[] {
  const out: string[] = [];
  const mailbox = (mb: NamedAddress): string => `${mb.name === null ? '' : decodeHeaderValue(mb.name) + ' '}<${mb.address}>`.toLowerCase();
  for (const a of parseAddressList(value, { maxAddresses: 1000 })) {
    if (a.kind === 'mailbox') out.push(mailbox(a));
    else {
      out.push(decodeHeaderValue(a.name).toLowerCase());
      for (const m of a.members) out.push(mailbox(m));
    }
  }
  if (out.length === 0) out.push(decodeHeaderValue(value).toLowerCase());
  return out;
}

function utcDay(d: Date): number {
  return Date.UTC(d.getUTCFullYear(), d.getUTCMonth(), d.getUTCDate());
}

/** RFC 9051 §6.4.4: SENT* compare the Date: header's date, disregarding time and timezone. */
function sentDay(m: SearchSubject): number | null {
  const raw = m.message?.root.headers.find((f) => f.name.toLowerCase() === 'date')?.value;
  if (raw === undefined) return null;
  const local = /(\d{1,2})\s+([A-Za-z]{3})\s+(\d{2,4})/.exec(raw);
  if (local !== null) {
    try {
      const year = local[3]!.length === 2 ? 2000 + Number(local[3]) : Number(local[3]);
      return parseSearchDate(`${local[1]}-${local[2]}-${year}`).getTime();
    } catch {
      return null;
    }
  }
  const t = Date.parse(raw);
  return Number.isNaN(t) ? null : utcDay(new Date(t));
}

/**
 * RFC 4790 §9.2 i;ascii-casemap, the comparator RFC 5256 §3 sorts with: a-z fold to A-Z (so `[` and `_`
 * sort after the letters), nothing else changes.
 */
export function asciiCasemap(s: string): string {
  return s.replace(/[a-z]+/g, (m) => m.toUpperCase());
}

/**
 * RFC 5256 §3 FROM/TO/CC sort key: the addr-mailbox of the first address, folded for i;ascii-casemap. A
 * group comes first as its name, as in the ENVELOPE (RFC 9051 §7.5.2: group start is [NIL NIL name NIL]).
 */
export function firstAddressMailbox(root: MimePart, field: string): string {
  const raw = root.headers.find((f) => f.name.toLowerCase() === field)?.value;
  if (raw === undefined) return '';
  const first = parseAddressList(raw, { maxAddresses: 1 })[0];
  if (first === undefined) return '';
  return asciiCasemap(first.kind === 'mailbox' ? first.localPart : first.name);
}

/**
 * RFC 5957 §3 DISPLAYFROM/DISPLAYTO sort key: the display name of the first address (RFC 2047 words
 * decoded), the group name for a group, else the address itself; folded for i;ascii-casemap.
 */
export function firstAddressDisplay(root: MimePart, field: string): string {
  const raw = root.headers.find((f) => f.name.toLowerCase() === field)?.value;
  if (raw === undefined) return '';
  const first = parseAddressList(raw, { maxAddresses: 1 })[0];
  if (first === undefined) return '';
  let name = first.name === null ? '' : decodeHeaderValue(first.name).trim();
  if (name === '' && first.kind === 'mailbox') name = first.address;
  return asciiCasemap(name);
}

/**
 * RFC 5256 §2.1 base subject (simplified): strips Re:/Fw:/Fwd:, [blob] prefixes and (fwd) trailers;
 * folded for i;ascii-casemap (RFC 5256 §3).
 */
export function baseSubject(raw: string): string {
  let s = decodeHeaderValue(raw).replace(/\s+/g, ' ').trim();
  for (let changed = true; changed; ) {
    const before = s;
    s = s.replace(/\s*\(fwd\)$/i, '').trim();
    s = s.replace(/^(?:\[[^\]]*\]\s*)*(?:re|fwd?)\s*(?:\[[^\]]*\])?\s*:\s*/i, '');
    s = s.replace(/^\[fwd:\s*(.*)\]$/i, '$1');
    changed = s !== before;
  }
  return asciiCasemap(s);
}
