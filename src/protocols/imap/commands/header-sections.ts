/**
 * The top-level header sections a message list asks for (FETCH BODY.PEEK[HEADER.FIELDS (FROM TO ...)]),
 * read from the message's header only and kept in the account's cache of header sections, so a client's
 * next sync of the same messages reads neither the store nor the header (RFC 9051 §6.4.5).
 */
import { findHeaderEnd } from '../../../message/header-fields.ts';
import type { ImapAccount } from '../backend.ts';
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

/**
 * The section of each message as latin1 text (one char per byte, so its length is the literal's size), from
 * the cache or read and cached; null for a message that is gone. `sizes[i]` bounds the read of `uids[i]`.
 */
export async function loadHeaderSections(options: {
  account: ImapAccount;
  mailboxId: number;
  uidValidity: number;
  item: HeaderSectionItem;
  uids: ArrayLike<number>;
  sizes: ArrayLike<number>;
}): Promise<(string | null)[]> {
  const { account, mailboxId, item } = options;
  const cache = account.headerSections;
  const out: (string | null)[] = new Array(options.uids.length);
  const prefix = `${mailboxId}/${options.uidValidity}/`;
  const suffix = '\n' + item.key;
  for (let i = 0; i < options.uids.length; i++) {
    const uid = options.uids[i]!;
    // A message's bytes never change under its UID: (mailbox, UIDVALIDITY, UID) names them for good.
    const key = prefix + uid + suffix;
    let text = cache?.get(key);
    if (text === undefined) {
      const header = await readHeader(account, mailboxId, uid, options.sizes[i]!);
      if (header === null) {
        out[i] = null;
        continue;
      }
      text = filterHeader(header, item.section.fields, { exclude: item.section.spec === 'HEADER.FIELDS.NOT' }).toString('latin1');
      cache?.set(key, text);
    }
    out[i] = text;
  }
  return out;
}
