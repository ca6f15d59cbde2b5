/**
 * Counts open connections per client IP and in total, so a listener can refuse floods (421 / BYE / -ERR).
 */

export class ConnectionCounter {
  private readonly perIp = new Map<string, number>();
  private total = 0;

  constructor(private readonly limits: { maxConnections: number; maxConnectionsPerIp: number }) {}

  /** Takes a slot, or says which limit refuses it. */
  acquire(ip: string): 'ok' | 'per-ip' | 'total' {
    if (this.total >= this.limits.maxConnections) return 'total';
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.limits.maxConnectionsPerIp) return 'per-ip';
    this.perIp.set(ip, n + 1);
    this.total++;
    return 'ok';
  }

  release(ip: string): void {
    const n = this.perIp.get(ip) ?? 0;
    if (n <= 1) this.perIp.delete(ip);
    else this.perIp.set(ip, n - 1);
    if (this.total > 0) this.total--;
  }

  get open(): number {
    return this.total;
  }
}
