/**
 * Metadata read as columns over spans of consecutive sequence numbers and UIDs, a bounded batch of
 * UIDs per store call: the one loop behind metadata FETCH, metadata SEARCH and EXPUNGE's \Deleted scan.
 */
import type { ImapAccount, ImapMetaColumns, ImapMetaField } from '../backend.ts';
import type { MessageSpan } from './message-set.ts';

/** UIDs read per store call: bounds the memory of one batch of columns. */
export const META_BATCH = 4096;

/** One store call's columns for the messages seqFrom.., UIDs uidFrom..uidFrom+count-1 (some may be gone). */
export interface MetaBatch {
  seqFrom: number;
  uidFrom: number;
  /** The UIDs asked for; cols.count < count when some were expunged meanwhile. */
  count: number;
  cols: ImapMetaColumns;
}

export async function* metaBatches(account: ImapAccount, mailboxId: number, spans: readonly MessageSpan[], fields: readonly ImapMetaField[]): AsyncGenerator<MetaBatch, void, void> {
  for (const span of spans) {
    for (let off = 0; off < span.count; off += META_BATCH) {
      const count = Math.min(META_BATCH, span.count - off);
      const uidFrom = span.uid + off;
      const cols = await account.metaColumns(mailboxId, { uidFrom, uidTo: uidFrom + count - 1 }, fields);
      yield { seqFrom: span.seq + off, uidFrom, count, cols };
    }
  }
}

/** The UID of a batch's i-th row (cols.uids is null when no UID in the range is missing). */
export function batchUid(b: MetaBatch, i: number): number {
  return b.cols.uids === null ? b.uidFrom + i : b.cols.uids[i]!;
}

/** The sequence number of a batch's row with this UID: within a span, sequence numbers follow UIDs one for one. */
export function batchSeq(b: MetaBatch, uid: number): number {
  return b.seqFrom + uid - b.uidFrom;
}
