/**
 * Formatting of IMAP response data (RFC 9051 §4, §7): quoted strings vs literals, nstrings,
 * flag lists and tagged status lines.
 */

/** The status part of a tagged response (RFC 9051 §7.1). */
export interface TaggedResponse {
  status: 'OK' | 'NO' | 'BAD';
  /** Response code without brackets, e.g. `APPENDUID 1 5`. */
  code?: string;
  text: string;
}

export interface ImapStringOptions {
  /** UTF8=ACCEPT or IMAP4rev2 enabled (RFC 9051 §4.3, RFC 6855): 8-bit UTF-8 may go in quoted strings. */
  utf8?: boolean;
}

const MAX_QUOTED_LENGTH = 1000;

/**
 * A string as `"quoted"` when it can be, else as a literal `{n}\r\n` + value (n counts UTF-8 octets;
 * the result must be written as UTF-8). RFC 9051 §4.3: a quoted string holds no CR, LF or NUL and,
 * without UTF-8, no 8-bit octets. RFC 9051 §9 (CHAR8): a literal cannot hold NUL either (only
 * literal8 can), so NUL becomes U+FFFD.
 */
export function formatString(value: string, options: ImapStringOptions = {}): string {
  let v = value;
  let needsLiteral = false;
  let hasNul = false;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0) hasNul = true;
    else if (c === 0x0d || c === 0x0a) needsLiteral = true;
    else if (c >= 0x80 && options.utf8 !== true) needsLiteral = true;
  }
  if (hasNul) v = v.replace(/\0/g, '\uFFFD');
  if (hasNul && options.utf8 !== true) needsLiteral = true;
  // Very long values go as literals too, keeping response lines short for line-based clients.
  if (v.length >= MAX_QUOTED_LENGTH) needsLiteral = true;
  if (needsLiteral) return `{${Buffer.byteLength(v, 'utf8')}}\r\n${v}`;
  return '"' + v.replace(/[\\"]/g, (m) => '\\' + m) + '"';
}

/** An nstring: NIL for an absent value, else a string. */
export function formatNString(value: string | null | undefined, options: ImapStringOptions = {}): string {
  return value === null || value === undefined ? 'NIL' : formatString(value, options);
}

/** An astring: atom when it is one, else a string. */
export function formatAString(value: string, options: ImapStringOptions = {}): string {
  return /^[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|}~\][]+$/.test(value) && value.toUpperCase() !== 'NIL' ? value : formatString(value, options);
}

export function formatFlags(flags: readonly string[]): string {
  return `(${flags.join(' ')})`;
}

/** A literal of raw bytes: `{n}\r\n` then the bytes. */
export function literal(bytes: Buffer): Buffer[] {
  return [Buffer.from(`{${bytes.length}}\r\n`), bytes];
}

export const SYSTEM_FLAGS = ['\\Answered', '\\Flagged', '\\Deleted', '\\Seen', '\\Draft'] as const;

/** Canonical spelling of a flag the client sent; null when it is not a valid flag to store. */
export function normalizeFlag(flag: string): string | null {
  if (flag.startsWith('\\')) {
    const sys = SYSTEM_FLAGS.find((f) => f.toLowerCase() === flag.toLowerCase());
    return sys ?? null; // \Recent and unknown system flags cannot be stored (RFC 9051 §2.3.2)
  }
  // RFC 9051 §9 flag-keyword is an atom.
  return /^[!#$&'+,\-./0-9:;<=>?@A-Z^_`a-z|}~]+$/.test(flag) && flag.length <= 250 ? flag : null;
}

/** A tagged status line: `tag OK|NO|BAD [CODE] text` (RFC 9051 §7.1). */
export function formatTagged(tag: string, r: TaggedResponse): string {
  return `${tag} ${r.status} ${r.code !== undefined ? `[${r.code}] ` : ''}${r.text}\r\n`;
}
