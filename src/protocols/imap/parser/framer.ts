/**
 * IMAP command framing (RFC 9051 §2.2, §4.3): splits the client's byte stream into complete commands
 * (text lines + literals), asks before each literal whether to accept it, and bounds every buffer.
 * No I/O: the session feeds bytes and pulls events.
 */

/** Where the bytes of a streamed literal go (an APPEND message); nothing is kept in the framer. */
export interface LiteralSink {
  write(chunk: Buffer): void;
}

export interface LiteralAnnouncement {
  size: number;
  /** false for `{n+}` / `{n-}` (RFC 7888): the client does not wait for `+`. */
  sync: boolean;
  /** The command text received so far, up to and including the `{n}` marker. */
  textSoFar: string;
  /** 0 for the command's first literal. */
  index: number;
  /** Bytes of literals already accepted for this command. */
  literalBytesSoFar: number;
}

export type LiteralDecision =
  | { action: 'buffer' }
  | { action: 'stream'; sink: LiteralSink }
  /** A tagged response (`a NO [TOOBIG] ...`); the command is dropped. */
  | { action: 'reject'; response: string };

/** A literal whose bytes went to a sink; the parser sees it as a `literal-stream` token. */
export interface StreamedLiteral {
  streamed: true;
  size: number;
}

export interface CommandFrame {
  /** texts[i] ends with the `{n}` marker of literals[i]; there is one more text than literals. */
  texts: string[];
  literals: (Buffer | StreamedLiteral)[];
}

export type FrameEvent =
  | { kind: 'command'; frame: CommandFrame }
  /** Write `+ Ready for literal data` (a synchronizing literal was accepted). */
  | { kind: 'continue' }
  /** Write this response; the command was dropped (literal refused, line too long). */
  | { kind: 'response'; text: string };

export interface FramerLimits {
  /** Command text bytes, literals excluded (default 64 KiB). */
  maxLineBytes: number;
  /** LITERAL- (RFC 7888 §4): non-synchronizing literals above 4096 octets are refused; false with LITERAL+. */
  literalMinus: boolean;
}

type LiteralState = {
  remaining: number;
  mode: 'buffer' | 'stream' | 'discard';
  chunks: Buffer[];
  sink: LiteralSink | null;
  size: number;
};

const LITERAL_MARKER = /(~?)\{(\d{1,12})([+-]?)\}$/;

export class CommandFramer {
  private buf: Buffer = Buffer.alloc(0);
  private texts: string[] = [];
  private literals: (Buffer | StreamedLiteral)[] = [];
  private literalBytes = 0;
  private textBytes = 0;
  private literal: LiteralState | null = null;
  /** Set when the current command is being discarded (refused non-synchronizing literal, overlong line). */
  private dropped: string | null = null;
  private skippingLine = false;
  /** The tag of a line being skipped, for its BAD response. */
  private skipTag = '*';
  private readonly limits: FramerLimits;
  private readonly decide: (a: LiteralAnnouncement) => LiteralDecision;

  constructor(limits: FramerLimits, decide: (a: LiteralAnnouncement) => LiteralDecision) {
    this.limits = limits;
    this.decide = decide;
  }

  feed(chunk: Buffer): void {
    this.buf = this.buf.length === 0 ? chunk : Buffer.concat([this.buf, chunk]);
  }

  /** True while bytes of an unfinished command are buffered or expected. */
  get isMidCommand(): boolean {
    return this.texts.length > 0 || this.literal !== null;
  }

  get bufferedBytes(): number {
    return this.buf.length;
  }

  /** A raw line (IDLE's DONE, AUTHENTICATE responses), without CRLF; null when none is complete. */
  nextLine(): string | null | { tooLong: true } {
    const lf = this.buf.indexOf(0x0a);
    if (lf < 0) {
      if (this.buf.length > this.limits.maxLineBytes) {
        this.buf = Buffer.alloc(0);
        this.skippingLine = true;
        return { tooLong: true };
      }
      return null;
    }
    const end = lf > 0 && this.buf[lf - 1] === 0x0d ? lf - 1 : lf;
    const line = this.buf.subarray(0, end).toString('utf8');
    this.buf = this.buf.subarray(lf + 1);
    if (this.skippingLine) {
      this.skippingLine = false;
      return this.nextLine();
    }
    return line;
  }

  next(): FrameEvent | null {
    for (;;) {
      if (this.literal !== null) {
        if (!this.consumeLiteral()) return null;
        continue;
      }
      const lf = this.buf.indexOf(0x0a);
      if (lf < 0) {
        if (this.buf.length + this.textBytes > this.limits.maxLineBytes) {
          // The rest of this line is discarded up to its LF; the command fails then.
          if (!this.skippingLine) this.skipTag = tagOf(this.texts[0] ?? this.buf.subarray(0, 200).toString('latin1'));
          this.skippingLine = true;
          this.buf = Buffer.alloc(0);
        }
        return null;
      }
      const end = lf > 0 && this.buf[lf - 1] === 0x0d ? lf - 1 : lf;
      const lineBuf = this.buf.subarray(0, end);
      this.buf = this.buf.subarray(lf + 1);
      if (this.skippingLine) {
        this.skippingLine = false;
        const tag = this.skipTag;
        this.reset();
        return { kind: 'response', text: `${tag} BAD Command line too long` };
      }
      this.textBytes += lineBuf.length;
      if (this.textBytes > this.limits.maxLineBytes) {
        const tag = tagOf(this.texts[0] ?? lineBuf.toString('latin1'));
        this.reset();
        return { kind: 'response', text: `${tag} BAD Command line too long` };
      }
      const line = lineBuf.toString('utf8');
      this.texts.push(line);
      const m = LITERAL_MARKER.exec(line);
      if (m === null) {
        const frame: CommandFrame = { texts: this.texts, literals: this.literals };
        const dropped = this.dropped;
        this.reset();
        if (dropped !== null) return { kind: 'response', text: dropped };
        return { kind: 'command', frame };
      }
      const size = Number(m[2]);
      const sync = m[3] === '';
      const event = this.announce(size, sync, m[3] === '-');
      if (event !== null) return event;
    }
  }

  private announce(size: number, sync: boolean, minus: boolean): FrameEvent | null {
    const state: LiteralState = { remaining: size, mode: 'discard', chunks: [], sink: null, size };
    if (this.dropped !== null) {
      if (sync) return this.dropSync(this.dropped);
      this.literal = state;
      return null;
    }
    let decision: LiteralDecision;
    if (!sync && (minus || this.limits.literalMinus) && size > 4096) {
      // RFC 7888 §5: LITERAL- servers refuse non-synchronizing literals above 4096 octets.
      decision = { action: 'reject', response: `${tagOf(this.texts[0]!)} BAD [TOOBIG] Non-synchronizing literal too big` };
    } else {
      decision = this.decide({
        size,
        sync,
        textSoFar: this.texts.join('\r\n'),
        index: this.literals.length,
        literalBytesSoFar: this.literalBytes,
      });
    }
    if (decision.action === 'reject') {
      // RFC 9051 §4.3: a refused synchronizing literal is never sent; a non-synchronizing one
      // arrives anyway and is read and discarded (RFC 7888 §4).
      if (sync) return this.dropSync(decision.response);
      this.dropped = decision.response;
      this.literal = state;
      return null;
    }
    state.mode = decision.action;
    state.sink = decision.action === 'stream' ? decision.sink : null;
    this.literal = state;
    return sync ? { kind: 'continue' } : null;
  }

  private dropSync(response: string): FrameEvent {
    this.reset();
    return { kind: 'response', text: response };
  }

  /** Moves literal bytes out of the buffer; true when the literal is complete. */
  private consumeLiteral(): boolean {
    const lit = this.literal!;
    if (lit.remaining > 0) {
      if (this.buf.length === 0) return false;
      const n = Math.min(lit.remaining, this.buf.length);
      const piece = this.buf.subarray(0, n);
      this.buf = this.buf.subarray(n);
      lit.remaining -= n;
      if (lit.mode === 'buffer') lit.chunks.push(Buffer.from(piece));
      else if (lit.mode === 'stream') lit.sink!.write(Buffer.from(piece));
      if (lit.remaining > 0) return false;
    }
    this.literalBytes += lit.size;
    this.literals.push(lit.mode === 'buffer' ? Buffer.concat(lit.chunks) : { streamed: true, size: lit.size });
    this.literal = null;
    return true;
  }

  private reset(): void {
    this.texts = [];
    this.literals = [];
    this.literalBytes = 0;
    this.textBytes = 0;
    this.dropped = null;
    this.literal = null;
  }
}

/** The tag of a command line for error responses, or `*` when it has none usable. */
export function tagOf(line: string): string {
  const m = /^([!#$&'*,-.0-9:;<=>?@A-Z[^_`a-z|~\]]+)(?: |$)/.exec(line);
  return m !== null && m[1] !== '*' && !m[1]!.includes('+') ? m[1]! : '*';
}
