/**
 * Blob ids of stored mail (RFC 8620 §6, RFC 8621 §4.1.1 blobId): `G<email id>` is a whole message and
 * `G<email id>P<part id>` one decoded body part, valid only in the owning account; other blob ids are
 * uploads, which the backend resolves.
 */
import type { JmapMailBackend } from './backend.ts';
import { EmailView } from './email-view.ts';

export function emailBlobId(emailId: number): string {
  return `G${emailId}`;
}

/** A blob of the account as a stream when the backend streams it (uploads), else its bytes; null when not one. */
export async function resolveBlobBody(backend: JmapMailBackend, accountId: string, blobId: string): Promise<Buffer | AsyncIterable<Buffer> | null> {
  if (!blobId.startsWith('G') && backend.blobStream) return backend.blobStream(accountId, blobId);
  return resolveBlob(backend, accountId, blobId);
}

/** The bytes of a blob of the account, or null when it is not one of its blobs. */
export async function resolveBlob(backend: JmapMailBackend, accountId: string, blobId: string): Promise<Buffer | null> {
  const m = /^G([1-9][0-9]{0,15})(?:P([0-9-]{1,64}))?$/.exec(blobId);
  if (!m) return backend.blobBytes(accountId, blobId);
  const bytes = await backend.emailBytes(accountId, Number(m[1]));
  if (bytes === null || m[2] === undefined) return bytes;
  return new EmailView(bytes, `G${m[1]}`).partBytes(m[2].replace(/-/g, '.'));
}

/**
 * The first bytes of a streamed blob (up to `max`, or all of it when shorter) and the same stream again
 * from its start, so a check of the head does not make anyone hold the whole blob. `close` ends the read
 * when the blob is not used after all. A blob already in memory is its own head, complete.
 */
export async function peekStream(body: Buffer | AsyncIterable<Buffer>, max: number): Promise<{ head: Buffer; complete: boolean; body: Buffer | AsyncIterable<Buffer>; close(): Promise<void> }> {
  if (Buffer.isBuffer(body)) return { head: body, complete: true, body, close: async () => {} };
  const iterator = body[Symbol.asyncIterator]();
  const taken: Buffer[] = [];
  let size = 0;
  let complete = false;
  while (size < max) {
    const next = await iterator.next();
    if (next.done) {
      complete = true;
      break;
    }
    taken.push(next.value);
    size += next.value.length;
  }
  async function* replay(): AsyncGenerator<Buffer> {
    yield* taken;
    if (complete) return;
    for (let next = await iterator.next(); !next.done; next = await iterator.next()) yield next.value;
  }
  const head = Buffer.concat(taken);
  // Complete only when the stream ended below max, so the head is all of it.
  return { head: head.subarray(0, max), complete, body: replay(), close: async () => void (await iterator.return?.()) };
}
