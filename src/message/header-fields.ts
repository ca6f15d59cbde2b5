// Header block scanning for MIME parts: where the header ends (the empty line) and the list of
// unfolded fields. Byte offsets are absolute; both LF and CRLF line ends are accepted.
import { decodeUtf8OrFallback } from './charset.ts';

export interface HeaderField {
  name: string;
  value: string; // unfolded, leading whitespace after the colon removed; raw (no RFC 2047 decoding)
}

const LF = 0x0a;
const CR = 0x0d;

/**
 * Offset just after the empty line that ends the header starting at `start`, or `end` when the
 * part has no empty line (then the whole part is header and the body is empty).
 * RFC 5322 §2.1: the header is separated from the body by an empty line.
 */
export function findHeaderEnd(buf: Buffer, start: number, end: number): { headerEnd: number; fieldsEnd: number } {
  let lineStart = start;
  while (lineStart < end) {
    if (buf[lineStart] === LF) return { headerEnd: lineStart + 1, fieldsEnd: lineStart };
    if (buf[lineStart] === CR && lineStart + 1 < end && buf[lineStart + 1] === LF) {
      return { headerEnd: lineStart + 2, fieldsEnd: lineStart };
    }
    const nl = buf.indexOf(LF, lineStart);
    if (nl < 0 || nl >= end) break;
    lineStart = nl + 1;
  }
  return { headerEnd: end, fieldsEnd: end };
}

/**
 * Splits header bytes into fields. Header bytes are read as UTF-8 when valid (RFC 6532) and as
 * ISO-8859-1 otherwise, so no byte is lost. Lines without a colon are skipped (Dovecot does the
 * same); at most `maxFields` fields are kept.
 */
export function parseHeaderFields(buf: Buffer, start: number, end: number, maxFields: number): HeaderField[] {
  const text = decodeUtf8OrFallback(buf.subarray(start, end));
  const fields: HeaderField[] = [];
  let current: string[] | null = null;
  let pos = 0;
  const push = (): void => {
    if (current === null) return;
    const line = current.join('');
    current = null;
    const colon = line.indexOf(':');
    if (colon <= 0) return;
    const name = line.slice(0, colon).trimEnd();
    // RFC 5322 §2.2: a field name is printable US-ASCII without colon or space.
    if (name.length === 0 || /[\s]/.test(name)) return;
    if (fields.length < maxFields) fields.push({ name, value: line.slice(colon + 1).trim() });
  };
  while (pos < text.length) {
    let nl = text.indexOf('\n', pos);
    if (nl < 0) nl = text.length;
    let lineEnd = nl;
    if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === CR) lineEnd--;
    const line = text.slice(pos, lineEnd);
    const first = text.charCodeAt(pos);
    if ((first === 0x20 || first === 0x09) && current !== null) {
      // RFC 5322 §2.2.3: unfolding removes the CRLF before folding whitespace.
      (current as string[]).push(line);
    } else {
      push();
      current = [line];
    }
    pos = nl + 1;
  }
  push();
  return fields;
}

/** First field with this name (case-insensitive), or null. */
export function headerValue(fields: readonly HeaderField[], name: string): string | null {
  const lower = name.toLowerCase();
  for (const f of fields) if (f.name.toLowerCase() === lower) return f.value;
  return null;
}

export interface RawHeaderField {
  name: string;
  /** RFC 8621 §4.1.2.1 Raw form: every octet after the colon up to the field's final line end, folds kept. */
  raw: string;
}

/** Splits header bytes into fields without unfolding (JMAP header:Name:asRaw); decoding as parseHeaderFields. */
export function parseRawHeaderFields(buf: Buffer, start: number, end: number, maxFields: number): RawHeaderField[] {
  const text = decodeUtf8OrFallback(buf.subarray(start, end));
  const fields: RawHeaderField[] = [];
  const lines = text.split(/(?<=\n)/);
  let current: string | null = null;
  const push = (): void => {
    if (current === null) return;
    const field = current.replace(/\r?\n$/, '');
    current = null;
    const colon = field.indexOf(':');
    if (colon <= 0) return;
    const name = field.slice(0, colon).trimEnd();
    if (name.length === 0 || /\s/.test(name)) return;
    // RFC 8621 §4.1.2.1: "Any NUL octet MUST be dropped" from the Raw form (and so from every form built on it).
    if (fields.length < maxFields) fields.push({ name, raw: field.slice(colon + 1).replace(/\0/g, '') });
  };
  for (const line of lines) {
    const first = line.charCodeAt(0);
    if ((first === 0x20 || first === 0x09) && current !== null) current += line;
    else {
      push();
      current = line;
    }
  }
  push();
  return fields;
}
