/**
 * Mailbox names on the wire: modified UTF-7 (RFC 3501 §5.1.3) for IMAP4rev1 clients, UTF-8 once
 * IMAP4rev2 or UTF8=ACCEPT is enabled (RFC 9051 §5.1); INBOX is case-insensitive; separator "/".
 */

export const HIERARCHY_SEPARATOR = '/';

/** Printable US-ASCII but `&`: the names that are their own modified UTF-7 (most of them). */
const PLAIN_NAME = /^[\x20-\x25\x27-\x7e]*$/;

export function encodeModifiedUtf7(name: string): string {
  if (PLAIN_NAME.test(name)) return name;
  let out = '';
  let pending: number[] = [];
  const flush = (): void => {
    if (pending.length === 0) return;
    const bytes = Buffer.alloc(pending.length * 2);
    pending.forEach((u, i) => bytes.writeUInt16BE(u, i * 2));
    out += '&' + bytes.toString('base64').replace(/=+$/, '').replace(/\//g, ',') + '-';
    pending = [];
  };
  for (let i = 0; i < name.length; i++) {
    const code = name.charCodeAt(i);
    if (code >= 0x20 && code <= 0x7e) {
      flush();
      out += code === 0x26 ? '&-' : name[i];
    } else {
      pending.push(code); // UTF-16 code units, surrogates included (RFC 2152)
    }
  }
  flush();
  return out;
}

/**
 * null when the input is not valid modified UTF-7 or not in its one canonical form: RFC 3501 §5.1.3 says
 * printable US-ASCII represents itself (so `&AGEAYgBj-` for `abc` is not a valid name), base64 runs are
 * not split ("-&" null shifts are not permitted), and the result must be well-formed UTF-16 (a lone
 * surrogate would make a name that no later command can spell the same way).
 */
export function decodeModifiedUtf7(name: string): string | null {
  if (PLAIN_NAME.test(name)) return name;
  const decoded = decodeModifiedUtf7Lenient(name);
  if (decoded === null || LONE_SURROGATE.test(decoded)) return null;
  // One spelling per name: what we would send for it must be what the client sent.
  return encodeModifiedUtf7(decoded) === name ? decoded : null;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;

function decodeModifiedUtf7Lenient(name: string): string | null {
  let out = '';
  for (let i = 0; i < name.length; i++) {
    const c = name[i]!;
    const code = c.charCodeAt(0);
    if (code < 0x20 || code > 0x7e) return null;
    if (c !== '&') {
      out += c;
      continue;
    }
    const end = name.indexOf('-', i + 1);
    if (end < 0) return null;
    const b64 = name.slice(i + 1, end);
    i = end;
    if (b64 === '') {
      out += '&';
      continue;
    }
    if (!/^[A-Za-z0-9+,]+$/.test(b64)) return null;
    const bytes = Buffer.from(b64.replace(/,/g, '/'), 'base64');
    if (bytes.length % 2 !== 0 || bytes.length === 0) return null;
    for (let j = 0; j < bytes.length; j += 2) out += String.fromCharCode(bytes.readUInt16BE(j));
  }
  return out;
}

/** The stored (UTF-8) name for a name the client sent; null when it is not acceptable. */
export function decodeMailboxName(wire: string, options: { utf8: boolean }): string | null {
  let name = options.utf8 ? wire : decodeModifiedUtf7(wire);
  if (name === null || LONE_SURROGATE.test(name)) return null;
  if (name.toUpperCase() === 'INBOX') return 'INBOX';
  if (name.toUpperCase().startsWith('INBOX/')) name = 'INBOX' + name.slice(5);
  return name;
}

export function encodeMailboxName(name: string, options: { utf8: boolean }): string {
  return options.utf8 ? name : encodeModifiedUtf7(name);
}

/** Names a client may create: no empty levels, no control characters, no wildcards. */
export function isValidNewMailboxName(name: string): boolean {
  if (name === '' || name.length > 512) return false;
  if (/[\x00-\x1f\x7f*%]/.test(name)) return false;
  return name.split(HIERARCHY_SEPARATOR).every((level) => level !== '');
}
