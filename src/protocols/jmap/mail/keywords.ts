/**
 * JMAP keywords ↔ IMAP flags (RFC 8621 §4.1.1): the four system flags with a keyword are mapped both
 * ways; other keywords are the IMAP keyword, compared and shown lower-case; \Deleted and \Recent have none.
 */

const TO_FLAG: Readonly<Record<string, string>> = { $seen: '\\Seen', $flagged: '\\Flagged', $answered: '\\Answered', $draft: '\\Draft' };
const TO_KEYWORD: Readonly<Record<string, string>> = { '\\seen': '$seen', '\\flagged': '$flagged', '\\answered': '$answered', '\\draft': '$draft' };

/** RFC 8621 §4.1.1: a keyword is 1-255 of %x21-%x7E without ( ) { ] % * " \ . */
export function isValidKeyword(keyword: string): boolean {
  return /^[\x21-\x7e]{1,255}$/.test(keyword) && !/[(){\]%*"\\]/.test(keyword);
}

export function keywordToFlag(keyword: string): string {
  const lower = keyword.toLowerCase();
  return TO_FLAG[lower] ?? lower;
}

/** The keyword of an IMAP flag, or null for a system flag without one (\Deleted, \Recent). */
export function flagToKeyword(flag: string): string | null {
  const lower = flag.toLowerCase();
  if (lower.startsWith('\\')) return TO_KEYWORD[lower] ?? null;
  return lower;
}

export function keywordsOfFlags(flags: readonly string[]): Record<string, true> {
  const out: Record<string, true> = {};
  for (const f of flags) {
    const k = flagToKeyword(f);
    if (k !== null) out[k] = true;
  }
  return out;
}

/** Whether stored flags (space-separated, as in the index) carry the keyword. */
export function flagTextHasKeyword(flagText: string, keyword: string): boolean {
  if (flagText === '') return false;
  const wanted = keywordToFlag(keyword).toLowerCase();
  for (const f of flagText.split(' ')) if (f.toLowerCase() === wanted) return true;
  return false;
}
