/**
 * Mailbox names on the wire: modified UTF-7 (RFC 3501 §5.1.3) for IMAP4rev1 clients, UTF-8 once
 * IMAP4rev2 or UTF8=ACCEPT is enabled (RFC 9051 §5.1); INBOX is case-insensitive; separator "/".
 */

export const HIERARCHY_SEPARATOR = '/';

export function encodeModifiedUtf7(name: string): string {
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

/** null when the input is not valid modified UTF-7. */
export function decodeModifiedUtf7(name: string): string | null {
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
  if (name === null) return null;
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

/** LIST pattern (RFC 9051 §6.3.9): `*` matches anything, `%` anything but the separator. */
export function patternToRegExp(reference: string, pattern: string): RegExp {
  const full = reference + pattern;
  let re = '';
  for (const ch of full) {
    if (ch === '*') re += '.*';
    else if (ch === '%') re += '[^/]*';
    else re += ch.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  }
  // INBOX is case-insensitive (RFC 9051 §5.1), the rest is case-sensitive.
  if (/^inbox(?=$|[/*%])/i.test(full)) re = 'INBOX' + re.slice(5);
  return new RegExp(`^${re}$`, 's');
}
