/**
 * Greylisting state in the store's shared state, so every node behind one MX name knows the triplets
 * the others saw (a retry to another node passes). One read per check, one upsert per change.
 */
import type { AutoWhitelistState, GreylistStore, TripletState } from '../policy/greylist.ts';
import type { SharedStateStore } from '../store/types.ts';

export class SharedGreylistStore implements GreylistStore {
  readonly #shared: SharedStateStore;
  readonly #ttlMs: number;

  /** `ttlMs`: how long an entry is kept after its last write (the longest of the retry window and the pass TTL). */
  constructor(shared: SharedStateStore, options: { ttlMs: number }) {
    this.#shared = shared;
    this.#ttlMs = options.ttlMs;
  }
  async getTriplet(key: string): Promise<TripletState | undefined> {
    return (await this.#shared.getShared('greylist.triplet', key)) as TripletState | undefined;
  }
  async putTriplet(key: string, state: TripletState): Promise<void> {
    await this.#shared.putShared('greylist.triplet', key, state, { expiresAt: new Date(Date.now() + this.#ttlMs) });
  }
  async getClient(key: string): Promise<AutoWhitelistState | undefined> {
    return (await this.#shared.getShared('greylist.client', key)) as AutoWhitelistState | undefined;
  }
  async putClient(key: string, state: AutoWhitelistState): Promise<void> {
    await this.#shared.putShared('greylist.client', key, state, { expiresAt: new Date(Date.now() + this.#ttlMs) });
  }
}
