/**
 * FETCH of metadata only (FLAGS, UID, INTERNALDATE, RFC822.SIZE, MODSEQ: RFC 9051 §6.4.5, RFC 7162
 * §3.1.4; EMAILID, THREADID: RFC 8474; SAVEDATE: RFC 8514): a client's resync of a whole mailbox. Works on spans of consecutive sequence numbers and
 * UIDs, reads the metadata as columns (one value per field, no object per message) and writes each
 * output chunk as bytes into one buffer (chunk-writer.ts), synchronously.
 */
import type { ImapAccount, ImapMetaField } from '../backend.ts';
import { ok, type CommandResult } from '../command.ts';
import { parseFlagText } from '../../../core/flag-text.ts';
import { formatObjectId } from '../../../core/object-ids.ts';
import { formatDateTime } from '../parser/args.ts';
import type { MessageSpan } from './message-set.ts';
import { metaBatches, type MetaBatch } from './meta-batches.ts';
import { loadHeaderSections, type HeaderSectionItem } from './header-sections.ts';
import { ChunkWriter } from '../chunk-writer.ts';

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

/** What a response's k-th data item is: a metadata column, or the k-th header section item. */
const UID = 0;
const FLAGS = 1;
const INTERNALDATE = 2;
const SIZE = 3;
const MODSEQ = 4;
const EMAILID = 5;
const THREADID = 6;
const SAVEDATE = 7;
const HEADER = 8;

const CODES: Record<MetaItem, number> = { UID, FLAGS, INTERNALDATE, 'RFC822.SIZE': SIZE, MODSEQ, EMAILID, THREADID, SAVEDATE };

/**
 * The data items of each response as codes and labels (the label with its separating space), in order:
 * `UID n` first when UID FETCH did not ask for it (RFC 9051 §6.4.9), MODSEQ last when CONDSTORE adds it.
 */
interface Layout {
  codes: number[];
  labels: string[];
  /** For a HEADER item: which of `headers` it is. */
  header: number[];
  fields: ImapMetaField[];
  headers: HeaderSectionItem[];
}

function layout(m: MetaFetch): Layout {
  const names: (MetaItem | HeaderSectionItem)[] = [...m.items];
  // Under UIDONLY the UID heads the response already (RFC 9586 §3.3).
  if (m.isUid && !m.uidOnly && !names.includes('UID')) names.unshift('UID');
  if (m.wantsModSeq && !names.includes('MODSEQ')) names.push('MODSEQ');
  const fields = new Set<ImapMetaField>();
  if (m.changedSince !== null) fields.add('modSeq');
  const out: Layout = { codes: [], labels: [], header: [], fields: [], headers: [] };
  for (const name of names) {
    const sep = out.codes.length === 0 ? '' : ' ';
    if (typeof name !== 'string') {
      // The size bounds the header read of a message missing from the cache.
      fields.add('size');
      out.header.push(out.headers.push(name) - 1);
      out.codes.push(HEADER);
      out.labels.push(sep + name.label + ' ');
      continue;
    }
    const code = CODES[name];
    const field = FIELD_OF[code];
    if (field !== undefined) fields.add(field);
    out.header.push(-1);
    out.codes.push(code);
    out.labels.push(sep + name + (OPENS_LIST[code] === true ? ' (' : ' '));
  }
  out.fields = [...fields];
  return out;
}

/** Items whose value is a parenthesized list: the label carries the opening parenthesis. */
const OPENS_LIST: boolean[] = [false, true, false, false, true, true, true, false];

/** The column each item code reads (UID needs none: it is the range itself). */
const FIELD_OF: (ImapMetaField | undefined)[] = [undefined, 'flags', 'internalDate', 'size', 'modSeq', 'emailId', 'threadId', 'saveDate'];

export async function* produceMetaFetch(m: MetaFetch): AsyncGenerator<string | Buffer, CommandResult, void> {
  const lay = layout(m);
  const headers = lay.headers;
  const rows: Rows = { lay, since: m.changedSince, recent: m.recent, announceKeywords: m.announceKeywords, uidOnly: m.uidOnly, gone: false, out: new ChunkWriter(OUT_CHUNK + 4096), flagBytes: new Map() };
  for await (const b of metaBatches(m.account, m.mailboxId, m.spans, lay.fields)) {
    const cols = b.cols;
    // Messages missing here were expunged by another session and not reported yet (RFC 9051 §7.5.1).
    if (cols.count < b.count) rows.gone = true;
    const sections: (string | null)[][] = [];
    if (headers.length > 0) {
      const uids = cols.uids ?? Array.from({ length: cols.count }, (_, i) => b.uidFrom + i);
      for (const item of headers) sections.push(await loadHeaderSections({ account: m.account, mailboxId: m.mailboxId, uidValidity: m.uidValidity, item, uids, sizes: cols.size! }));
    }
    for (let i = 0; i < cols.count;) {
      i = formatRows(rows, b, sections, i);
      if (rows.out.length >= OUT_CHUNK) yield rows.out.take();
    }
  }
  if (rows.out.length > 0) yield rows.out.take();
  // RFC 2180 §4.1.2, RFC 5530 §3: the rest was returned, so the command succeeds and says why data is missing.
  if (rows.gone) return ok('Some messages were expunged', 'EXPUNGEISSUED');
  return ok(`${m.verb} completed`);
}

/** A FETCH's output state between batches. */
interface Rows {
  lay: Layout;
  since: number | null;
  recent: ((uid: number) => boolean) | null;
  announceKeywords: (flags: string[]) => string[];
  uidOnly: boolean;
  gone: boolean;
  /** The responses are written as bytes into one buffer per chunk. */
  out: ChunkWriter;
  /** A mailbox holds few distinct flag sets: each one's bytes are made once per FETCH. */
  flagBytes: Map<string, Buffer>;
}

/**
 * Writes a batch's rows from `from` until a chunk is full or the batch ends; returns the next row. A plain
 * function with one switch, not closures called from the generator: V8 optimizes a hot loop in a plain
 * function while it runs (on-stack replacement), so the first FETCH after a start runs optimized code,
 * and one call site per item kind does not deoptimize when another FETCH asks for other items.
 */
function formatRows(st: Rows, b: MetaBatch, sections: (string | null)[][], from: number): number {
  const c = b.cols;
  const { codes, labels, header } = st.lay;
  const n = codes.length;
  const since = st.since;
  const flags = c.flags;
  const uids = c.uids;
  const seqOffset = b.seqFrom - b.uidFrom;
  const head = st.uidOnly ? ' UIDFETCH (' : ' FETCH (';
  const out = st.out;
  let i = from;
  for (; i < c.count; i++) {
    if (since !== null && c.modSeq![i]! <= since) continue;
    if (sections.length > 0 && sections.some((s) => s[i] === null)) {
      st.gone = true;
      continue;
    }
    // Within a span, sequence numbers follow UIDs one for one (meta-batches.ts).
    const uid = uids === null ? b.uidFrom + i : uids[i]!;
    const flagText = flags === undefined ? '' : flags[i]!;
    // A keyword another session set since the last report is announced before the FETCH that shows it.
    if (flagText !== '' && hasKeyword(flagText)) {
      for (const l of st.announceKeywords(parseFlagText(flagText))) out.bytes(Buffer.from('* ' + l + '\r\n'));
    }
    out.latin1('* ');
    out.uint(st.uidOnly ? uid : uid + seqOffset);
    out.latin1(head);
    for (let k = 0; k < n; k++) {
      out.latin1(labels[k]!);
      switch (codes[k]) {
        case UID:
          out.uint(uid);
          break;
        case FLAGS:
          // RFC 3501 §2.3.2: \Recent for an IMAP4rev1 session, when this session saw the message arrive.
          if (st.recent !== null && st.recent(uid)) out.latin1(flagText === '' ? '\\Recent' : '\\Recent ');
          if (flagText !== '') {
            let bytes = st.flagBytes.get(flagText);
            if (bytes === undefined) st.flagBytes.set(flagText, (bytes = Buffer.from(flagText)));
            out.bytes(bytes);
          }
          out.latin1(')');
          break;
        case INTERNALDATE:
          out.latin1(formatDateTime(new Date(c.internalDate![i]!)));
          break;
        case SIZE:
          out.uint(c.size![i]!);
          break;
        case MODSEQ:
          out.uint(c.modSeq![i]!);
          out.latin1(')');
          break;
        // RFC 8474 §5.1, §5.2: the ids JMAP gives the same email and thread (core/object-ids.ts).
        case EMAILID:
          out.latin1(formatObjectId('email', c.emailId![i]!) + ')');
          break;
        case THREADID:
          out.latin1(formatObjectId('thread', c.threadId![i]!) + ')');
          break;
        // RFC 8514 §4.2: every message here has a save date, so it is never NIL.
        case SAVEDATE:
          out.latin1(formatDateTime(new Date(c.saveDate![i]!)));
          break;
        default:
          // A header section: its literal as latin1 text, a char per byte.
          out.latin1(sections[header[k]!]![i]!);
      }
    }
    out.latin1(')\r\n');
    if (out.length >= OUT_CHUNK) return i + 1;
  }
  return i;
}

/** Whether a stored flag text (space-separated) has a flag not starting with a backslash. */
function hasKeyword(text: string): boolean {
  if (text.charCodeAt(0) !== 0x5c) return true;
  for (let i = text.indexOf(' '); i >= 0; i = text.indexOf(' ', i + 1)) if (text.charCodeAt(i + 1) !== 0x5c) return true;
  return false;
}
