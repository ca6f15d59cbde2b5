/**
 * Reads a TLS ClientHello off a socket before the handshake starts, without consuming it, to learn the server
 * name and the ALPN protocols offered: how the https listener tells an ACME TLS-ALPN-01 validation (RFC 8737)
 * from an ordinary client before it picks the certificate.
 */
import type { Socket } from 'node:net';

export interface ClientHelloInfo {
  servername: string | null;
  alpn: string[];
}

/** RFC 8446 §5.1: a record is at most 2^14 bytes (plus its 5-byte header). */
const MAX_RECORD = 16_384 + 5;

/**
 * Waits for the first TLS record, puts the bytes back on the socket (the TLS layer reads them) and parses it.
 * Null when it is not a ClientHello in one record, or nothing came in time.
 */
export function peekClientHello(socket: Socket, timeoutMs: number): Promise<ClientHelloInfo | null> {
  return new Promise((resolve) => {
    let buffered = Buffer.alloc(0);
    const finish = (info: ClientHelloInfo | null): void => {
      clearTimeout(timer);
      socket.removeListener('data', onData);
      socket.removeListener('close', onClose);
      socket.pause();
      if (buffered.length > 0) socket.unshift(buffered);
      resolve(info);
    };
    const onData = (chunk: Buffer): void => {
      buffered = Buffer.concat([buffered, chunk]);
      if (buffered.length < 5) return;
      const need = 5 + buffered.readUInt16BE(3);
      if (buffered[0] !== 0x16 || need > MAX_RECORD) return finish(null);
      if (buffered.length >= need) finish(parseClientHello(buffered.subarray(5, need)));
    };
    const onClose = (): void => finish(null);
    const timer = setTimeout(() => finish(null), timeoutMs);
    socket.on('data', onData);
    socket.once('close', onClose);
  });
}

/** RFC 8446 §4.1.2 ClientHello; extensions server_name (RFC 6066 §3) and ALPN (RFC 7301 §3.1). */
export function parseClientHello(handshake: Buffer): ClientHelloInfo | null {
  try {
    if (handshake[0] !== 1) return null;
    let pos = 4 + 2 + 32; // handshake header, legacy_version, random
    pos += 1 + handshake.readUInt8(pos); // legacy_session_id
    pos += 2 + handshake.readUInt16BE(pos); // cipher_suites
    pos += 1 + handshake.readUInt8(pos); // legacy_compression_methods
    if (pos + 2 > handshake.length) return { servername: null, alpn: [] };
    const end = Math.min(handshake.length, pos + 2 + handshake.readUInt16BE(pos));
    pos += 2;
    const info: ClientHelloInfo = { servername: null, alpn: [] };
    while (pos + 4 <= end) {
      const type = handshake.readUInt16BE(pos);
      const length = handshake.readUInt16BE(pos + 2);
      const data = handshake.subarray(pos + 4, pos + 4 + length);
      pos += 4 + length;
      if (type === 0 && data.length >= 5 && data[2] === 0) {
        info.servername = data.subarray(5, 5 + data.readUInt16BE(3)).toString('ascii').toLowerCase();
      } else if (type === 16 && data.length >= 2) {
        const listEnd = Math.min(data.length, 2 + data.readUInt16BE(0));
        for (let p = 2; p < listEnd; p += 1 + data[p]!) info.alpn.push(data.subarray(p + 1, p + 1 + data[p]!).toString('ascii'));
      }
    }
    return info;
  } catch {
    return null;
  }
}
