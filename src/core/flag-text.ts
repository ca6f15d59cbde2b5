/**
 * A message's flags as the store keeps them and hands them out in column reads: one space-separated
 * string (`\Seen $Work`, '' for none). Shared by the store, the IMAP engine and the app adapters so the
 * format is split and searched in one place.
 */

/** The flags in a stored flag text (a new array: callers may change it). */
export function parseFlagText(text: string): string[] {
  return text === '' ? [] : text.split(' ');
}

/** Whether the flag text holds `flag` (compared as stored, as the store writes it). */
export function hasFlag(text: string, flag: string): boolean {
  return (' ' + text + ' ').includes(' ' + flag + ' ');
}

/** Whether a flag is a keyword (RFC 9051 §2.3.2: system flags begin with a backslash). */
export function isKeyword(flag: string): boolean {
  return flag !== '' && !flag.startsWith('\\');
}
