/**
 * How many METADATA entries a server or mailbox holds after a SETMETADATA (RFC 5464 §4.3 TOOMANY), the
 * one rule both store backends check before they write.
 */
export function entriesAfter(existing: readonly string[], changes: readonly { entry: string; value: Buffer | null }[]): number {
  const names = new Set(existing);
  for (const c of changes) {
    if (c.value === null) names.delete(c.entry);
    else names.add(c.entry);
  }
  return names.size;
}
