/**
 * A TCP socket seen as a plain Duplex, so that a TLSSocket over it reads through JavaScript instead of
 * taking over the socket's native handle: Node then sizes TLS's input buffer by the bytes that arrived
 * (about 1 KB for an idle IMAP connection) instead of libuv's 64 KB read size, which it keeps for the
 * connection's life (docs/performance.md, "Memory per idle connection").
 */
import { Duplex } from 'node:stream';
import type { Socket } from 'node:net';

export function socketAsStream(raw: Socket): Duplex {
  const stream = new Duplex({
    allowHalfOpen: true,
    read() {
      raw.resume();
    },
    write(chunk: Buffer, _encoding, callback) {
      // Called back once the socket took the bytes: TLS's own back-pressure follows the socket's.
      raw.write(chunk, callback);
    },
    writev(chunks, callback) {
      raw.cork();
      for (let i = 0; i < chunks.length - 1; i++) raw.write(chunks[i]!.chunk as Buffer);
      raw.write(chunks[chunks.length - 1]!.chunk as Buffer, callback);
      raw.uncork();
    },
    final(callback) {
      raw.end(callback);
    },
    destroy(err, callback) {
      raw.destroy(err ?? undefined);
      callback(err);
    },
  });
  raw.on('data', (chunk: Buffer) => {
    if (!stream.push(chunk)) raw.pause();
  });
  raw.on('end', () => stream.push(null));
  raw.on('error', (err) => stream.destroy(err));
  raw.on('close', () => stream.destroy());
  raw.pause();
  return stream;
}
