/**
 * The DATA payload on the wire: line endings normalised to CRLF (RFC 5321 §2.3.8: no bare CR or LF
 * reaches the peer), dot-stuffing (RFC 5321 §4.5.2) and the CRLF.CRLF terminator; streaming, chunk by chunk.
 * Also the small analyses the client needs before MAIL FROM (8bit content, xtext for DSN parameters).
 */
import { isAscii } from 'node:buffer';

const CR = 0x0d;
const LF = 0x0a;
const DOT = 0x2e;
const CRLF = Buffer.from('\r\n');

/**
 * Works through a chunk line by line with indexOf (native), not byte by byte, and hands out views of the
 * chunk: a body already in wire form (CRLF lines, no line starting with ".") comes back as the chunk itself,
 * without a copy. A doubled "." is the view of a line's first byte sent once more.
 */
export class DataEncoder {
  /** The last chunk ended with a CR not yet written: CRLF follows, whatever comes next. */
  #pendingCr = false;
  #atLineStart = true;
  #empty = true;

  encode(chunk: Buffer): Buffer {
    const n = chunk.length;
    if (n === 0) return chunk;
    this.#empty = false;
    const out: Buffer[] = [];
    let i = 0;
    let atLineStart = this.#atLineStart;
    if (this.#pendingCr) {
      // A CR followed by LF is a line end; a bare CR becomes CRLF too.
      this.#pendingCr = false;
      out.push(CRLF);
      atLineStart = true;
      if (chunk[0] === LF) i = 1;
    }
    let runStart = i;
    /** The next CR at or after `i` (-1: none left in the chunk; -2: not searched yet). */
    let nextCr = -2;
    while (i < n) {
      // RFC 5321 §4.5.2: a line starting with "." gets one more "." (its first byte is sent twice).
      if (atLineStart && chunk[i] === DOT) {
        out.push(chunk.subarray(runStart, i + 1));
        runStart = i;
      }
      const lf = chunk.indexOf(LF, i);
      if (nextCr !== -1 && nextCr < i) nextCr = chunk.indexOf(CR, i);
      if (nextCr >= 0 && (lf < 0 || nextCr < lf - 1)) {
        // RFC 5321 §2.3.8: a CR that is not right before LF is sent as CRLF. At the chunk's end it may
        // still be one: it waits for the next chunk.
        out.push(chunk.subarray(runStart, nextCr));
        if (nextCr === n - 1) {
          this.#pendingCr = true;
          runStart = n;
          atLineStart = false;
          break;
        }
        out.push(CRLF);
        runStart = i = nextCr + 1;
        atLineStart = true;
        continue;
      }
      if (lf < 0) {
        atLineStart = false;
        break;
      }
      if (lf === i || chunk[lf - 1] !== CR) {
        // RFC 5321 §2.3.8: a bare LF is sent as CRLF.
        out.push(chunk.subarray(runStart, lf), CRLF);
        runStart = lf + 1;
      }
      i = lf + 1;
      atLineStart = true;
    }
    if (runStart < n) out.push(chunk.subarray(runStart));
    this.#atLineStart = atLineStart;
    if (out.length === 1) return out[0]!;
    return Buffer.concat(out);
  }

  /** The end of the body: a final CRLF when the body did not end with one, then ".\r\n". */
  end(): Buffer {
    const parts: number[] = [];
    if (this.#pendingCr) {
      this.#pendingCr = false;
      this.#atLineStart = true;
      parts.push(CR, LF);
    }
    if (!this.#atLineStart && !this.#empty) parts.push(CR, LF);
    parts.push(DOT, CR, LF);
    return Buffer.from(parts);
  }
}

/** The whole body encoded in one go (tests and small messages). */
export function encodeData(body: Buffer): Buffer {
  const enc = new DataEncoder();
  return Buffer.concat([enc.encode(body), enc.end()]);
}

export function hasEightBit(body: Buffer): boolean {
  return !isAscii(body);
}

/** RFC 3461 §4: xtext — "+" and "=" and characters outside 33..126 as "+HH". */
export function encodeXtext(value: string): string {
  let out = '';
  for (const byte of Buffer.from(value, 'utf8')) {
    out += byte < 33 || byte > 126 || byte === 0x2b || byte === 0x3d ? '+' + byte.toString(16).toUpperCase().padStart(2, '0') : String.fromCharCode(byte);
  }
  return out;
}
