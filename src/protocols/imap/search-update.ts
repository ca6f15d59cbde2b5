/**
 * Searches a session keeps up to date (RFC 5267 §4.2 CONTEXT=SEARCH, RETURN (UPDATE)): the key, the
 * tag the client refers to, and the UIDs in the result as last reported; and their ESEARCH lines.
 */
import type { SearchKey } from './search-query.ts';
import { formatString } from './response.ts';
import { formatSequenceSet } from './sequence-set.ts';

export interface SearchUpdate {
  /** The tag of the SEARCH command, which names the context in ESEARCH and CANCELUPDATE. */
  tag: string;
  key: SearchKey;
  /** UID SEARCH: results are UIDs, else message sequence numbers. */
  isUid: boolean;
  /** The UIDs in the result as the client knows it. */
  uids: Set<number>;
}

/**
 * One ESEARCH update line (RFC 5267 §4.3), ids already in the numbering the client uses. For SEARCH the
 * result is in ascending order the client can compute itself, so the position given is 0.
 */
export function formatSearchUpdate(update: SearchUpdate, change: { removed?: number[]; added?: number[] }): string | null {
  const parts = [`ESEARCH (TAG ${formatString(update.tag)})`];
  if (update.isUid) parts.push('UID');
  const removed = change.removed ?? [];
  const added = change.added ?? [];
  if (removed.length > 0) parts.push(`REMOVEFROM (0 ${formatSequenceSet([...removed].sort((a, b) => a - b))})`);
  if (added.length > 0) parts.push(`ADDTO (0 ${formatSequenceSet([...added].sort((a, b) => a - b))})`);
  return removed.length + added.length > 0 ? parts.join(' ') : null;
}
