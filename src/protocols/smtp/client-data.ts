/**
 * The DATA payload on the wire: line endings normalised to CRLF (RFC 5321 §2.3.8: no bare CR or LF
 * reaches the peer), dot-stuffing (RFC 5321 §4.5.2) and the CRLF.CRLF terminator; streaming, chunk by chunk.
 * Also the small analyses the client needs before MAIL FROM (8bit content, xtext for DSN parameters).
 */

export class DataEncoder {
  /** Last byte written: CR pending (not yet emitted), or whether we are at the start of a line. */
  #pendingCr = false;
  #atLineStart = true;
  #empty = true;

  encode(chunk: Buffer): Buffer {
    const out = Buffer.allocUnsafe(chunk.length * 2 + 2);
    let o = 0;
    for (let i = 0; i < chunk.length; i++) {
      const b = chunk[i]!;
      this.#empty = false;
      if (this.#pendingCr) {
        this.#pendingCr = false;
        // A CR followed by LF is a line end; a bare CR becomes CRLF too.
        out[o++] = 0x0d;
        out[o++] = 0x0a;
        this.#atLineStart = true;
        if (b === 0x0a) continue;
      }
      if (b === 0x0d) {
        this.#pendingCr = true;
        continue;
      }
      if (b === 0x0a) {
        // RFC 5321 §2.3.8: a bare LF is sent as CRLF.
        out[o++] = 0x0d;
        out[o++] = 0x0a;
        this.#atLineStart = true;
        continue;
      }
      // RFC 5321 §4.5.2: a line starting with "." gets one more ".".
      if (this.#atLineStart && b === 0x2e) out[o++] = 0x2e;
      this.#atLineStart = false;
      out[o++] = b;
    }
    return out.subarray(0, o);
  }

  /** The end of the body: a final CRLF when the body did not end with one, then ".\r\n". */
  end(): Buffer {
    const parts: number[] = [];
    if (this.#pendingCr) {
      this.#pendingCr = false;
      this.#atLineStart = true;
      parts.push(0x0d, 0x0a);
    }
    if (!this.#atLineStart && !this.#empty) parts.push(0x0d, 0x0a);
    parts.push(0x2e, 0x0d, 0x0a);
    return Buffer.from(parts);
  }
}

/** The whole body encoded in one go (tests and small messages). */
export function encodeData(body: Buffer): Buffer {
  const enc = new DataEncoder();
  return Buffer.concat([enc.encode(body), enc.end()]);
}

export function hasEightBit(body: Buffer): boolean {
  for (let i = 0; i < body.length; i++) if (body[i]! > 0x7f) return true;
  return false;
}

/** RFC 3461 §4: xtext — "+" and "=" and characters outside 33..126 as "+HH". */
export function encodeXtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte < 33 || byte > 126 || byte === 0x2b || byte === 0x3d ? '+' + byte.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(byte);
  }
  return out;
}
