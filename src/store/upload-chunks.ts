/**
 * Cuts an upload body, arriving in pieces of whatever size the network gives, into the chunks both stores
 * write one row each: at most one chunk is held at a time, whatever the size of the upload.
 */

export const UPLOAD_CHUNK_BYTES = 512 * 1024;

/** The bytes of `body` in pieces of exactly `chunkBytes` (the last one shorter, none for an empty body). */
export async function* uploadChunks(body: AsyncIterable<Buffer> | Buffer, chunkBytes = UPLOAD_CHUNK_BYTES): AsyncGenerator<Buffer> {
  if (Buffer.isBuffer(body)) {
    for (let at = 0; at < body.length; at += chunkBytes) yield body.subarray(at, Math.min(body.length, at + chunkBytes));
    return;
  }
  // A new buffer per chunk: the store may still hold the one it was given while the next fills.
  let chunk = Buffer.allocUnsafe(chunkBytes);
  let filled = 0;
  for await (const part of body) {
    for (let at = 0; at < part.length; ) {
      const n = part.copy(chunk, filled, at, Math.min(part.length, at + chunkBytes - filled));
      filled += n;
      at += n;
      if (filled === chunkBytes) {
        yield chunk;
        chunk = Buffer.allocUnsafe(chunkBytes);
        filled = 0;
      }
    }
  }
  if (filled > 0) yield chunk.subarray(0, filled);
}
