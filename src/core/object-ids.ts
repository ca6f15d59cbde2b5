/**
 * The string form of stored object ids shared by JMAP (RFC 8620 §1.2 Id) and IMAP OBJECTID (RFC 8474):
 * a letter for the type and the decimal id, so both protocols name a mailbox, email or thread alike.
 */

export type ObjectKind = 'mailbox' | 'email' | 'thread';

const PREFIX: Record<ObjectKind, string> = { mailbox: 'M', email: 'E', thread: 'T' };

export function formatObjectId(kind: ObjectKind, id: number): string {
  return `${PREFIX[kind]}${id}`;
}

/** The numeric id of a string of this kind, or null when it is not one (a foreign or malformed id). */
export function parseObjectId(kind: ObjectKind, text: string): number | null {
  if (text.length < 2 || text.length > 17 || text[0] !== PREFIX[kind]) return null;
  const digits = text.slice(1);
  if (!/^[1-9][0-9]*$/.test(digits)) return null;
  const n = Number(digits);
  return Number.isSafeInteger(n) ? n : null;
}
