/**
 * Receives one SMTP message for the hooks: the header section is held in memory, bounded by the header
 * limits (size and line count, so no parser downstream sees a header bomb); the body goes straight into the
 * store's DeliveryTransaction, which spills it to a spool file early. Every byte counts against the global
 * in-flight budget until the message is committed or dropped. The checks read the body back from the spool.
 */
import type { MessageParts } from '../policy/message-parts.ts';
import type { DeliveryTransaction } from '../store/types.ts';
import type { InflightBudget } from './inflight-budget.ts';

export interface HeaderLimits {
  maxBytes: number;
  maxLines: number;
}

/** Why the message can no longer be accepted (answered at the end of the data). */
export type BufferProblem = 'header-size' | 'header-lines' | 'budget';

/** The reply for a message the buffer could not take; the header limits keep bombs from every parser. */
export function bufferProblemReply(problem: BufferProblem): { code: number; enhancedCode: string; text: string; rule: string } {
  // RFC 3463 §3.4: X.3.4 "message too big for system"; X.3.1 "mail system full" (temporary).
  if (problem === 'header-size') return { code: 552, enhancedCode: '5.3.4', text: 'Message header section too large', rule: 'header_too_large' };
  if (problem === 'header-lines') return { code: 552, enhancedCode: '5.3.4', text: 'Too many lines in the message header section', rule: 'header_too_many_lines' };
  return { code: 452, enhancedCode: '4.3.1', text: 'Insufficient system storage for messages in transit, try again later', rule: 'inflight_budget' };
}

const HEADER_END = Buffer.from('\r\n\r\n');
const LF = 0x0a;

export class MessageBuffer {
  readonly tx: DeliveryTransaction;
  private readonly limits: HeaderLimits;
  private readonly budget: InflightBudget | null;
  private head: Buffer[] = [];
  private headBytes = 0;
  private headLines = 0;
  private headEnded = false;
  /** The last bytes seen before the current chunk, to find a CRLF CRLF split between chunks; starts as a
   * line end so that a message opening with an empty line has an empty header section. */
  private tail: Buffer = Buffer.from('\r\n');
  private taken = 0;
  size = 0;
  problem: BufferProblem | null = null;

  constructor(options: { tx: DeliveryTransaction; limits: HeaderLimits; budget?: InflightBudget | null }) {
    this.tx = options.tx;
    this.limits = options.limits;
    this.budget = options.budget ?? null;
  }

  write(chunk: Buffer): void {
    this.size += chunk.length;
    if (this.problem || chunk.length === 0) return;
    if (this.budget && !this.budget.take(chunk.length)) return this.fail('budget');
    this.taken += chunk.length;
    if (this.headEnded) {
      this.tx.write(chunk);
      return;
    }
    const end = this.headerEndIn(chunk);
    const headPart = end < 0 ? chunk : chunk.subarray(0, end);
    this.headBytes += headPart.length;
    for (let i = headPart.indexOf(LF); i >= 0; i = headPart.indexOf(LF, i + 1)) this.headLines++;
    if (this.headBytes > this.limits.maxBytes) return this.fail('header-size');
    // The empty line that ends the section is not a header line.
    if (this.headLines - (end >= 0 ? 1 : 0) > this.limits.maxLines) return this.fail('header-lines');
    this.head.push(headPart);
    if (end < 0) return;
    this.headEnded = true;
    if (end < chunk.length) this.tx.write(chunk.subarray(end));
  }

  /** Offset in `chunk` just after the CRLF CRLF that ends the header section, or -1. */
  private headerEndIn(chunk: Buffer): number {
    const joint = Buffer.concat([this.tail, chunk.subarray(0, 3)]);
    const split = joint.indexOf(HEADER_END);
    if (split >= 0) return split + 4 - this.tail.length;
    const inside = chunk.indexOf(HEADER_END);
    if (inside >= 0) return inside + 4;
    this.tail = chunk.length >= 3 ? Buffer.from(chunk.subarray(chunk.length - 3)) : Buffer.concat([this.tail, chunk]).subarray(-3);
    return -1;
  }

  private fail(problem: BufferProblem): void {
    this.problem = problem;
    this.head = [];
    this.release();
    // The spooled body is of no use any more: free the memory and the disk now, not at the end of the data.
    this.tx.abort();
  }

  /** The header section, ending with its empty line (the whole message when it has none). */
  header(): Buffer {
    if (this.head.length !== 1) this.head = [Buffer.concat(this.head)];
    return this.head[0]!;
  }

  /** The header section as text (ISO-8859-1, so every byte maps to one character). */
  headerText(): string {
    return this.header().toString('latin1');
  }

  /** Header and body as the checks read them; the body stays where the transaction keeps it. */
  parts(header: Buffer = this.header()): MessageParts {
    return { header, body: this.tx.spooled() };
  }

  /** Gives the message's bytes back to the in-flight budget (after commit or abort; idempotent). */
  release(): void {
    this.budget?.give(this.taken);
    this.taken = 0;
  }
}
