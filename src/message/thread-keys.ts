/**
 * What a store keeps about a message at delivery so that threads and sorted listings need no parse later:
 * its Message-ID, the ids it refers to, its base subject (RFC 5256 §2.1, simplified) and sort keys.
 */
import { parseAddressList } from './address.ts';
import { decodeHeaderValue } from './encoded-words.ts';
import { findHeaderEnd, headerValue, parseHeaderFields } from './header-fields.ts';

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

const MSG_ID = /<([^<>\s]{1,250})>/g;

function ids(value: string | null): string[] {
  if (value === null) return [];
  const out: string[] = [];
  for (const m of value.matchAll(MSG_ID)) out.push(m[1]!.toLowerCase());
  return out;
}

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

function firstMailboxSort(value: string | null): string {
  if (value === null) return '';
  for (const a of parseAddressList(value, { maxAddresses: 5 })) {
    const m = a.kind === 'mailbox' ? a : a.members[0];
    if (m) return (m.name ? decodeHeaderValue(m.name) : m.address).toLowerCase();
  }
  return '';
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

/** Reads the fields from the start of a message (its header; bytes past the header are ignored). */
export function messageIndexFields(head: Buffer): MessageIndexFields {
  const { fieldsEnd } = findHeaderEnd(head, 0, head.length);
  const fields = parseHeaderFields(head, 0, fieldsEnd, MAX_FIELDS);
  const own = ids(headerValue(fields, 'Message-ID'))[0] ?? null;
  // RFC 5322 §3.6.4: In-Reply-To names the parent, References the whole chain.
  const refs = [...new Set([...ids(headerValue(fields, 'In-Reply-To')), ...ids(headerValue(fields, 'References'))])].filter((r) => r !== own).slice(0, MAX_REFERENCES);
  const subject = baseSubject(decodeHeaderValue(headerValue(fields, 'Subject') ?? ''));
  const date = headerValue(fields, 'Date');
  const sentAt = date === null ? NaN : Date.parse(date.replace(/\([^)]*\)/g, ' '));
  return {
    messageId: own,
    references: refs,
    baseSubject: subject.base,
    isReplySubject: subject.isReply,
    sentAt: Number.isFinite(sentAt) ? sentAt : null,
    fromSort: firstMailboxSort(headerValue(fields, 'From')),
    toSort: firstMailboxSort(headerValue(fields, 'To')),
  };
}
