/**
 * Resolving a command's sequence set against the selected mailbox: message numbers or UIDs
 * (RFC 9051 §6.4.8), and `$` for the saved search result (RFC 5182).
 */
import type { CommandContext } from '../command.ts';
import { ImapSyntaxError } from '../parser/tokenizer.ts';
import type { SelectedMailbox } from '../selected.ts';
import type { UidMap } from '../uid-map.ts';
import { parseSequenceSet, resolveSequenceNumbers, resolveUidIndexes, sequenceIndexIntervals, uidIndexIntervals, type SequenceRange } from '../sequence-set.ts';

export interface MessageRef {
  seq: number;
  uid: number;
}

export function selectedMailbox(ctx: CommandContext): SelectedMailbox {
  const s = ctx.session.state;
  if (s.kind !== 'selected') throw new ImapSyntaxError('No mailbox selected');
  return s.mailbox;
}

/** The messages a set names, ascending; an out-of-range message number is a BAD (RFC 9051 §6.4.8 is for UIDs only). */
export function resolveMessages(ctx: CommandContext, setText: string): MessageRef[] {
  const mailbox = selectedMailbox(ctx);
  const set = parseSequenceSet(setText);
  if (set === '$') {
    const saved = ctx.session.savedSearch ?? [];
    return saved.map((uid) => ({ uid, seq: mailbox.seqOf(uid) })).filter((r) => r.seq > 0);
  }
  if (ctx.isUid) {
    return resolveUidIndexes(set, mailbox.uids).map((i) => ({ seq: i + 1, uid: mailbox.uids.at(i)! }));
  }
  checkSeqRange(set, mailbox.exists);
  return resolveSequenceNumbers(set, mailbox.exists).map((seq) => ({ seq, uid: mailbox.uids.at(seq - 1)! }));
}

/** Messages seq..seq+count-1 whose UIDs are uid..uid+count-1. */
export interface MessageSpan {
  seq: number;
  uid: number;
  count: number;
}

/**
 * The messages a set names, ascending, as spans of consecutive numbers and UIDs: the same messages
 * as resolveMessages without an object per message (FETCH 1:* on a 100,000-message mailbox).
 */
export function resolveSpans(ctx: CommandContext, setText: string): MessageSpan[] {
  const mailbox = selectedMailbox(ctx);
  const set = parseSequenceSet(setText);
  if (set === '$') {
    const out: MessageSpan[] = [];
    for (const ref of resolveMessages(ctx, setText)) {
      const last = out[out.length - 1];
      if (last !== undefined && ref.seq === last.seq + last.count && ref.uid === last.uid + last.count) last.count++;
      else out.push({ seq: ref.seq, uid: ref.uid, count: 1 });
    }
    return out;
  }
  let intervals: [number, number][];
  if (ctx.isUid) intervals = uidIndexIntervals(set, mailbox.uids);
  else {
    checkSeqRange(set, mailbox.exists);
    intervals = sequenceIndexIntervals(set, mailbox.exists);
  }
  return spansOf(mailbox.uids, intervals);
}

/** The messages at the given [first, last] index intervals (0-based, inclusive), as spans. */
export function spansOf(uids: UidMap, intervals: readonly (readonly [number, number])[]): MessageSpan[] {
  const out: MessageSpan[] = [];
  for (const [first, last] of intervals) {
    uids.forEachSpan(first, last + 1, (index, uid, count) => void out.push({ seq: index + 1, uid, count }));
  }
  return out;
}

/**
 * RFC 9051 §6.4.8: a message number above EXISTS is an error. A range with `*` (e.g. `1:*` in an
 * empty mailbox) is accepted and selects what exists, as widely deployed servers do.
 */
function checkSeqRange(set: SequenceRange[], count: number): void {
  for (const r of set) {
    if (r.from !== 0 && r.to !== 0 && (r.from > count || r.to > count)) throw new ImapSyntaxError('Invalid message sequence number');
  }
}
