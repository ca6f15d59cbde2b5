/**
 * Queue leases kept in memory, for stores that one process serves (SQLite: one node per data directory;
 * the in-memory test store). They need no durability: after a crash the process that held them is gone,
 * and its recipients are due again at once, as before leases existed.
 */
import type { QueueLease } from './types.ts';

export class LocalLeases {
  readonly #held = new Map<number, { owner: string; until: number }>();

  /** Ids under a live lease at `now` (to leave out of a claim); expired leases are dropped. */
  liveIds(now: number): number[] {
    const ids: number[] = [];
    for (const [id, l] of this.#held) {
      if (l.until > now) ids.push(id);
      else this.#held.delete(id);
    }
    return ids;
  }

  take(ids: number[], lease: QueueLease): void {
    for (const id of ids) this.#held.set(id, { owner: lease.owner, until: lease.until.getTime() });
  }

  renew(ids: number[], lease: QueueLease): number[] {
    return ids.filter((id) => {
      const l = this.#held.get(id);
      if (!l || l.owner !== lease.owner) return false;
      l.until = lease.until.getTime();
      return true;
    });
  }

  /** The owner recorded a result: its lease ends (another owner's lease is left alone). */
  release(id: number, owner: string | undefined): void {
    if (owner !== undefined && this.#held.get(id)?.owner === owner) this.#held.delete(id);
  }

  /** The earliest expiry of a live lease, or null. */
  earliestExpiry(now: number): number | null {
    let t: number | null = null;
    for (const l of this.#held.values()) if (l.until > now && (t === null || l.until < t)) t = l.until;
    return t;
  }
}
