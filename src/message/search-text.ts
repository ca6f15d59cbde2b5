// Decoded UTF-8 text of a message for IMAP SEARCH (RFC 9051 §6.4.4 TEXT/BODY/HEADER): transfer
// encodings undone, charsets converted, RFC 2047 words decoded; bounded in size.
import { decodeCharset } from './charset.ts';
import { isMultipart, type MimePart } from './mime-tree.ts';
import { decodeHeaderValue } from './encoded-words.ts';
import { decodeTransfer, UnknownTransferEncodingError } from './transfer-encoding.ts';

export interface MessageTextOptions {
  /** Cap on the decoded body text, in UTF-16 code units (≈ bytes for mostly-ASCII text). */
  maxBytes?: number;
}

export interface MessageText {
  headers: string; // "Name: decoded value\n" per field of the top-level header
  body: string; // text/* parts and encapsulated messages (their headers too), joined by "\n"
}

export function formatDecodedHeaders(part: MimePart): string {
  return part.headers.map((f) => `${f.name}: ${decodeHeaderValue(f.value)}\n`).join('');
}

export function messageText(message: Buffer, root: MimePart, options: MessageTextOptions = {}): MessageText {
  const budget = { left: options.maxBytes ?? 10 * 1024 * 1024 };
  const chunks: string[] = [];
  const add = (text: string): void => {
    if (budget.left <= 0) return;
    const piece = text.length > budget.left ? text.slice(0, budget.left) : text;
    budget.left -= piece.length;
    chunks.push(piece);
  };
  collectBody(message, root, add, budget);
  return { headers: formatDecodedHeaders(root), body: chunks.join('\n') };
}

function collectBody(message: Buffer, part: MimePart, add: (text: string) => void, budget: { left: number }): void {
  if (budget.left <= 0) return;
  if (isMultipart(part)) {
    for (const child of part.children) collectBody(message, child, add, budget);
    return;
  }
  if (part.message !== undefined) {
    // An encapsulated message contributes its header and its text (RFC 9051 §6.4.4 BODY/TEXT
    // search the whole body of the outer message, which includes the inner header).
    add(formatDecodedHeaders(part.message));
    collectBody(message, part.message, add, budget);
    return;
  }
  if (part.contentType.type !== 'text') return;
  // Never decode more raw bytes than the budget can use: base64 shrinks, charsets expand ≤ 4x.
  const rawEnd = Math.min(part.bodyEnd, part.bodyStart + budget.left * 4 + 4);
  const raw = message.subarray(part.bodyStart, rawEnd);
  let decoded: Buffer;
  try {
    decoded = decodeTransfer(raw, part.encoding);
  } catch (err) {
    if (!(err instanceof UnknownTransferEncodingError)) throw err;
    decoded = raw; // search the raw text rather than nothing
  }
  add(decodeCharset(decoded, part.contentType.params['charset'] ?? 'us-ascii'));
}
