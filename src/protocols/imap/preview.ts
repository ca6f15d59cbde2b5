/**
 * The PREVIEW fetch item (RFC 8970 §3.1): a short plain-text excerpt of a message for message lists,
 * from its first text/plain part (else text/html with the markup removed), whitespace collapsed.
 */
import { decodeCharset } from '../../message/charset.ts';
import { isMultipart, type MimePart } from '../../message/mime-tree.ts';
import { decodeTransfer, UnknownTransferEncodingError } from '../../message/transfer-encoding.ts';

/** RFC 8970 §3.1: a preview is at most 256 characters. */
const MAX_PREVIEW_CHARS = 256;
/** Raw bytes of the part read for a preview: enough for 256 characters after decoding and markup. */
const MAX_RAW_BYTES = 16 * 1024;

function firstText(part: MimePart, subtype: string): MimePart | null {
  if (isMultipart(part)) {
    for (const child of part.children) {
      // Attachments are not the message's text.
      if (child.disposition?.type === 'attachment') continue;
      const found = firstText(child, subtype);
      if (found !== null) return found;
    }
    return null;
  }
  return part.contentType.type === 'text' && part.contentType.subtype === subtype && part.disposition?.type !== 'attachment' ? part : null;
}

function decodedText(message: Buffer, part: MimePart): string {
  const raw = message.subarray(part.bodyStart, Math.min(part.bodyEnd, part.bodyStart + MAX_RAW_BYTES));
  let bytes: Buffer;
  try {
    bytes = decodeTransfer(raw, part.encoding);
  } catch (err) {
    if (!(err instanceof UnknownTransferEncodingError)) throw err;
    return '';
  }
  return decodeCharset(bytes, part.contentType.params['charset'] ?? 'us-ascii');
}

const ENTITIES: Record<string, string> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'", nbsp: ' ' };

function htmlToText(html: string): string {
  return html
    .replace(/<(script|style|head)\b[\s\S]*?<\/\1\s*>/gi, ' ')
    // Inline elements join the text around them; any other tag separates words.
    .replace(/<\/?(?:a|b|i|u|em|strong|span|font|small|big|sub|sup|code)\b[^>]*>/gi, '')
    .replace(/<[^>]*>/g, ' ')
    .replace(/&(#\d+|#x[0-9a-f]+|[a-z]+);/gi, (m, e: string) => {
      if (e[0] === '#') {
        const code = e[1] === 'x' || e[1] === 'X' ? parseInt(e.slice(2), 16) : Number(e.slice(1));
        return Number.isFinite(code) && code > 0 && code < 0x110000 ? String.fromCodePoint(code) : ' ';
      }
      return ENTITIES[e.toLowerCase()] ?? m;
    });
}

/** The preview text: "" when the message has no text part. */
export function messagePreview(message: Buffer, root: MimePart): string {
  const plain = firstText(root, 'plain');
  const html = plain === null ? firstText(root, 'html') : null;
  const part = plain ?? html;
  if (part === null) return '';
  let text = decodedText(message, part);
  if (html !== null) text = htmlToText(text);
  // RFC 8970 §3.1: no line breaks or control characters, whitespace normalised; quoted lines carry nothing new.
  text = text.split(/\r?\n/).filter((line) => !/^\s*>/.test(line)).join(' ');
  text = text.replace(/[\u0000-\u001f\u007f\s]+/g, ' ').trim();
  const chars = [...text];
  return chars.length <= MAX_PREVIEW_CHARS ? text : chars.slice(0, MAX_PREVIEW_CHARS).join('').trimEnd();
}
