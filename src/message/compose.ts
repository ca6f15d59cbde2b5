/**
 * Writes RFC 5322/MIME messages from structured parts (JMAP Email/set create): header values encoded as
 * RFC 2047 words when not ASCII, text bodies quoted-printable, other leaves base64, CRLF line ends.
 */
import { randomBytes } from 'node:crypto';

export interface ComposeAddress {
  name: string | null;
  email: string;
}

export type ComposePart =
  | { kind: 'multipart'; subtype: string; headers: [string, string][]; parts: ComposePart[] }
  | { kind: 'leaf'; type: string; charset: string | null; headers: [string, string][]; body: Buffer; name: string | null; disposition: string | null; cid: string | null };

/** RFC 2047 §4.1 B encoding of a header value when it is not printable ASCII; folded per word. */
export function encodeHeaderText(value: string): string {
  if (/^[\x20-\x7e]*$/.test(value)) return value;
  const words: string[] = [];
  let chunk = '';
  // Each encoded word at most 75 octets (RFC 2047 §2): about 45 UTF-8 bytes of text; never split a character.
  for (const ch of value) {
    if (Buffer.byteLength(chunk + ch) > 45) {
      words.push(chunk);
      chunk = '';
    }
    chunk += ch;
  }
  if (chunk) words.push(chunk);
  return words.map((w) => `=?UTF-8?B?${Buffer.from(w).toString('base64')}?=`).join('\r\n ');
}

/** RFC 5322 §3.4 address list; display names quoted or encoded as needed. */
export function formatAddresses(list: readonly ComposeAddress[]): string {
  return list.map((a) => {
    if (a.name === null || a.name === '') return `<${a.email}>`;
    const name = /^[\x20-\x7e]*$/.test(a.name) ? (/^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~ ]*$/.test(a.name) ? a.name : `"${a.name.replace(/(["\\])/g, '\\$1')}"`) : encodeHeaderText(a.name);
    return `${name} <${a.email}>`;
  }).join(', ');
}

/** RFC 5322 §3.6.4: a new globally unique Message-ID (with brackets) under `domain`. */
export function newMessageId(domain: string): string {
  return `<${randomBytes(12).toString('hex')}@${domain}>`;
}

/** RFC 5322 §3.3 date-time in UTC. */
export function formatDate(date: Date): string {
  return date.toUTCString().replace(/GMT$/, '+0000');
}

/** RFC 2045 §6.7 quoted-printable with CRLF line ends and soft breaks at 76 characters. */
export function encodeQuotedPrintable(text: string): string {
  const lines = text.replace(/\r?\n/g, '\n').split('\n');
  return lines.map((line) => {
    const bytes = Buffer.from(line);
    let out = '';
    let width = 0;
    for (let i = 0; i < bytes.length; i++) {
      const b = bytes[i]!;
      const last = i === bytes.length - 1;
      const token = (b >= 33 && b <= 126 && b !== 61) || ((b === 32 || b === 9) && !last) ? String.fromCharCode(b) : `=${b.toString(16).toUpperCase().padStart(2, '0')}`;
      if (width + token.length > 75) {
        out += '=\r\n';
        width = 0;
      }
      out += token;
      width += token.length;
    }
    return out;
  }).join('\r\n');
}

function base64Lines(body: Buffer): string {
  return (body.toString('base64').match(/.{1,76}/g) ?? []).join('\r\n');
}

function param(name: string, value: string): string {
  return /^[\x20-\x7e]*$/.test(value) ? `; ${name}="${value.replace(/(["\\])/g, '\\$1')}"` : `; ${name}*=UTF-8''${encodeURIComponent(value)}`;
}

function writePart(part: ComposePart): string {
  const extra = part.headers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
  if (part.kind === 'multipart') {
    const boundary = `=_${randomBytes(12).toString('hex')}`;
    const body = part.parts.map((p) => `--${boundary}\r\n${writePart(p)}\r\n`).join('') + `--${boundary}--\r\n`;
    return `Content-Type: multipart/${part.subtype}; boundary="${boundary}"\r\n${extra}\r\n${body}`;
  }
  const isText = part.type.startsWith('text/');
  let header = `Content-Type: ${part.type}${isText ? `; charset=${part.charset ?? 'utf-8'}` : ''}${part.name !== null && part.disposition === null ? param('name', part.name) : ''}\r\n`;
  if (part.disposition !== null) header += `Content-Disposition: ${part.disposition}${part.name !== null ? param('filename', part.name) : ''}\r\n`;
  if (part.cid !== null) header += `Content-ID: <${part.cid}>\r\n`;
  const encoded = isText ? encodeQuotedPrintable(part.body.toString('utf8')) : base64Lines(part.body);
  header += `Content-Transfer-Encoding: ${isText ? 'quoted-printable' : 'base64'}\r\n`;
  return `${header}${extra}\r\n${encoded}`;
}

/** The whole message: top-level header fields (already formatted values), MIME-Version, then the body part. */
export function composeMessage(headers: [string, string][], body: ComposePart): Buffer {
  const top = headers.map(([n, v]) => `${n}: ${v}\r\n`).join('');
  return Buffer.from(`${top}MIME-Version: 1.0\r\n${writePart(body)}\r\n`);
}
