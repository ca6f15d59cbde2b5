/**
 * The top-level header sections a message list asks for (FETCH BODY.PEEK[HEADER.FIELDS (FROM TO ...)]),
 * read from the message's header only and kept in the account's cache of header sections, so a client's
 * next sync of the same messages reads neither the store nor the header (RFC 9051 §6.4.5).
 */
import { findHeaderEnd } from '../../../message/header-fields.ts';
import type { ImapAccount, ImapSectionBlock } from '../backend.ts';
import { filterHeader, formatSection, type Section } from '../fetch-section.ts';

const HEADER_PROBE = 16 * 1024;

/** The message header with its blank line (the whole message when it has no body), read in growing prefixes. */
export async function readHeader(account: ImapAccount, mailboxId: number, uid: number, size: number): Promise<Buffer | null> {
  let end = Math.min(size, HEADER_PROBE);
  for (;;) {
    const bytes = await account.readMessage(mailboxId, uid, { start: 0, end });
    if (bytes === null) return null;
    const { headerEnd, fieldsEnd } = findHeaderEnd(bytes, 0, bytes.length);
    if (fieldsEnd < bytes.length || bytes.length < end || end >= size) return bytes.subarray(0, headerEnd);
    end = Math.min(size, end * 4);
  }
}

/** A header section item the cache can answer: BODY.PEEK[HEADER.FIELDS (...)] or [HEADER.FIELDS.NOT (...)] of the message itself. */
export interface HeaderSectionItem {
  section: Section;
  /** `BODY[HEADER.FIELDS (FROM TO)]`, as the response labels it. */
  label: string;
  /** The cache key's suffix: the section with its field names upper-cased. */
  key: string;
}

export function headerSectionItem(section: Section): HeaderSectionItem | null {
  if (section.path.length > 0 || (section.spec !== 'HEADER.FIELDS' && section.spec !== 'HEADER.FIELDS.NOT')) return null;
  const text = formatSection(section);
  return { section, label: `BODY[${text}]`, key: text.toUpperCase() };
}

/** UIDs per cache entry: a FETCH 1:* of 21,000 messages looks up some 80 blocks, not 21,000 keys. */
export const SECTION_BLOCK = 256;

/** A literal's string object besides its chars (latin1 text: one byte per char in V8). */
const LITERAL_OVERHEAD = 48;

/** UIDs whose heads one store call reads: bounds that read's memory (HEADER_PROBE bytes a message at most). */
const HEAD_BATCH = 256;

/**
 * Each message's section as an IMAP literal (`{n}\r\n` and the section as latin1 text, one char per byte),
 * from the cache or read and cached; null for a message that is gone. `sizes[i]` bounds the read of `uids[i]`.
 * Messages missing from the cache are read together, HEAD_BATCH UIDs a store call, when the backend can.
 */
export async function loadHeaderSections(options: {
  account: ImapAccount;
  mailboxId: number;
  uidValidity: number;
  item: HeaderSectionItem;
  uids: ArrayLike<number>;
  sizes: ArrayLike<number>;
}): Promise<(string | null)[]> {
  const { account, mailboxId, item, uids, sizes } = options;
  const cache = account.headerSections;
  const out: (string | null)[] = new Array(uids.length);
  // A message's bytes never change under its UID: (mailbox, UIDVALIDITY, UID) names them for good.
  const keyOf = (no: number): string => `${mailboxId}/${options.uidValidity}/${no}\n${item.key}`;
  const blocks = new Map<number, ImapSectionBlock>();
  const grown = new Set<number>();
  let lastNo = -1;
  let last: ImapSectionBlock | undefined;
  const blockOf = (uid: number): ImapSectionBlock | undefined => {
    const no = Math.floor(uid / SECTION_BLOCK);
    if (no === lastNo || cache === undefined) return last;
    let block = blocks.get(no);
    if (block === undefined) {
      block = cache.get(keyOf(no)) ?? { literals: new Array<string | undefined>(SECTION_BLOCK), bytes: 0 };
      blocks.set(no, block);
    }
    lastNo = no;
    last = block;
    return block;
  };
  const misses: number[] = [];
  for (let i = 0; i < uids.length; i++) {
    const literal = blockOf(uids[i]!)?.literals[uids[i]! % SECTION_BLOCK];
    if (literal === undefined) misses.push(i);
    else out[i] = literal;
  }
  const keep = (i: number, header: Buffer | null): void => {
    if (header === null) {
      out[i] = null;
      return;
    }
    const text = filterHeader(header, item.section.fields, { exclude: item.section.spec === 'HEADER.FIELDS.NOT' }).toString('latin1');
    const literal = '{' + text.length + '}\r\n' + text;
    out[i] = literal;
    const uid = uids[i]!;
    const block = blockOf(uid);
    if (block !== undefined) {
      block.literals[uid % SECTION_BLOCK] = literal;
      block.bytes += literal.length + LITERAL_OVERHEAD;
      grown.add(Math.floor(uid / SECTION_BLOCK));
    }
  };
  for (let g = 0; g < misses.length; ) {
    const from = uids[misses[g]!]!;
    let h = g + 1;
    while (h < misses.length && uids[misses[h]!]! - from < HEAD_BATCH) h++;
    if (account.readMessageHeads === undefined) {
      for (; g < h; g++) keep(misses[g]!, await readHeader(account, mailboxId, uids[misses[g]!]!, sizes[misses[g]!]!));
      continue;
    }
    const read = await account.readMessageHeads(mailboxId, { uidFrom: from, uidTo: uids[misses[h - 1]!]! }, HEADER_PROBE);
    // Both ascending by UID: one walk pairs them; a UID not read is gone (expunged meanwhile).
    for (let j = 0; g < h; g++) {
      const i = misses[g]!;
      const uid = uids[i]!;
      while (j < read.uids.length && read.uids[j]! < uid) j++;
      const head = read.uids[j] === uid ? read.heads[j]! : null;
      if (head === null) {
        keep(i, null);
        continue;
      }
      const { headerEnd, fieldsEnd } = findHeaderEnd(head, 0, head.length);
      // The header ends within the head, or the head is the whole message; else (a longer header, a body
      // the store keeps in parts) the message is read by itself.
      if (fieldsEnd < head.length || head.length >= sizes[i]!) keep(i, head.subarray(0, headerEnd));
      else keep(i, await readHeader(account, mailboxId, uid, sizes[i]!));
    }
  }
  for (const no of grown) cache!.set(keyOf(no), blocks.get(no)!);
  return out;
}
