/**
 * Counts open connections per client IP, per client network (IPv4 /24, IPv6 /64) and in total, so a
 * listener can refuse floods (421 / BYE / -ERR). When the total is reached, the oldest connection that
 * holds nothing (no login, no transaction, idle) is closed to make room, so idle floods on one protocol
 * cannot lock the users of the others out.
 */

export type RefusalReason = 'per-ip' | 'per-network' | 'total';

/** What the counter may ask of a connection it holds a slot for. */
export interface SlotHolder {
  /** No login, no transaction, no command being handled: closing it costs the client only a reconnect. */
  isEvictable(): boolean;
  /** Close it to make room (the counter has already released its slot). */
  evict(): void;
}

export interface ConnectionSlot {
  readonly ip: string;
  /** Set by the listener once it knows how to close the connection; until then it is never evicted. */
  holder: SlotHolder | null;
  release(): void;
}

export interface ConnectionLimits {
  maxConnections: number;
  maxConnectionsPerIp: number;
  /** Default: no per-network limit. Never below maxConnectionsPerIp (one address is part of its network). */
  maxConnectionsPerNetwork?: number;
  /** The client's network for the per-network limit; default: the IP itself. */
  networkOf?: (ip: string) => string;
}

export type AcquireResult = { ok: true; slot: ConnectionSlot; evicted: { ip: string } | null } | { ok: false; reason: RefusalReason };

export class ConnectionCounter {
  private readonly perIp = new Map<string, number>();
  private readonly perNetwork = new Map<string, number>();
  /** Open slots, oldest first (Set keeps insertion order). */
  private readonly slots = new Set<Slot>();
  private readonly limits: Required<Omit<ConnectionLimits, 'networkOf'>>;
  private readonly networkOf: (ip: string) => string;

  constructor(limits: ConnectionLimits) {
    this.limits = {
      maxConnections: limits.maxConnections,
      maxConnectionsPerIp: limits.maxConnectionsPerIp,
      maxConnectionsPerNetwork: Math.max(limits.maxConnectionsPerNetwork ?? Number.POSITIVE_INFINITY, limits.maxConnectionsPerIp),
    };
    this.networkOf = limits.networkOf ?? ((ip) => ip);
  }

  /** Takes a slot (closing the oldest evictable connection when the total is reached), or says which limit refuses it. */
  acquire(ip: string): AcquireResult {
    if ((this.perIp.get(ip) ?? 0) >= this.limits.maxConnectionsPerIp) return { ok: false, reason: 'per-ip' };
    const network = this.networkOf(ip);
    if ((this.perNetwork.get(network) ?? 0) >= this.limits.maxConnectionsPerNetwork) return { ok: false, reason: 'per-network' };
    let evicted: { ip: string } | null = null;
    if (this.slots.size >= this.limits.maxConnections) {
      const victim = this.oldestEvictable();
      if (!victim) return { ok: false, reason: 'total' };
      const holder = victim.holder!;
      victim.release();
      holder.evict();
      evicted = { ip: victim.ip };
    }
    const slot = new Slot(ip, network, this);
    this.slots.add(slot);
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    this.perNetwork.set(network, (this.perNetwork.get(network) ?? 0) + 1);
    return { ok: true, slot, evicted };
  }

  get open(): number {
    return this.slots.size;
  }

  /** @internal Called once per slot by Slot.release(). */
  drop(slot: Slot): void {
    if (!this.slots.delete(slot)) return;
    decrement(this.perIp, slot.ip);
    decrement(this.perNetwork, slot.network);
  }

  private oldestEvictable(): Slot | null {
    for (const slot of this.slots) {
      if (slot.holder?.isEvictable() === true) return slot;
    }
    return null;
  }
}

class Slot implements ConnectionSlot {
  holder: SlotHolder | null = null;
  constructor(
    readonly ip: string,
    readonly network: string,
    private readonly counter: ConnectionCounter,
  ) {}

  release(): void {
    this.counter.drop(this);
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = map.get(key) ?? 0;
  if (n <= 1) map.delete(key);
  else map.set(key, n - 1);
}
