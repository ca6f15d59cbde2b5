/**
 * What a store keeps about a message at delivery so that threads and sorted listings need no parse later:
 * its Message-ID, the ids it refers to, its base subject (RFC 5256 §2.1, simplified) and sort keys.
 */
import { parseAddressList } from './address.ts';
import { decodeHeaderValue } from './encoded-words.ts';
import { decodeUtf8OrFallback } from './charset.ts';
import { findHeaderEnd } from './header-fields.ts';

export interface MessageIndexFields {
  /** The Message-ID without angle brackets, lower-cased for matching; null when absent. */
  messageId: string | null;
  /** In-Reply-To then References ids, without brackets, lower-cased, deduplicated, at most 50. */
  references: string[];
  /** Subject with Re:/Fwd:/[tag] prefixes and (fwd) trailers removed, whitespace collapsed, lower-cased. */
  baseSubject: string;
  /** Whether the subject carried a reply or forward prefix (the subject fallback of threading uses only those). */
  isReplySubject: boolean;
  /** The Date: header in milliseconds since the epoch, or null when absent or unparseable. */
  sentAt: number | null;
  /** The first From: and To: mailbox (display name, else address), lower-cased, for sorting. */
  fromSort: string;
  toSort: string;
}

/** At most this many header fields are read; a message's threading fields are near the top. */
const MAX_FIELDS = 500;
const MAX_REFERENCES = 50;

/**
 * RFC 5256 §2.1 base subject, simplified: leading "Re:", "Fwd:", "Fw:" (with an optional [n]) and
 * "[list tag]" blobs, and trailing "(fwd)", are removed repeatedly.
 */
export function baseSubject(subject: string): { base: string; isReply: boolean } {
  let s = subject.replace(/\s+/g, ' ').trim();
  let isReply = false;
  for (;;) {
    const before = s;
    s = s.replace(/\s*\(fwd\)\s*$/i, '');
    const prefix = /^(?:(?:re|fwd?|aw|sv|wg)\s*(?:\[\d+\])?\s*:\s*)/i.exec(s);
    if (prefix) {
      isReply = true;
      s = s.slice(prefix[0].length);
    }
    const tag = /^\[[^\]]*\]\s*/.exec(s);
    if (tag && tag[0].length < s.length) s = s.slice(tag[0].length);
    if (s === before) break;
  }
  return { base: s.toLowerCase(), isReply };
}

/** Bytes of a stored message read for its index fields at most. */
export const INDEX_HEAD_BYTES = 64 * 1024;

/** Most headers end within this many bytes: read first, and the rest only when the header goes on. */
const SHORT_HEAD_BYTES = 8 * 1024;

const NO_FIELDS: MessageIndexFields = { messageId: null, references: [], baseSubject: '', isReplySubject: false, sentAt: null, fromSort: '', toSort: '' };

/**
 * The index fields of a message being stored as `prefix` (trace fields, which may hold the message
 * header) then a body whose first bytes `head` reads: a short read first, and INDEX_HEAD_BYTES only for a
 * long header. A header that cannot be read indexes as empty: indexing never fails a delivery.
 */
export function storedMessageIndexFields(prefix: Buffer, head: (maxBytes: number) => Buffer): MessageIndexFields {
  try {
    // SMTP stores the header in the prefix, with the empty line that ends it: the body is not read.
    if (prefix.length > 0 && findHeaderEnd(prefix, 0, prefix.length).fieldsEnd < prefix.length) return messageIndexFields(prefix);
    const short = head(SHORT_HEAD_BYTES);
    const bytes = prefix.length > 0 ? Buffer.concat([prefix, short]) : short;
    if (short.length === SHORT_HEAD_BYTES && findHeaderEnd(bytes, 0, bytes.length).fieldsEnd === bytes.length) {
      const long = head(INDEX_HEAD_BYTES);
      return messageIndexFields(prefix.length > 0 ? Buffer.concat([prefix, long]) : long);
    }
    return messageIndexFields(bytes);
  } catch {
    return NO_FIELDS;
  }
}

/** The fields read, by lower-cased name: the first of each counts (RFC 5322 §3.6 allows each once). */
const WANTED = ['message-id', 'in-reply-to', 'references', 'subject', 'date', 'from', 'to'] as const;
type Wanted = (typeof WANTED)[number];
const MAX_WANTED_NAME = 11;

/** JavaScript's \s: what String.prototype.trim removes and what the field-name check refuses. */
function isSpace(c: number): boolean {
  if (c <= 0x20) return c === 0x20 || (c >= 0x09 && c <= 0x0d);
  if (c < 0xa0) return false;
  return c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a) || c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff;
}

/**
 * The first value of each wanted field among the first MAX_FIELDS well-formed fields, with the meaning
 * parseHeaderFields + headerValue give them (unfolded, trimmed, names compared case-insensitively) in one
 * pass over the header text: only the kept fields are sliced and unfolded, every other one is skipped.
 */
function wantedFields(text: string): Partial<Record<Wanted, string>> {
  const out: Partial<Record<Wanted, string>> = {};
  let found = 0;
  let kept = 0;
  let pos = 0;
  const len = text.length;
  // The next colon at or after the field being read, kept across fields so the scan stays linear.
  let nextColon = -2;
  while (pos < len && kept < MAX_FIELDS && found < WANTED.length) {
    // One field: its first line and the folded lines after it (RFC 5322 §2.2.3).
    const start = pos;
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = len;
    const firstEnd = nl > start && text.charCodeAt(nl - 1) === 0x0d ? nl - 1 : nl;
    pos = nl + 1;
    let folded = false;
    while (pos < len) {
      const c = text.charCodeAt(pos);
      if (c !== 0x20 && c !== 0x09) break;
      folded = true;
      nl = text.indexOf('\n', pos);
      if (nl < 0) nl = len;
      pos = nl + 1;
    }
    let line: string | null = null;
    if (nextColon !== -1 && nextColon < start) nextColon = text.indexOf(':', start);
    let colon = nextColon;
    let lineEnd = firstEnd;
    if (colon < 0 || colon >= firstEnd) {
      if (!folded) continue;
      // The colon may be on a folded line: unfold the whole field as the general parser does.
      line = unfoldField(text, start, Math.min(pos, len));
      colon = line.indexOf(':');
      if (colon < 0) continue;
    }
    const base = line === null ? start : 0;
    const src = line ?? text;
    // The name: before the colon, trailing space removed, not empty and without space (RFC 5322 §2.2).
    let nameEnd = colon;
    while (nameEnd > base && isSpace(src.charCodeAt(nameEnd - 1))) nameEnd--;
    if (nameEnd === base) continue;
    let bad = false;
    for (let i = base; i < nameEnd; i++) {
      if (isSpace(src.charCodeAt(i))) {
        bad = true;
        break;
      }
    }
    if (bad) continue;
    kept++;
    if (nameEnd - base > MAX_WANTED_NAME) continue;
    const name = src.slice(base, nameEnd).toLowerCase() as Wanted;
    if (!WANTED.includes(name) || out[name] !== undefined) continue;
    if (line === null && folded) {
      line = unfoldField(text, start, Math.min(pos, len));
      colon -= start;
      lineEnd = line.length;
    } else if (line !== null) {
      lineEnd = line.length;
    }
    out[name] = line === null ? text.slice(colon + 1, lineEnd).trim() : line.slice(colon + 1, lineEnd).trim();
    found++;
  }
  return out;
}

/** The field from `start` to `end` (after its last line end) with its line ends removed, as parseHeaderFields joins it. */
function unfoldField(text: string, start: number, end: number): string {
  let out = '';
  let pos = start;
  while (pos < end) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0 || nl >= end) nl = Math.min(end, text.length);
    let lineEnd = nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === 0x0d) lineEnd--;
    out += text.slice(pos, lineEnd);
    pos = nl + 1;
  }
  return out;
}

/** Message ids written as <id> in a value: what /<([^<>\s]{1,250})>/g finds, lower-cased. */
function ids(value: string | undefined, out: string[]): string[] {
  if (value === undefined) return out;
  let i = value.indexOf('<');
  while (i >= 0) {
    let j = i + 1;
    while (j < value.length && j - i - 1 < 251) {
      const c = value.charCodeAt(j);
      if (c === 0x3c || c === 0x3e || isSpace(c)) break;
      j++;
    }
    const n = j - i - 1;
    if (n >= 1 && n <= 250 && value.charCodeAt(j) === 0x3e) {
      out.push(value.slice(i + 1, j).toLowerCase());
      i = value.indexOf('<', j + 1);
    } else {
      i = value.indexOf('<', i + 1);
    }
  }
  return out;
}

/** Characters of an atom (RFC 5322 §3.2.3 atext) plus "." and "@": a plain addr-spec or phrase word. */
function isPlain(c: number): boolean {
  if (c >= 0x61 && c <= 0x7a) return true; // a-z
  if (c >= 0x40 && c <= 0x5a) return true; // @, A-Z
  if (c >= 0x2d && c <= 0x39) return true; // - . / 0-9
  return c === 0x21 || (c >= 0x23 && c <= 0x27) || c === 0x2a || c === 0x2b || c === 0x3d || c === 0x3f || (c >= 0x5e && c <= 0x60) || (c >= 0x7b && c <= 0x7e);
}

/** Whether text[from, to) is plain characters with at least one that is neither "." nor "@" (a word). */
function plainWithWord(text: string, from: number, to: number): boolean {
  let word = false;
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (!isPlain(c)) return false;
    if (c !== 0x2e && c !== 0x40) word = true;
  }
  return word;
}

/**
 * The sort key of the first mailbox of an address list: its display name (RFC 2047 decoded), else its
 * address. The common shapes ("a@b", "<a@b>", "Name <a@b>") are read directly; anything else (quotes,
 * comments, groups, lists) goes through the address-list parser, which gives the same answer for these.
 */
function firstMailboxSort(value: string | undefined): string {
  if (value === undefined) return '';
  const len = value.length;
  if (plainWithWord(value, 0, len)) return value.toLowerCase();
  if (len > 2 && value.charCodeAt(len - 1) === 0x3e) {
    const open = value.indexOf('<');
    if (open >= 0 && plainWithWord(value, open + 1, len - 1)) {
      if (open === 0) return value.slice(1, len - 1).toLowerCase();
      const phrase = plainPhrase(value, open);
      if (phrase !== null) return (phrase === '' ? value.slice(open + 1, len - 1) : decodeHeaderValue(phrase)).toLowerCase();
    }
  }
  for (const a of parseAddressList(value, { maxAddresses: 5 })) {
    const m = a.kind === 'mailbox' ? a : a.members[0];
    if (m) return (m.name ? decodeHeaderValue(m.name) : m.address).toLowerCase();
  }
  return '';
}

/** Words of plain characters separated by spaces or tabs before `end`, joined by one space; null for anything else. */
function plainPhrase(value: string, end: number): string | null {
  let out = '';
  let i = 0;
  while (i < end) {
    const c = value.charCodeAt(i);
    if (c === 0x20 || c === 0x09) {
      i++;
      continue;
    }
    const start = i;
    while (i < end && isPlain(value.charCodeAt(i))) i++;
    if (i === start) return null;
    out = out === '' ? value.slice(start, i) : `${out} ${value.slice(start, i)}`;
  }
  return out;
}

/** Reads the fields from the start of a message (its header; bytes past the header are ignored). */
export function messageIndexFields(head: Buffer): MessageIndexFields {
  const { fieldsEnd } = findHeaderEnd(head, 0, head.length);
  const fields = wantedFields(decodeUtf8OrFallback(head.subarray(0, fieldsEnd)));
  const own = ids(fields['message-id'], [])[0] ?? null;
  // RFC 5322 §3.6.4: In-Reply-To names the parent, References the whole chain.
  const chain = ids(fields.references, ids(fields['in-reply-to'], []));
  const refs: string[] = [];
  for (const r of chain) {
    if (r !== own && !refs.includes(r)) refs.push(r);
    if (refs.length === MAX_REFERENCES) break;
  }
  const subject = baseSubject(decodeHeaderValue(fields.subject ?? ''));
  const date = fields.date;
  const sentAt = date === undefined ? NaN : Date.parse(date.indexOf('(') < 0 ? date : date.replace(/\([^)]*\)/g, ' '));
  return {
    messageId: own,
    references: refs,
    baseSubject: subject.base,
    isReplySubject: subject.isReply,
    sentAt: Number.isFinite(sentAt) ? sentAt : null,
    fromSort: firstMailboxSort(fields.from),
    toSort: firstMailboxSort(fields.to),
  };
}
