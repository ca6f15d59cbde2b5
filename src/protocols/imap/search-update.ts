/**
 * Searches a session keeps up to date (RFC 5267 §4.2 CONTEXT=SEARCH and CONTEXT=SORT, RETURN (UPDATE)):
 * the key, the tag the client refers to, and the UIDs in the result as last reported (in sort order for
 * SORT); and their ESEARCH lines.
 */
import type { SearchKey, SearchSubject } from './search-query.ts';
import { formatString } from './response.ts';
import { formatSequenceSet } from './sequence-set.ts';

export interface SearchUpdate {
  /** The tag of the SEARCH or SORT command, which names the context in ESEARCH and CANCELUPDATE. */
  tag: string;
  key: SearchKey;
  /** UID SEARCH / UID SORT: results are UIDs, else message sequence numbers. */
  isUid: boolean;
  /** The UIDs in the result as the client knows it. */
  uids: Set<number>;
  /** A SORT result: its order as the client knows it, and how a new result is put in order. */
  sort?: {
    order: number[];
    /** The matches' UIDs in sort order. */
    resort: (found: SearchSubject[]) => number[];
    /** The sort criteria read header fields. */
    needHeaders: boolean;
  };
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

/**
 * The update of a sorted result from the order the client knows to `next` (RFC 5267 §4.3): REMOVEFROM
 * pairs of (position, id), each position counted in the list as the pairs before it left it, then ADDTO
 * pairs in ascending position, each the message's place in the new result. A message's sort keys never
 * change (its bytes and arrival are fixed), so the messages that stay keep their relative order.
 * `id` maps a UID to the number the client uses. Updates `sort.order` and `uids`.
 */
export function formatSortUpdate(update: SearchUpdate, next: readonly number[], id: (uid: number) => number): string | null {
  const sort = update.sort!;
  const nextSet = new Set(next);
  const removed: string[] = [];
  let gone = 0;
  sort.order.forEach((uid, i) => {
    if (nextSet.has(uid)) return;
    removed.push(`${i + 1 - gone} ${id(uid)}`);
    gone++;
  });
  const added: string[] = [];
  next.forEach((uid, i) => {
    if (!update.uids.has(uid)) added.push(`${i + 1} ${id(uid)}`);
  });
  sort.order = [...next];
  update.uids = nextSet;
  if (removed.length + added.length === 0) return null;
  const parts = [`ESEARCH (TAG ${formatString(update.tag)})`];
  if (update.isUid) parts.push('UID');
  if (removed.length > 0) parts.push(`REMOVEFROM (${removed.join(' ')})`);
  if (added.length > 0) parts.push(`ADDTO (${added.join(' ')})`);
  return parts.join(' ');
}
