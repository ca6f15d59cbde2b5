/**
 * A message as the checks see it: the header section in memory (bounded by the header limits) and the body
 * in memory or in a spool file, read as a stream. Large messages get every check without being held whole.
 */
import { createReadStream } from 'node:fs';
import { Readable } from 'node:stream';

/** The body bytes: held in memory, or the first `size` bytes of a spool file. */
export type BodyRef = { data: Buffer } | { path: string; size: number };

export interface MessageParts {
  /** The header fields and the empty line that ends them (CRLF CRLF); the whole message when it has no empty line. */
  header: Buffer;
  body: BodyRef;
}

const HEADER_END = Buffer.from('\r\n\r\n');

/** Splits a held message at its first empty line (RFC 5322 §2.1). */
export function splitParts(message: Buffer): MessageParts {
  if (message[0] === 0x0d && message[1] === 0x0a) return { header: message.subarray(0, 2), body: { data: message.subarray(2) } };
  const end = message.indexOf(HEADER_END);
  if (end < 0) return { header: message, body: { data: Buffer.alloc(0) } };
  return { header: message.subarray(0, end + 4), body: { data: message.subarray(end + 4) } };
}

/** The body in chunks of at most 64 KiB, from memory or the spool file. */
export async function* bodyChunks(body: BodyRef): AsyncGenerator<Buffer> {
  if ('data' in body) {
    for (let off = 0; off < body.data.length; off += 65536) yield body.data.subarray(off, off + 65536);
    return;
  }
  if (body.size === 0) return;
  for await (const chunk of createReadStream(body.path, { start: 0, end: body.size - 1, highWaterMark: 65536 })) yield chunk as Buffer;
}

/** Header then body as one byte stream (what mailauth reads). */
export function messageStream(parts: MessageParts): Readable {
  async function* all(): AsyncGenerator<Buffer> {
    yield parts.header;
    yield* bodyChunks(parts.body);
  }
  return Readable.from(all(), { objectMode: false });
}

/** The header and the first `maxBodyBytes` of the body, in memory (bounded whatever the message's size). */
export async function messageHead(parts: MessageParts, maxBodyBytes: number): Promise<Buffer> {
  const chunks: Buffer[] = [parts.header];
  let left = maxBodyBytes;
  for await (const c of bodyChunks(parts.body)) {
    if (left <= 0) break;
    chunks.push(c.length > left ? c.subarray(0, left) : c);
    left -= c.length;
  }
  return Buffer.concat(chunks);
}

/** The whole message in memory; only for bodies known to be small. */
export async function wholeMessage(parts: MessageParts): Promise<Buffer> {
  const chunks: Buffer[] = [parts.header];
  for await (const c of bodyChunks(parts.body)) chunks.push(c);
  return Buffer.concat(chunks);
}
