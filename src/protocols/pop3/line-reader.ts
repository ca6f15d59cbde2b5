/**
 * Splits POP3 client input into command lines with a hard bound on the line length, so that a
 * client that never sends LF cannot make us buffer without limit.
 */

export type LineItem = { kind: 'line'; line: string } | { kind: 'too-long' };

const LF = 0x0a;
const CR = 0x0d;

export class LineReader {
  private buffer: Buffer = Buffer.alloc(0);
  /** True after an over-long line was cut: bytes are dropped until its LF arrives. */
  private discarding = false;

  constructor(private readonly maxLineBytes: number) {}

  push(chunk: Buffer): LineItem[] {
    const items: LineItem[] = [];
    let data = this.buffer.length > 0 ? Buffer.concat([this.buffer, chunk]) : chunk;
    for (;;) {
      const nl = data.indexOf(LF);
      if (nl < 0) break;
      const lineBytes = nl + 1; // the limit counts the CRLF, as RFC 2449 §4 does
      if (this.discarding) {
        this.discarding = false;
        items.push({ kind: 'too-long' });
      } else if (lineBytes > this.maxLineBytes) {
        items.push({ kind: 'too-long' });
      } else {
        const end = nl > 0 && data[nl - 1] === CR ? nl - 1 : nl; // bare LF is tolerated
        items.push({ kind: 'line', line: data.subarray(0, end).toString('utf8') });
      }
      data = data.subarray(nl + 1);
    }
    if (data.length > this.maxLineBytes || (this.discarding && data.length > 0)) {
      this.discarding = true;
      data = Buffer.alloc(0);
    }
    this.buffer = Buffer.from(data); // copy: never keep a whole big chunk alive for a short tail
    return items;
  }

  /** RFC 2595 §4 / RFC 3207 §4.2: input pipelined after STLS must not survive the TLS upgrade. */
  clear(): void {
    this.buffer = Buffer.alloc(0);
    this.discarding = false;
  }
}
