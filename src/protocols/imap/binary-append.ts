/**
 * APPEND of a literal8 message (RFC 3516 §4.4): the message may hold NUL and raw binary, which no
 * BODY[] literal can carry. Such a message is held until its literal ends, and its parts that contain
 * NUL are stored base64-encoded: BODY[] then shows valid MIME and BINARY[] gives the original bytes back.
 */
import { parseMimeTree, type MimePart, type MimeTreeOptions } from '../../message/mime-tree.ts';
import type { ImapAppendSink } from './backend.ts';

const finishers = new WeakMap<ImapAppendSink, () => void>();

/**
 * Makes `sink` collect what it is written until finishBinary(): the sink object is kept (wrapped in
 * place), since MULTIAPPEND hands the backend's own sinks back to it by identity.
 */
export function holdBinary(sink: ImapAppendSink, mime: MimeTreeOptions): ImapAppendSink {
  const chunks: Buffer[] = [];
  let size = 0;
  const write = sink.write;
  const sizeDescriptor = Object.getOwnPropertyDescriptor(sink, 'size');
  sink.write = (chunk) => {
    chunks.push(Buffer.from(chunk));
    size += chunk.length;
  };
  Object.defineProperty(sink, 'size', { get: () => size, configurable: true, enumerable: true });
  finishers.set(sink, () => {
    finishers.delete(sink);
    sink.write = write;
    if (sizeDescriptor !== undefined) Object.defineProperty(sink, 'size', sizeDescriptor);
    else delete (sink as { size?: number }).size;
    if (size > 0) sink.write(encodeBinaryParts(Buffer.concat(chunks, size), mime));
  });
  return sink;
}

/** Writes a held literal8 message, converted, to its sink; nothing for a sink that was not held. */
export function finishBinary(sink: ImapAppendSink): void {
  finishers.get(sink)?.();
}

function leaves(part: MimePart, out: MimePart[]): MimePart[] {
  if (part.message !== undefined) leaves(part.message, out);
  else if (part.children.length > 0) for (const c of part.children) leaves(c, out);
  else out.push(part);
  return out;
}

/**
 * The message with every leaf part whose body holds a NUL re-encoded as base64 (RFC 2045 §6.8: lines of
 * at most 76 characters), its Content-Transfer-Encoding field replaced. Other bytes are kept as they are.
 */
export function encodeBinaryParts(message: Buffer, mime: MimeTreeOptions = {}): Buffer {
  const targets = leaves(parseMimeTree(message, mime), [])
    .filter((p) => p.headerEnd <= p.bodyStart && message.subarray(p.bodyStart, p.bodyEnd).includes(0))
    .sort((a, b) => a.headerStart - b.headerStart);
  if (targets.length === 0) return message;
  const out: Buffer[] = [];
  let at = 0;
  for (const p of targets) {
    if (p.headerStart < at) continue;
    out.push(message.subarray(at, p.headerStart));
    out.push(Buffer.from(base64Header(message.subarray(p.headerStart, p.headerEnd).toString('latin1')), 'latin1'));
    out.push(message.subarray(p.headerEnd, p.bodyStart));
    const encoded = message.subarray(p.bodyStart, p.bodyEnd).toString('base64').replace(/.{76}(?=.)/g, '$&\r\n');
    out.push(Buffer.from(encoded + (p.bodyEnd === message.length ? '\r\n' : '')));
    at = p.bodyEnd;
  }
  out.push(message.subarray(at));
  return Buffer.concat(out);
}

/** The header section with its Content-Transfer-Encoding field (folded lines included) set to base64. */
function base64Header(header: string): string {
  const lines = header.split(/(?<=\n)/);
  const kept: string[] = [];
  let skipping = false;
  for (const line of lines) {
    if (/^[ \t]/.test(line) && skipping) continue;
    skipping = /^content-transfer-encoding\s*:/i.test(line);
    if (!skipping) kept.push(line);
  }
  // The empty line that ends the header section stays last.
  const end = kept.length > 0 && /^\r?\n$/.test(kept[kept.length - 1]!) ? kept.pop()! : '';
  return kept.join('') + 'Content-Transfer-Encoding: base64\r\n' + (end === '' ? '\r\n' : end);
}
