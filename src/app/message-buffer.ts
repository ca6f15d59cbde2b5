/**
 * Holds an incoming message for inspection (policy checks, submission header fixes, DKIM signing) up to
 * a bound; past it, the bytes are passed on to the store's DeliveryTransaction (which spools to disk)
 * and the message is marked uninspected. Trusted MX traffic streams straight through.
 */
import type { DeliveryTransaction } from '../store/types.ts';

export const INSPECT_MAX_BYTES = 10 * 1024 * 1024;
export const HEAD_BYTES = 256 * 1024;
const HEADER_END = Buffer.from('\r\n\r\n');

export class MessageBuffer {
  private chunks: Buffer[] = [];
  private head: Buffer[] = [];
  private headBytes = 0;
  /** The head holds the end of the header section (CRLF CRLF): later chunks are not kept for it. */
  private headEnded = false;
  /** The head's last three bytes, to find a CRLF CRLF split between two chunks. */
  private headTail: Buffer = Buffer.alloc(0);
  size = 0;
  /** True while the whole message is held in `chunks`. */
  inspecting: boolean;
  readonly tx: DeliveryTransaction;
  private readonly maxInspectBytes: number;

  constructor(options: { tx: DeliveryTransaction; inspect: boolean; maxInspectBytes?: number }) {
    this.tx = options.tx;
    this.inspecting = options.inspect;
    this.maxInspectBytes = options.maxInspectBytes ?? INSPECT_MAX_BYTES;
  }

  write(chunk: Buffer): void {
    this.size += chunk.length;
    if (!this.headEnded && this.headBytes < HEAD_BYTES) this.keepHead(chunk);
    if (!this.inspecting) {
      this.tx.write(chunk);
      return;
    }
    this.chunks.push(chunk);
    if (this.size > this.maxInspectBytes) {
      for (const c of this.chunks) this.tx.write(c);
      this.chunks = [];
      this.inspecting = false;
    }
  }

  private keepHead(chunk: Buffer): void {
    this.head.push(chunk);
    this.headBytes += chunk.length;
    const joint = Buffer.concat([this.headTail, chunk.subarray(0, 3)]);
    this.headEnded = joint.indexOf(HEADER_END) >= 0 || chunk.indexOf(HEADER_END) >= 0;
    this.headTail = Buffer.from(chunk.length >= 3 ? chunk.subarray(chunk.length - 3) : Buffer.concat([this.headTail, chunk]).subarray(-3));
  }

  /** The whole message, when it was small enough to keep. */
  message(): Buffer | null {
    return this.inspecting ? Buffer.concat(this.chunks, this.size) : null;
  }

  /** The header section (up to the first empty line, bounded), for checks that only need headers. */
  header(): string {
    // Only the header section is turned into text, not the body behind it in the same chunk.
    const head = this.head.length === 1 ? this.head[0]! : Buffer.concat(this.head);
    const end = head.indexOf(HEADER_END);
    if (end >= 0) return head.toString('latin1', 0, end + 2);
    return head[0] === 0x0d && head[1] === 0x0a ? '' : head.toString('latin1');
  }

  /** Writes the (possibly changed) held message into the transaction before commit. */
  flush(replacement?: Buffer): void {
    if (!this.inspecting) return;
    this.tx.write(replacement ?? Buffer.concat(this.chunks, this.size));
    this.chunks = [];
  }
}
