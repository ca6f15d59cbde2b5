/**
 * Greylisting (RFC 6647): the first attempt of an unknown (client network, sender, recipient) triplet is
 * answered 451; a retry after the delay and within the retry window passes, and a client network that
 * retried properly is auto-whitelisted for a while. State lives behind `GreylistStore`.
 */
import { ipInCidr, networkKey } from './ip-prefix.ts';
import type { Clock, GateVerdict } from './types.ts';

export interface TripletState {
  firstSeenMs: number;
  lastSeenMs: number;
  /** When the triplet passed (a retry after the delay), or null while it is still being delayed. */
  passedMs: number | null;
}

export interface AutoWhitelistState {
  /** Successful retries seen from this client network. */
  passes: number;
  lastPassMs: number;
}

/** Greylisting state. Implementations may forget entries (bounded memory); forgetting only delays mail again. */
export interface GreylistStore {
  getTriplet(key: string): Promise<TripletState | undefined>;
  putTriplet(key: string, state: TripletState): Promise<void>;
  getClient(key: string): Promise<AutoWhitelistState | undefined>;
  putClient(key: string, state: AutoWhitelistState): Promise<void>;
}

/**
 * In-process state with a size cap: the least recently written entries are evicted first. It is lost on
 * restart, which costs one more delay for senders in flight; a persistent store can replace it later.
 */
export class MemoryGreylistStore implements GreylistStore {
  readonly #triplets = new Map<string, TripletState>();
  readonly #clients = new Map<string, AutoWhitelistState>();
  readonly #maxEntries: number;

  constructor(options: { maxEntries?: number } = {}) {
    this.#maxEntries = options.maxEntries ?? 100_000;
  }
  async getTriplet(key: string) {
    return this.#triplets.get(key);
  }
  async putTriplet(key: string, state: TripletState) {
    put(this.#triplets, key, state, this.#maxEntries);
  }
  async getClient(key: string) {
    return this.#clients.get(key);
  }
  async putClient(key: string, state: AutoWhitelistState) {
    put(this.#clients, key, state, this.#maxEntries);
  }
  get size(): number {
    return this.#triplets.size + this.#clients.size;
  }
}

function put<V>(map: Map<string, V>, key: string, value: V, max: number): void {
  map.delete(key);
  map.set(key, value);
  while (map.size > max) map.delete(map.keys().next().value as string);
}

export interface GreylistOptions {
  enabled: boolean;
  /** A retry earlier than this is delayed again (RFC 6647 §2.1 suggests at most a few minutes). */
  delaySeconds: number;
  /** A triplet not retried within this time since first seen starts over. */
  retryWindowSeconds: number;
  /** How long a passed triplet and an auto-whitelisted client stay known. */
  passTtlSeconds: number;
  /** Successful retries after which the client network skips greylisting (0 disables auto-whitelisting). */
  autoWhitelistAfter: number;
  /** Client IPs or CIDRs never greylisted. */
  whitelistIps: string[];
  /** Sender domains, or verified client hostnames' domains, never greylisted. */
  whitelistDomains: string[];
}

export const DEFAULT_GREYLIST_OPTIONS: GreylistOptions = {
  enabled: false,
  delaySeconds: 300,
  retryWindowSeconds: 2 * 86400,
  passTtlSeconds: 36 * 86400,
  autoWhitelistAfter: 1,
  whitelistIps: [],
  whitelistDomains: [],
};

export interface GreylistCheck {
  ip: string;
  sender: string;
  recipient: string;
  /** The FCrDNS-verified client hostname, if known. */
  clientHostname?: string | null;
}

export class Greylister {
  readonly #store: GreylistStore;
  readonly #options: GreylistOptions;
  readonly #now: Clock;

  constructor(deps: { store: GreylistStore; options: GreylistOptions; now?: Clock }) {
    this.#store = deps.store;
    this.#options = deps.options;
    this.#now = deps.now ?? Date.now;
  }

  async check(input: GreylistCheck): Promise<GateVerdict> {
    const o = this.#options;
    if (!o.enabled || this.#isStaticallyWhitelisted(input)) return { action: 'accept' };
    const now = this.#now();
    const net = networkKey(input.ip);
    const client = await this.#store.getClient(net);
    if (o.autoWhitelistAfter > 0 && client && client.passes >= o.autoWhitelistAfter && now - client.lastPassMs < o.passTtlSeconds * 1000) {
      return { action: 'accept' };
    }
    // RFC 6647 §4.1: the triplet uses the client's network rather than its exact address, since big senders
    // retry from another host in the same pool.
    const key = `${net}|${input.sender.toLowerCase()}|${input.recipient.toLowerCase()}`;
    const state = await this.#store.getTriplet(key);
    if (state?.passedMs != null && now - state.passedMs < o.passTtlSeconds * 1000) {
      await this.#store.putTriplet(key, { ...state, lastSeenMs: now });
      return { action: 'accept' };
    }
    if (!state || state.passedMs != null || now - state.firstSeenMs > o.retryWindowSeconds * 1000) {
      await this.#store.putTriplet(key, { firstSeenMs: now, lastSeenMs: now, passedMs: null });
      return greylisted();
    }
    if (now - state.firstSeenMs < o.delaySeconds * 1000) {
      await this.#store.putTriplet(key, { ...state, lastSeenMs: now });
      return greylisted();
    }
    await this.#store.putTriplet(key, { ...state, lastSeenMs: now, passedMs: now });
    await this.#store.putClient(net, { passes: (client?.passes ?? 0) + 1, lastPassMs: now });
    return { action: 'accept' };
  }

  #isStaticallyWhitelisted(input: GreylistCheck): boolean {
    const o = this.#options;
    if (o.whitelistIps.some((c) => ipInCidr(input.ip, c))) return true;
    const senderDomain = input.sender.includes('@') ? input.sender.slice(input.sender.lastIndexOf('@') + 1).toLowerCase() : '';
    const host = (input.clientHostname ?? '').toLowerCase();
    return o.whitelistDomains.some((d) => {
      const dom = d.toLowerCase().replace(/^\.|\.$/g, '');
      return senderDomain === dom || host === dom || host.endsWith('.' + dom);
    });
  }
}

function greylisted(): GateVerdict {
  // RFC 3463 §3.8: 4.7.1 "delivery not authorized" as a temporary condition, the customary greylist reply.
  return { action: 'tempfail', reply: { code: 451, enhancedCode: '4.7.1', text: 'Greylisted, try again later', rule: 'greylisted' } };
}
