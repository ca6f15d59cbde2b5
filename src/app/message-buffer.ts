/**
 * Holds an incoming message for inspection (policy checks, submission header fixes, DKIM signing) up to
 * a bound; past it, the bytes are passed on to the store's DeliveryTransaction (which spools to disk)
 * and the message is marked uninspected. Trusted MX traffic streams straight through.
 */
import type { DeliveryTransaction } from '../store/types.ts';

export const INSPECT_MAX_BYTES = 10 * 1024 * 1024;
export const HEAD_BYTES = 256 * 1024;

export class MessageBuffer {
  private chunks: Buffer[] = [];
  private head: Buffer[] = [];
  private headBytes = 0;
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
    if (this.headBytes < HEAD_BYTES) {
      this.head.push(chunk);
      this.headBytes += chunk.length;
    }
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

  /** The whole message, when it was small enough to keep. */
  message(): Buffer | null {
    return this.inspecting ? Buffer.concat(this.chunks, this.size) : null;
  }

  /** The header section (up to the first empty line, bounded), for checks that only need headers. */
  header(): string {
    const text = Buffer.concat(this.head).toString('latin1');
    const crlf = text.indexOf('\r\n\r\n');
    return crlf >= 0 ? text.slice(0, crlf + 2) : text.startsWith('\r\n') ? '' : text;
  }

  /** Writes the (possibly changed) held message into the transaction before commit. */
  flush(replacement?: Buffer): void {
    if (!this.inspecting) return;
    this.tx.write(replacement ?? Buffer.concat(this.chunks, this.size));
    this.chunks = [];
  }
}
