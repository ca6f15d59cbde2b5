/**
 * FETCH of metadata only (FLAGS, UID, INTERNALDATE, RFC822.SIZE, MODSEQ: RFC 9051 §6.4.5, RFC 7162
 * §3.1.4; EMAILID, THREADID: RFC 8474; SAVEDATE: RFC 8514): a client's resync of a whole mailbox. Works on spans of consecutive sequence numbers and
 * UIDs, reads the metadata as columns (one value per field, no object per message) and formats each
 * output chunk into one string, synchronously.
 */
import type { ImapAccount, ImapMetaColumns, ImapMetaField } from '../backend.ts';
import { ok, type CommandResult } from '../command.ts';
import { parseFlagText } from '../../../core/flag-text.ts';
import { formatObjectId } from '../../../core/object-ids.ts';
import { formatDateTime } from '../parser/args.ts';
import type { MessageSpan } from './message-set.ts';
import { batchSeq, batchUid, metaBatches } from './meta-batches.ts';
import { loadHeaderSections, type HeaderSectionItem } from './header-sections.ts';

export type MetaItem = 'FLAGS' | 'UID' | 'INTERNALDATE' | 'RFC822.SIZE' | 'MODSEQ' | 'EMAILID' | 'THREADID' | 'SAVEDATE';

export interface MetaFetch {
  spans: MessageSpan[];
  /** The items in the order asked (duplicates kept, as for other FETCHes); header sections from header-sections.ts. */
  items: (MetaItem | HeaderSectionItem)[];
  isUid: boolean;
  /** MODSEQ is added when CONDSTORE asks for it implicitly (RFC 7162 §3.1.4.1). */
  wantsModSeq: boolean;
  /** RFC 7162 §3.1.4.1 CHANGEDSINCE: only messages with a greater modseq. */
  changedSince: number | null;
  account: ImapAccount;
  mailboxId: number;
  uidValidity: number;
  verb: string;
  /** RFC 3501 §2.3.2: for IMAP4rev1 sessions with recent messages, which UIDs show \Recent. */
  recent: ((uid: number) => boolean) | null;
  /** RFC 9051 §7.3.5: FLAGS/PERMANENTFLAGS lines for keywords the client was not told of yet. */
  announceKeywords: (flags: string[]) => string[];
  /** RFC 9586 §3.3: UIDFETCH responses, the UID in place of the message number. */
  uidOnly: boolean;
}

const OUT_CHUNK = 64 * 1024;

/** `sections[k][i]`: the k-th header section item's literal for the batch's i-th row (null: the message is gone). */
type Emit = (uid: number, i: number, c: ImapMetaColumns, sections: (string | null)[][]) => string;

/** The data items of one response, in order: `UID n` first when UID FETCH did not ask for it (RFC 9051 §6.4.9). */
function emitters(m: MetaFetch): { emit: Emit[]; fields: ImapMetaField[]; headers: HeaderSectionItem[] } {
  const names: (MetaItem | HeaderSectionItem)[] = [...m.items];
  // Under UIDONLY the UID heads the response already (RFC 9586 §3.3).
  if (m.isUid && !m.uidOnly && !names.includes('UID')) names.unshift('UID');
  if (m.wantsModSeq && !names.includes('MODSEQ')) names.push('MODSEQ');
  const fields = new Set<ImapMetaField>();
  if (m.changedSince !== null) fields.add('modSeq');
  const headers: HeaderSectionItem[] = [];
  const emit = names.map((name): Emit => {
    if (typeof name !== 'string') {
      // The size bounds the header read of a message missing from the cache.
      fields.add('size');
      const k = headers.push(name) - 1;
      const label = name.label + ' ';
      return (_, i, _c, sections) => label + sections[k]![i]!;
    }
    switch (name) {
      case 'UID':
        return (uid) => 'UID ' + uid;
      case 'FLAGS':
        fields.add('flags');
        if (m.recent !== null) {
          const isRecent = m.recent;
          return (uid, i, c) => (isRecent(uid) ? 'FLAGS (\\Recent' + (c.flags![i] === '' ? ')' : ' ' + c.flags![i] + ')') : 'FLAGS (' + c.flags![i] + ')');
        }
        return (_, i, c) => 'FLAGS (' + c.flags![i] + ')';
      case 'INTERNALDATE':
        fields.add('internalDate');
        return (_, i, c) => 'INTERNALDATE ' + formatDateTime(new Date(c.internalDate![i]!));
      case 'RFC822.SIZE':
        fields.add('size');
        return (_, i, c) => 'RFC822.SIZE ' + c.size![i];
      case 'MODSEQ':
        fields.add('modSeq');
        return (_, i, c) => 'MODSEQ (' + c.modSeq![i] + ')';
      // RFC 8474 §5.1, §5.2: the ids JMAP gives the same email and thread (core/object-ids.ts).
      case 'EMAILID':
        fields.add('emailId');
        return (_, i, c) => 'EMAILID (' + formatObjectId('email', c.emailId![i]!) + ')';
      case 'THREADID':
        fields.add('threadId');
        return (_, i, c) => 'THREADID (' + formatObjectId('thread', c.threadId![i]!) + ')';
      // RFC 8514 §4.2: every message here has a save date, so it is never NIL.
      case 'SAVEDATE':
        fields.add('saveDate');
        return (_, i, c) => 'SAVEDATE ' + formatDateTime(new Date(c.saveDate![i]!));
    }
  });
  return { emit, fields: [...fields], headers };
}

export async function* produceMetaFetch(m: MetaFetch): AsyncGenerator<string | Buffer, CommandResult, void> {
  const { emit, fields, headers } = emitters(m);
  // Header sections are latin1 text (a char per byte): such chunks are converted as latin1, the rest being ASCII.
  const out = headers.length === 0 ? (text: string): string | Buffer => text : (text: string): string | Buffer => Buffer.from(text, 'latin1');
  const n = emit.length;
  const since = m.changedSince;
  let gone = false;
  // Lines are joined once per chunk: a flat string converts to bytes much faster than a long `+=` rope.
  let lines: string[] = [];
  let chunkLength = 0;
  for await (const b of metaBatches(m.account, m.mailboxId, m.spans, fields)) {
    const cols = b.cols;
    // Messages missing here were expunged by another session and not reported yet (RFC 9051 §7.5.1).
    if (cols.count < b.count) gone = true;
    const sections: (string | null)[][] = [];
    if (headers.length > 0) {
      const uids = cols.uids ?? Array.from({ length: cols.count }, (_, i) => b.uidFrom + i);
      for (const item of headers) sections.push(await loadHeaderSections({ account: m.account, mailboxId: m.mailboxId, uidValidity: m.uidValidity, item, uids, sizes: cols.size! }));
    }
    for (let i = 0; i < cols.count; i++) {
      if (since !== null && cols.modSeq![i]! <= since) continue;
      if (sections.some((s) => s[i] === null)) {
        gone = true;
        continue;
      }
      const uid = batchUid(b, i);
      // A keyword another session set since the last report is announced before the FETCH that shows it.
      const flagText = cols.flags?.[i];
      if (flagText !== undefined && hasKeyword(flagText)) {
        for (const l of m.announceKeywords(parseFlagText(flagText))) lines.push('* ' + l + '\r\n');
      }
      let line = (m.uidOnly ? '* ' + uid + ' UIDFETCH (' : '* ' + batchSeq(b, uid) + ' FETCH (') + emit[0]!(uid, i, cols, sections);
      for (let k = 1; k < n; k++) line += ' ' + emit[k]!(uid, i, cols, sections);
      line += ')\r\n';
      lines.push(line);
      chunkLength += line.length;
      if (chunkLength >= OUT_CHUNK) {
        yield out(lines.join(''));
        lines = [];
        chunkLength = 0;
      }
    }
  }
  if (lines.length > 0) yield out(lines.join(''));
  // RFC 2180 §4.1.2, RFC 5530 §3: the rest was returned, so the command succeeds and says why data is missing.
  if (gone) return ok('Some messages were expunged', 'EXPUNGEISSUED');
  return ok(`${m.verb} completed`);
}

/** Whether a stored flag text (space-separated) has a flag not starting with a backslash. */
function hasKeyword(text: string): boolean {
  if (text === '') return false;
  if (text.charCodeAt(0) !== 0x5c) return true;
  for (let i = text.indexOf(' '); i >= 0; i = text.indexOf(' ', i + 1)) if (text.charCodeAt(i + 1) !== 0x5c) return true;
  return false;
}
