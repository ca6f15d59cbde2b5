/**
 * Formatting of IMAP response data (RFC 9051 §4, §7): quoted strings vs literals, nstrings,
 * flag lists and tagged status lines.
 */
import type { CommandResult } from './command.ts';

/** A string as `"quoted"` when safe, else as a literal `{n}\r\n...` (CR, LF, NUL, long or 8-bit without UTF-8). */
export function formatString(value: string, options: { utf8?: boolean } = {}): string {
  const bytes = Buffer.byteLength(value, 'utf8');
  const eightBit = bytes !== value.length;
  if (!/[\r\n\0]/.test(value) && value.length < 1000 && (!eightBit || options.utf8 === true)) {
    return `"${value.replace(/[\\"]/g, (c) => '\\' + c)}"`;
  }
  return `{${bytes}}\r\n${value}`;
}

export function formatNString(value: string | null, options: { utf8?: boolean } = {}): string {
  return value === null ? 'NIL' : formatString(value, options);
}

/** An astring: atom when it is one, else a string. */
export function formatAString(value: string, options: { utf8?: boolean } = {}): string {
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
export function formatTagged(tag: string, r: CommandResult): string {
  return `${tag} ${r.status} ${r.code !== undefined ? `[${r.code}] ` : ''}${r.text}\r\n`;
}
