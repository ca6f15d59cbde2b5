/**
 * The DATA reader (RFC 5321 §4.1.1.4, §4.5.2): finds the end of data and removes dot-stuffing.
 * Only <CRLF>.<CRLF> ends the message. A bare CR or LF anywhere (RFC 5321 §2.3.8) marks the whole
 * message for refusal but never ends it, so `\n.\n`, `\r.\r`, `\n.\r\n`, `\r\n.\n` ... cannot smuggle a
 * second message (SMTP smuggling). Memory is bounded: at most one line (up to the line limit) is kept.
 */

export interface DataDecoderOptions {
  /** Longest line in octets including CRLF (RFC 5321 §4.5.3.1.6: at least 1000). */
  maxLineBytes: number;
  maxMessageBytes: number;
  /** Receives the unstuffed message bytes, in order (not called once the size limit is passed). */
  write: (chunk: Buffer) => void;
}

export interface DataResult {
  bareLineEnding: boolean;
  lineTooLong: boolean;
  tooBig: boolean;
  size: number;
}

export class DataDecoder {
  private readonly options: DataDecoderOptions;
  /** Bytes of the current line seen so far (kept only while the line is within the limit). */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** The previous line ended with CRLF (the DATA command's own CRLF counts: an empty message is "."). */
  private prevCrlf = true;
  private result: DataResult = { bareLineEnding: false, lineTooLong: false, tooBig: false, size: 0 };
  private lastByteWasCr = false;

  constructor(options: DataDecoderOptions) {
    this.options = options;
  }

  /**
   * Feeds bytes; returns the number consumed when the end of data was found in them (the rest belongs
   * to the next command), or -1 when more data is needed. The bytes written out are views of `chunk`
   * (no copy): the caller must not change a chunk after feeding it.
   */
  feed(chunk: Buffer): number {
    const out: Buffer[] = [];
    let pos = 0;
    // A line begun in an earlier chunk is finished first, the slow way (it was kept whole).
    if (this.partialBytes > 0) {
      const lf = chunk.indexOf(0x0a);
      if (lf < 0) {
        this.addPartial(chunk);
        return -1;
      }
      pos = lf + 1;
      if (this.endLine(this.takeLine(chunk.subarray(0, pos)), out)) {
        this.emit(out);
        return pos;
      }
    }
    const end = this.scanLines(chunk, pos, out);
    this.emit(out);
    return end;
  }

  /**
   * The fast path: every complete line of `chunk` from `start`, by offsets, without a Buffer per line.
   * Output is one view per run of lines between dot-stuffed ones. The trailing partial line is kept.
   */
  private scanLines(chunk: Buffer, start: number, out: Buffer[]): number {
    const maxLineBytes = this.options.maxLineBytes;
    let pos = start;
    let runStart = start;
    let prevCrlf = this.prevCrlf;
    let bare = false;
    let tooLong = false;
    /** The next CR at or after `pos` (-1: none left in the chunk; -2: not searched yet). */
    let nextCr = -2;
    for (;;) {
      const lf = chunk.indexOf(0x0a, pos);
      if (lf < 0) break;
      const crlf = lf > pos && chunk[lf - 1] === 0x0d;
      // RFC 5321 §2.3.8: an LF not preceded by CR, or a CR anywhere but right before the LF, is bare.
      if (!crlf) bare = true;
      else {
        if (nextCr !== -1 && nextCr < pos) nextCr = chunk.indexOf(0x0d, pos);
        if (nextCr < lf - 1) bare = true;
      }
      if (chunk[pos] === 0x2e) {
        // RFC 5321 §4.1.1.4: the end is the line ".", preceded by CRLF and terminated by CRLF.
        if (crlf && prevCrlf && lf - pos === 2) {
          if (pos > runStart) out.push(chunk.subarray(runStart, pos));
          this.noteLines({ bare, tooLong, prevCrlf });
          return lf + 1;
        }
        // RFC 5321 §4.5.2: remove the first "." of a line that starts with one.
        if (pos > runStart) out.push(chunk.subarray(runStart, pos));
        runStart = pos + 1;
      }
      // RFC 5321 §4.5.3.1.6: at most maxLineBytes octets including the CRLF (a bare LF counts as if CRLF).
      if (lf + 1 - pos + (crlf ? 0 : 1) > maxLineBytes) tooLong = true;
      prevCrlf = crlf;
      pos = lf + 1;
    }
    if (pos > runStart) out.push(chunk.subarray(runStart, pos));
    this.noteLines({ bare, tooLong, prevCrlf });
    this.addPartial(chunk.subarray(pos));
    return -1;
  }

  private noteLines(seen: { bare: boolean; tooLong: boolean; prevCrlf: boolean }): void {
    if (seen.bare) this.result.bareLineEnding = true;
    if (seen.tooLong) this.result.lineTooLong = true;
    this.prevCrlf = seen.prevCrlf;
  }

  get outcome(): DataResult {
    return this.result;
  }

  private addPartial(bytes: Buffer): void {
    if (bytes.length === 0) return;
    // A CR that ended the previous piece of this line and is not followed by LF is bare: this matters once
    // the line is over the limit and no longer kept whole for endLine to look at.
    if (this.partialBytes > 0 && this.lastByteWasCr && bytes[0] !== 0x0a) this.result.bareLineEnding = true;
    this.lastByteWasCr = bytes[bytes.length - 1] === 0x0d;
    // A bare CR inside the partial line (not its last byte) is detectable now.
    const cr = bytes.indexOf(0x0d);
    if (cr >= 0 && cr < bytes.length - 1) this.markBareCr(bytes);
    if (this.partialBytes + bytes.length > this.options.maxLineBytes + 1) {
      // Over the limit: remember only the last byte's CR-ness (above) and how long it was.
      this.result.lineTooLong = true;
      this.partialBytes += bytes.length;
      this.partial = [];
      return;
    }
    this.partial.push(bytes);
    this.partialBytes += bytes.length;
  }

  private markBareCr(bytes: Buffer): void {
    for (let i = bytes.indexOf(0x0d); i >= 0 && i < bytes.length - 1; i = bytes.indexOf(0x0d, i + 1)) {
      if (bytes[i + 1] !== 0x0a) {
        this.result.bareLineEnding = true;
        return;
      }
    }
  }

  private takeLine(piece: Buffer): Buffer {
    if (this.result.lineTooLong && this.partial.length === 0) {
      // The line was too long to keep; what matters now is only how it ended.
      const crBeforeLf = piece.length >= 2 ? piece[piece.length - 2] === 0x0d : this.lastByteWasCr;
      if (this.lastByteWasCr && piece.length >= 2) this.result.bareLineEnding = true; // CR then not LF
      this.markBareCr(piece.subarray(0, piece.length - 1));
      this.partialBytes = 0;
      return Buffer.from(crBeforeLf ? 'X\r\n' : 'X\n'); // a stand-in: neither "." nor empty
    }
    const line = Buffer.concat([...this.partial, piece]);
    this.partial = [];
    this.partialBytes = 0;
    return line;
  }

  /** Handles one complete line (ending in LF); true at the end of data. */
  private endLine(line: Buffer, out: Buffer[]): boolean {
    const n = line.length;
    const crlf = n >= 2 && line[n - 2] === 0x0d;
    const contentEnd = crlf ? n - 2 : n - 1;
    if (!crlf) this.result.bareLineEnding = true;
    // Any CR before the line end is bare: CRs only ever belong immediately before LF.
    const cr = line.indexOf(0x0d);
    if (cr >= 0 && cr < contentEnd) this.result.bareLineEnding = true;
    // RFC 5321 §4.1.1.4: the end is the line ".", preceded by CRLF and terminated by CRLF.
    if (crlf && this.prevCrlf && contentEnd === 1 && line[0] === 0x2e) return true;
    this.prevCrlf = crlf;
    if (contentEnd + 2 > this.options.maxLineBytes) this.result.lineTooLong = true;
    // RFC 5321 §4.5.2: remove the first "." of a line that starts with one.
    out.push(line[0] === 0x2e ? line.subarray(1) : line);
    return false;
  }

  private emit(out: Buffer[]): void {
    if (out.length === 0) return;
    let size = 0;
    for (const b of out) size += b.length;
    this.result.size += size;
    if (this.result.size > this.options.maxMessageBytes) {
      this.result.tooBig = true;
      return;
    }
    // One write per feed: a view of the chunk when no line was dot-stuffed, else one joined copy (a body
    // of dotted lines must not become a write per line).
    this.options.write(out.length === 1 ? out[0]! : Buffer.concat(out, size));
  }
}

/**
 * The BDAT chunk checker (RFC 3030): chunk bytes are taken as they are, but since we do not offer
 * BINARYMIME, a bare CR or LF makes the message invalid (it is refused at BDAT LAST).
 */
export class BareLineEndingScanner {
  private lastWasCr = false;
  found = false;

  scan(bytes: Buffer): void {
    if (this.found || bytes.length === 0) return;
    if (this.lastWasCr && bytes[0] !== 0x0a) this.found = true;
    for (let i = bytes.indexOf(0x0d); i >= 0; i = bytes.indexOf(0x0d, i + 1)) {
      if (i + 1 < bytes.length && bytes[i + 1] !== 0x0a) this.found = true;
    }
    for (let i = bytes.indexOf(0x0a); i >= 0; i = bytes.indexOf(0x0a, i + 1)) {
      const prev = i > 0 ? bytes[i - 1] : this.lastWasCr ? 0x0d : 0;
      if (prev !== 0x0d) this.found = true;
    }
    this.lastWasCr = bytes[bytes.length - 1] === 0x0d;
  }

  /** At the end of the message: a trailing CR is bare too. */
  finish(): boolean {
    if (this.lastWasCr) this.found = true;
    return this.found;
  }
}
