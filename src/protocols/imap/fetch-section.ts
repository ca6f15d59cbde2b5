/**
 * FETCH body sections (RFC 9051 §6.4.5): the exact bytes of BODY[<part>.<HEADER|HEADER.FIELDS|
 * HEADER.FIELDS.NOT|TEXT|MIME>] from the stored message, and decoded BINARY[] (RFC 3516).
 */
import { findPart, isMultipart, type MimePart } from '../../message/mime-tree.ts';
import { decodeTransfer } from '../../message/transfer-encoding.ts';
import { formatAString } from './response.ts';

export type SectionSpec = '' | 'HEADER' | 'HEADER.FIELDS' | 'HEADER.FIELDS.NOT' | 'TEXT' | 'MIME';

export interface Section {
  path: number[];
  spec: SectionSpec;
  /** Field names for HEADER.FIELDS[.NOT], as the client wrote them. */
  fields: string[];
}

/** The section text as it appears in the response, e.g. `1.HEADER.FIELDS (SUBJECT FROM)`. */
export function formatSection(s: Section): string {
  let out = s.path.join('.');
  if (s.spec !== '') out += (out === '' ? '' : '.') + s.spec;
  if (s.fields.length > 0) out += ` (${s.fields.map((f) => formatAString(f)).join(' ')})`;
  return out;
}

/** The bytes of a section; null when the part does not exist. */
export function extractSection(message: Buffer, root: MimePart, section: Section): Buffer | null {
  const part = findPart(root, section.path);
  if (part === null) return null;
  if (section.spec === '') {
    // RFC 9051 §6.4.5: BODY[] is the whole message; BODY[n] is the part's body without its header.
    return section.path.length === 0 ? message : message.subarray(part.bodyStart, part.bodyEnd);
  }
  if (section.spec === 'MIME') {
    if (section.path.length === 0) return null;
    return message.subarray(part.headerStart, part.headerEnd);
  }
  // HEADER/TEXT of a part apply to the message encapsulated by a message/rfc822 part.
  let msg: MimePart | null = part;
  if (section.path.length > 0) msg = part.message ?? null;
  if (msg === null) return null;
  if (section.spec === 'TEXT') return message.subarray(msg.bodyStart, msg.bodyEnd);
  const header = message.subarray(msg.headerStart, msg.headerEnd);
  if (section.spec === 'HEADER') return header;
  return filterHeader(header, section.fields, { exclude: section.spec === 'HEADER.FIELDS.NOT' });
}

/** Header fields kept byte for byte (folding included), followed by the blank line. */
export function filterHeader(header: Buffer, names: string[], options: { exclude: boolean }): Buffer {
  const wanted = new Set(names.map((n) => n.toLowerCase()));
  const kept: Buffer[] = [];
  let start = 0;
  while (start < header.length) {
    // A field runs to the next line that does not start with WSP.
    let end = start;
    for (;;) {
      const lf = header.indexOf(0x0a, end);
      end = lf < 0 ? header.length : lf + 1;
      const next = header[end];
      if (end >= header.length || (next !== 0x20 && next !== 0x09)) break;
    }
    const field = header.subarray(start, end);
    start = end;
    if (field.length === 0 || field[0] === 0x0d || field[0] === 0x0a) continue; // the blank line
    const colon = field.indexOf(0x3a);
    if (colon <= 0) continue;
    const name = field.subarray(0, colon).toString('latin1').trim().toLowerCase();
    if (wanted.has(name) !== options.exclude) kept.push(field);
  }
  kept.push(Buffer.from('\r\n'));
  return Buffer.concat(kept);
}

/**
 * RFC 3516 §4.2: BINARY[part] is the part's body with its transfer encoding removed. Throws
 * UnknownTransferEncodingError for encodings we cannot decode ([UNKNOWN-CTE]).
 */
export function extractBinary(message: Buffer, root: MimePart, path: number[]): Buffer | null {
  const part = findPart(root, path);
  if (part === null) return null;
  if (path.length === 0) return message;
  if (isMultipart(part) || part.message !== undefined) return message.subarray(part.bodyStart, part.bodyEnd);
  return decodeTransfer(message.subarray(part.bodyStart, part.bodyEnd), part.encoding);
}

/** RFC 9051 §6.4.5 partial fetch `<offset.length>`. */
export function applyPartial(bytes: Buffer, partial: { offset: number; length: number | null } | undefined): Buffer {
  if (partial === undefined) return bytes;
  const start = Math.min(partial.offset, bytes.length);
  const end = partial.length === null ? bytes.length : Math.min(bytes.length, start + partial.length);
  return bytes.subarray(start, end);
}
