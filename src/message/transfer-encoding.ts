// Content-Transfer-Encoding decoding (RFC 2045 §6): base64 and quoted-printable, identity for
// 7bit/8bit/binary. Used by SEARCH text extraction and IMAP BINARY (RFC 3516).

/** RFC 3516 §4.3: the server answers NO [UNKNOWN-CTE] when it cannot decode the part. */
export class UnknownTransferEncodingError extends Error {
  readonly encoding: string;
  constructor(encoding: string) {
    super(`unknown Content-Transfer-Encoding: ${encoding}`);
    this.name = 'UnknownTransferEncodingError';
    this.encoding = encoding;
  }
}

/** Decodes a body by its transfer encoding; throws UnknownTransferEncodingError for anything else. */
export function decodeTransfer(body: Buffer, encoding: string): Buffer {
  const enc = encoding.trim().toLowerCase();
  switch (enc) {
    case '':
    case '7bit':
    case '8bit':
    case 'binary':
      return body;
    case 'base64':
      return decodeBase64(body);
    case 'quoted-printable':
      return decodeQuotedPrintable(body);
    default:
      throw new UnknownTransferEncodingError(enc);
  }
}

const B64 = (() => {
  const table = new Int16Array(256).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let i = 0; i < alphabet.length; i++) table[alphabet.charCodeAt(i)] = i;
  // RFC 4648 §5 base64url letters are accepted too: some broken senders use them.
  table['-'.charCodeAt(0)] = 62;
  table['_'.charCodeAt(0)] = 63;
  return table;
})();

/** RFC 2045 §6.8: characters outside the alphabet are ignored; decoding stops at padding. */
export function decodeBase64(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(Math.floor((input.length * 3) / 4) + 3);
  return out.subarray(0, decodeBase64Into(input, out, 0));
}

/**
 * The same, written into `out` from offset `n` (room for 3/4 of the input is needed); returns the new end.
 * The decoder of RFC 2047 encoded words (B encoding) shares it.
 */
export function decodeBase64Into(input: Uint8Array, out: Buffer, n: number): number {
  let acc = 0;
  let bits = 0;
  for (let i = 0; i < input.length; i++) {
    const c = input[i]!;
    if (c === 0x3d /* = */) {
      // Padding ends a quantum; the next quantum may follow (concatenated base64 bodies).
      acc = 0;
      bits = 0;
      continue;
    }
    const v = B64[c]!;
    if (v < 0) continue;
    acc = ((acc << 6) | v) & 0xffffff;
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out[n++] = (acc >> bits) & 0xff;
    }
  }
  return n;
}

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** RFC 2045 §6.7: =XX octets, soft line breaks ("=" at end of line), trailing whitespace dropped. */
export function decodeQuotedPrintable(input: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(input.length);
  let n = 0;
  let i = 0;
  const len = input.length;
  while (i < len) {
    const c = input[i]!;
    if (c === 0x3d /* = */) {
      const h = i + 1 < len ? hexValue(input[i + 1]!) : -1;
      const l = i + 2 < len ? hexValue(input[i + 2]!) : -1;
      if (h >= 0 && l >= 0) {
        out[n++] = (h << 4) | l;
        i += 3;
        continue;
      }
      // Soft line break: "=" then optional transport whitespace then CRLF or LF.
      let j = i + 1;
      while (j < len && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j < len && input[j] === 0x0d && j + 1 < len && input[j + 1] === 0x0a) { i = j + 2; continue; }
      if (j < len && input[j] === 0x0a) { i = j + 1; continue; }
      if (j >= len) { i = len; continue; }
      // RFC 2045 §6.7 note (2): a robust decoder keeps a malformed "=" as is.
      out[n++] = c;
      i++;
      continue;
    }
    if (c === 0x20 || c === 0x09) {
      // RFC 2045 §6.7 rule (3): whitespace at the end of an encoded line is padding and is dropped.
      let j = i;
      while (j < len && (input[j] === 0x20 || input[j] === 0x09)) j++;
      if (j >= len || input[j] === 0x0a || (input[j] === 0x0d && j + 1 < len && input[j + 1] === 0x0a)) {
        i = j;
        continue;
      }
      while (i < j) out[n++] = input[i++]!;
      continue;
    }
    out[n++] = c;
    i++;
  }
  return out.subarray(0, n);
}
