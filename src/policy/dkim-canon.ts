/**
 * DKIM canonicalisation (RFC 6376 §3.4): the "relaxed" header and body algorithms, and the header-field
 * selection of §5.4.2 (repeated fields are taken from the bottom up; absent ones contribute nothing).
 */
import { createHash } from 'node:crypto';

export interface HeaderField {
  /** Lower-case field name. */
  name: string;
  /** The whole field as received, unfolded lines joined with CRLF, without the final CRLF. */
  raw: string;
}

/** Normalises line endings to CRLF (a bare LF on the wire is sent as CRLF anyway). */
export function toCrlf(message: Buffer): Buffer {
  const text = message.toString('latin1').replace(/\r?\n/g, '\r\n');
  return Buffer.from(text, 'latin1');
}

/** Splits a CRLF message into its header fields and its body (the bytes after the empty line). */
export function splitMessage(message: Buffer): { fields: HeaderField[]; body: Buffer } {
  const text = message.toString('latin1');
  const end = text.indexOf('\r\n\r\n');
  let headerText: string;
  let body: Buffer;
  if (text.startsWith('\r\n')) {
    headerText = '';
    body = message.subarray(2);
  } else if (end === -1) {
    headerText = text.endsWith('\r\n') ? text.slice(0, -2) : text;
    body = Buffer.alloc(0);
  } else {
    headerText = text.slice(0, end);
    body = message.subarray(end + 4);
  }
  const fields: HeaderField[] = [];
  for (const line of headerText === '' ? [] : headerText.split('\r\n')) {
    if ((line.startsWith(' ') || line.startsWith('\t')) && fields.length > 0) {
      fields[fields.length - 1]!.raw += '\r\n' + line;
    } else {
      const colon = line.indexOf(':');
      const name = (colon === -1 ? line : line.slice(0, colon)).trim().toLowerCase();
      fields.push({ name, raw: line });
    }
  }
  return { fields, body };
}

/** RFC 6376 §3.4.2: lower-case name, unfold, runs of WSP to one SP, no WSP at end or around the colon. */
export function relaxedHeader(raw: string): string {
  const colon = raw.indexOf(':');
  const name = raw.slice(0, colon).trim().toLowerCase();
  const value = raw
    .slice(colon + 1)
    .replace(/\r\n/g, '')
    .replace(/[ \t]+/g, ' ')
    .trim();
  return `${name}:${value}`;
}

/** RFC 6376 §3.4.4: WSP runs to one SP, no WSP at line end, no trailing empty lines, CRLF-terminated if non-empty. */
export function relaxedBody(body: Buffer): Buffer {
  const lines = body.toString('latin1').split('\r\n');
  const out = lines.map((l) => l.replace(/[ \t]+/g, ' ').replace(/ $/, ''));
  while (out.length > 0 && out[out.length - 1] === '') out.pop();
  return out.length === 0 ? Buffer.alloc(0) : Buffer.from(out.join('\r\n') + '\r\n', 'latin1');
}

/**
 * The relaxed body canonicalisation of `relaxedBody`, fed in chunks (a spooled body is never held whole):
 * a line split between chunks is completed by the next one, and trailing empty lines are only written
 * once a non-empty line follows them (§3.4.4: empty lines at the end are ignored).
 */
export class RelaxedBodyHash {
  private readonly hash = createHash('sha256');
  private partial = '';
  private pendingEmpty = 0;

  update(chunk: Buffer): void {
    const lines = (this.partial + chunk.toString('latin1')).split('\r\n');
    this.partial = lines.pop()!;
    for (const line of lines) this.line(line);
  }

  private line(raw: string): void {
    const line = raw.replace(/[ \t]+/g, ' ').replace(/ $/, '');
    if (line === '') {
      this.pendingEmpty++;
      return;
    }
    if (this.pendingEmpty > 0) this.hash.update('\r\n'.repeat(this.pendingEmpty), 'latin1');
    this.pendingEmpty = 0;
    this.hash.update(line + '\r\n', 'latin1');
  }

  /** Base64 SHA-256 of the canonical body (the bh= value). */
  digest(): string {
    this.line(this.partial);
    this.partial = '';
    return this.hash.digest('base64');
  }
}

/**
 * RFC 6376 §5.4.2: for each name in `names` (which may repeat, and may list a name more times than it occurs:
 * "over-signing"), the next instance from the bottom; names with no instance left contribute nothing.
 */
export function selectSignedFields(fields: HeaderField[], names: string[]): HeaderField[] {
  const used = new Set<number>();
  const picked: HeaderField[] = [];
  for (const name of names) {
    for (let i = fields.length - 1; i >= 0; i--) {
      if (!used.has(i) && fields[i]!.name === name) {
        used.add(i);
        picked.push(fields[i]!);
        break;
      }
    }
  }
  return picked;
}
