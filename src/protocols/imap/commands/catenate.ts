/**
 * CATENATE (RFC 4469): an APPEND message built from TEXT literals and IMAP URLs (RFC 5092) naming
 * messages or parts of them in this account. A URL that names nothing answers NO [BADURL].
 */
import { parseMimeTree, type MimeTreeOptions } from '../../../message/mime-tree.ts';
import type { ImapAccount } from '../backend.ts';
import { applyPartial, extractSection, type Section, type SectionSpec } from '../fetch-section.ts';
import { decodeMailboxName } from '../mailbox-name.ts';
import { tokenText } from '../parser/args.ts';
import { ImapSyntaxError, type Token } from '../parser/tokenizer.ts';
import { formatString } from '../response.ts';

export type CatenatePart = { kind: 'text'; bytes: Buffer } | { kind: 'url'; url: string };

/** RFC 4469 §5: `"(" cat-part *(SP cat-part) ")"`, cat-part = `TEXT literal` / `URL url`. */
export function parseCatenate(items: Token[]): CatenatePart[] {
  const parts: CatenatePart[] = [];
  for (let i = 0; i < items.length; i += 2) {
    const kind = tokenText(items[i]!, 'catenate part').toUpperCase();
    const value = items[i + 1];
    if (value === undefined) throw new ImapSyntaxError('Missing catenate part value');
    if (kind === 'TEXT') {
      // RFC 4469 §5: a TEXT part is a literal.
      if (value.type !== 'string' || value.bytes === undefined) throw new ImapSyntaxError('TEXT needs a literal');
      parts.push({ kind: 'text', bytes: value.bytes });
    } else if (kind === 'URL') {
      parts.push({ kind: 'url', url: tokenText(value, 'URL') });
    } else throw new ImapSyntaxError(`Unknown catenate part ${kind}`);
  }
  if (parts.length === 0) throw new ImapSyntaxError('Empty CATENATE');
  return parts;
}

/** A refused URL: the tagged NO carries [BADURL "url"] (RFC 4469 §6). */
export class BadUrlError extends Error {
  readonly code: string;
  constructor(url: string, why: string) {
    super(why);
    this.code = `BADURL ${formatString(url)}`;
  }
}

interface ImapUrl {
  mailbox: string;
  uidValidity: number | null;
  uid: number;
  section: Section;
  partial: { offset: number; length: number | null } | undefined;
}

function percentDecode(s: string): string | null {
  try {
    return decodeURIComponent(s);
  } catch {
    return null;
  }
}

/**
 * RFC 5092 §6 `imessagepart`: `/mailbox[;UIDVALIDITY=n]/;UID=n[/;SECTION=s][/;PARTIAL=o[.l]]`, relative
 * to this server or as `imap://authority/...` (the message is read from the logged-in account only).
 */
function parseImapUrl(url: string): ImapUrl | null {
  const path = /^imap:\/\/[^/]*(\/.*)$/i.exec(url)?.[1] ?? url;
  const m = /^\/([^;/]+(?:\/[^;/]+)*?)(?:;UIDVALIDITY=([1-9]\d*))?\/;UID=([1-9]\d*)(?:\/;SECTION=([^/]*))?(?:\/;PARTIAL=(\d+)(?:\.([1-9]\d*))?)?$/i.exec(path);
  if (m === null) return null;
  const rawName = percentDecode(m[1]!);
  if (rawName === null) return null;
  // Names in URLs are UTF-8 (RFC 5092 §3.2); a modified UTF-7 spelling is accepted too.
  const mailbox = /&[A-Za-z0-9+,]*-/.test(rawName) ? (decodeMailboxName(rawName, { utf8: false }) ?? rawName) : (decodeMailboxName(rawName, { utf8: true }) ?? rawName);
  const sectionText = m[4] === undefined ? '' : percentDecode(m[4]);
  if (sectionText === null) return null;
  const section = parseUrlSection(sectionText);
  if (section === null) return null;
  return {
    mailbox,
    uidValidity: m[2] === undefined ? null : Number(m[2]),
    uid: Number(m[3]),
    section,
    partial: m[5] === undefined ? undefined : { offset: Number(m[5]), length: m[6] === undefined ? null : Number(m[6]) },
  };
}

const SPECS = new Set<SectionSpec>(['HEADER', 'HEADER.FIELDS', 'HEADER.FIELDS.NOT', 'TEXT', 'MIME']);

/** A FETCH section (RFC 9051 §6.4.5) as a URL carries it: `1.2.MIME`, `HEADER.FIELDS (From To)`. */
function parseUrlSection(text: string): Section | null {
  const m = /^((?:[1-9]\d*\.)*[1-9]\d*)?\.?([A-Za-z.]*)(?: \(([^)]*)\))?$/.exec(text.trim());
  if (m === null) return null;
  const path = m[1] === undefined ? [] : m[1].split('.').map(Number);
  const spec = m[2]!.toUpperCase();
  if (spec !== '' && !SPECS.has(spec as SectionSpec)) return null;
  if (spec === 'MIME' && path.length === 0) return null;
  const fields = m[3] === undefined ? [] : m[3].split(/\s+/).filter((f) => f !== '');
  if ((spec === 'HEADER.FIELDS' || spec === 'HEADER.FIELDS.NOT') !== (fields.length > 0)) return null;
  return { path, spec: spec as SectionSpec, fields };
}

/** The bytes a URL names in `account`; throws BadUrlError when it names nothing. */
export async function resolveUrl(account: ImapAccount, url: string, mime: MimeTreeOptions): Promise<Buffer> {
  const parsed = parseImapUrl(url);
  if (parsed === null) throw new BadUrlError(url, 'Invalid IMAP URL');
  const status = await account.status(parsed.mailbox, { counts: false });
  if (status === null) throw new BadUrlError(url, 'No such mailbox');
  // RFC 5092 §6: a UIDVALIDITY that no longer matches names nothing.
  if (parsed.uidValidity !== null && parsed.uidValidity !== status.uidValidity) throw new BadUrlError(url, 'UIDVALIDITY has changed');
  const message = await account.readMessage(status.id, parsed.uid);
  if (message === null) throw new BadUrlError(url, 'No such message');
  const bytes = extractSection(message, parseMimeTree(message, mime), parsed.section);
  if (bytes === null) throw new BadUrlError(url, 'No such section');
  return applyPartial(bytes, parsed.partial);
}
