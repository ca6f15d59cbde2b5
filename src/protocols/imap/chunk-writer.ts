/**
 * One chunk of IMAP responses written straight into a Buffer: ASCII text, decimal numbers and latin1
 * strings (one byte per char), with no string per response to build, join and convert again.
 */

/** Strings up to this length are copied char by char; longer ones through Buffer#write (a native call). */
const SHORT_STRING = 24;

export class ChunkWriter {
  private buf: Buffer;
  /** Bytes written so far. */
  length = 0;

  constructor(private readonly capacity: number) {
    this.buf = Buffer.allocUnsafe(capacity);
  }

  /** Room for `n` more bytes: a chunk grows (rarely: a row longer than the room left) rather than splitting. */
  private room(n: number): Buffer {
    if (this.length + n > this.buf.length) {
      const bigger = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.length + n));
      this.buf.copy(bigger, 0, 0, this.length);
      this.buf = bigger;
    }
    return this.buf;
  }

  /** Text whose chars are all below 256 (ASCII, or latin1 text standing for bytes). */
  latin1(s: string): void {
    const n = s.length;
    const buf = this.room(n);
    let p = this.length;
    if (n > SHORT_STRING) p += buf.write(s, p, n, 'latin1');
    else for (let i = 0; i < n; i++) buf[p++] = s.charCodeAt(i);
    this.length = p;
  }

  bytes(b: Uint8Array): void {
    const n = b.length;
    const buf = this.room(n);
    const p = this.length;
    if (n > SHORT_STRING) buf.set(b, p);
    else for (let i = 0; i < n; i++) buf[p + i] = b[i]!;
    this.length = p + n;
  }

  /** A non-negative integer in decimal (exact up to 2^53). */
  uint(v: number): void {
    let digits = 1;
    for (let t = v; t >= 10; t = Math.floor(t / 10)) digits++;
    const buf = this.room(digits);
    let p = this.length + digits;
    this.length = p;
    do {
      const q = Math.floor(v / 10);
      buf[--p] = 48 + (v - q * 10);
      v = q;
    } while (v > 0);
  }

  /** The chunk written so far; the writer starts a new one. */
  take(): Buffer {
    const out = this.buf.subarray(0, this.length);
    this.buf = Buffer.allocUnsafe(this.capacity);
    this.length = 0;
    return out;
  }
}
