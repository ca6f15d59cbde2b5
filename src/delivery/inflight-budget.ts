/**
 * One budget for the bytes of messages being received (SMTP DATA/BDAT and IMAP APPEND literals, in memory
 * or in spool files) across all connections: many stalled transfers cannot together exhaust memory or disk.
 * A transfer that cannot take its next bytes is refused with a temporary error and frees what it held.
 */
export class InflightBudget {
  readonly limitBytes: number;
  private usedBytes = 0;

  constructor(limitBytes: number) {
    this.limitBytes = limitBytes;
  }

  get used(): number {
    return this.usedBytes;
  }

  /** Takes `bytes` when they fit; false (and nothing taken) when the budget is spent. */
  take(bytes: number): boolean {
    if (this.usedBytes + bytes > this.limitBytes) return false;
    this.usedBytes += bytes;
    return true;
  }

  give(bytes: number): void {
    this.usedBytes = Math.max(0, this.usedBytes - bytes);
  }
}
