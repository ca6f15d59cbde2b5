/**
 * RFC 1939 §3 multi-line responses: byte-stuffing done incrementally over message chunks, the
 * CRLF.CRLF terminator, and the TOP filter (headers, blank line, first n body lines).
 */

const LF = 0x0a;
const CR = 0x0d;
const DOT = 0x2e;
const DOT_BUFFER = Buffer.from('.');
const TERMINATOR = Buffer.from('.\r\n');
const CRLF_TERMINATOR = Buffer.from('\r\n.\r\n');

function nextLineStart(chunk: Buffer, from: number): number {
  const nl = chunk.indexOf(LF, from);
  return nl < 0 ? -1 : nl + 1;
}

export class DotStuffer {
  /** True at the start of the message and after every LF, including one that ended the previous chunk. */
  private atLineStart = true;

  push(chunk: Buffer): Buffer {
    if (chunk.length === 0) return chunk;
    const pieces: Buffer[] = [];
    let start = 0;
    // pos walks the line starts inside this chunk; -1 when there is none left.
    let pos = this.atLineStart ? 0 : nextLineStart(chunk, 0);
    while (pos >= 0 && pos < chunk.length) {
      // RFC 1939 §3: a line starting with the termination octet gets another one prepended.
      if (chunk[pos] === DOT) {
        pieces.push(chunk.subarray(start, pos), DOT_BUFFER);
        start = pos;
      }
      pos = nextLineStart(chunk, pos);
    }
    this.atLineStart = chunk[chunk.length - 1] === LF;
    if (pieces.length === 0) return chunk;
    pieces.push(chunk.subarray(start));
    return Buffer.concat(pieces);
  }

  /** The terminator, with a CRLF first when the message did not end with one (RFC 1939 §3). */
  end(): Buffer {
    return this.atLineStart ? TERMINATOR : CRLF_TERMINATOR;
  }
}

/** Passes the header, the blank line and the first `bodyLines` body lines (RFC 1939 §7 TOP). */
export class TopFilter {
  private inHeader = true;
  private remaining: number;
  private lineHasContent = false;
  private isDone = false;

  constructor(bodyLines: number) {
    this.remaining = bodyLines;
  }

  get done(): boolean {
    return this.isDone;
  }

  push(chunk: Buffer): Buffer {
    if (this.isDone) return Buffer.alloc(0);
    for (let i = 0; i < chunk.length; i++) {
      const byte = chunk[i];
      if (byte !== LF) {
        if (byte !== CR) this.lineHasContent = true;
        continue;
      }
      const wasEmpty = !this.lineHasContent;
      this.lineHasContent = false;
      if (this.inHeader) {
        if (!wasEmpty) continue;
        this.inHeader = false; // the blank line separating header and body
        if (this.remaining > 0) continue;
      } else if (--this.remaining > 0) {
        continue;
      }
      this.isDone = true;
      return chunk.subarray(0, i + 1);
    }
    return chunk;
  }
}

export interface StuffedMessageOptions {
  chunks: AsyncIterable<Buffer>;
  /** The status line sent once the first chunk was read, and the one sent when reading failed. */
  okLine: string;
  errLine: string;
  /** Set for TOP: the number of body lines after the header. */
  topLines?: number;
}

/**
 * The stuffed message followed by the terminator. The first chunk is pulled before anything is yielded,
 * so a message that vanished (expunged over IMAP) is still answered with `errLine` instead of `okLine`.
 */
export async function* stuffedMessage(options: StuffedMessageOptions): AsyncGenerator<Buffer> {
  const iterator = options.chunks[Symbol.asyncIterator]();
  let first: IteratorResult<Buffer>;
  try {
    first = await iterator.next();
  } catch {
    yield Buffer.from(options.errLine);
    return;
  }
  yield Buffer.from(options.okLine);
  const stuffer = new DotStuffer();
  const top = options.topLines === undefined ? null : new TopFilter(options.topLines);
  let current = first;
  try {
    while (!current.done) {
      const piece = top ? top.push(current.value) : current.value;
      if (piece.length > 0) yield stuffer.push(piece);
      if (top?.done) break;
      // A failure mid-message propagates: a truncated message must never look complete, so the
      // driver aborts the connection instead of writing the terminator.
      current = await iterator.next();
    }
  } finally {
    if (!current.done) await iterator.return?.().catch(() => undefined);
  }
  yield stuffer.end();
}
