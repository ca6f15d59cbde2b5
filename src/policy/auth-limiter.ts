/**
 * Brute-force limits for every password check (SMTP AUTH, IMAP, POP3): failures are counted per client
 * IP and per account in a sliding window, in bounded maps (oldest keys evicted first).
 *
 * Choice (password checks per IP are capped, yet the real user from another IP still logs in):
 * - per IP, a hard limit: after `maxFailuresPerIp` failures in the window, every attempt from that IP is
 *   refused as 'throttled' without looking at the password;
 * - per account, a lockout that applies only to IPs that themselves failed on that account in the window.
 *   A distributed attacker gets at most one guess per fresh IP once the account is over its limit, while
 *   the owner, logging in from an IP with no failures on the account, is never locked out;
 * - a success from an IP forgets that IP's failures for that account (the user mistyped), nothing else.
 * Failed and throttled attempts are answered after `penaltyDelayMs`; successes are never delayed.
 * An attempt counts as a failure from the moment it is let through (`reserve`), before its password is
 * checked; a success or a store error takes it back. So parallel attempts cannot all pass the check while
 * the first password checks run: at most the cap's number of passwords is ever checked. Likewise an attempt
 * in flight counts as the IP having tried the account, so against an account over its limit a fresh IP has
 * one attempt at a time. An attempt that is over the limit only because of attempts still in flight is
 * not refused: it waits (at most `maxWaitMs`) for one of them to settle and is judged again, so many
 * parallel logins from one address (a client opening many connections, a NAT, a webmail server) go one
 * after the other as each success clears the way, while wrong passwords still stop at the cap.
 */
import { normalizeIp } from './ip-prefix.ts';

export interface AuthLimiterOptions {
  maxFailuresPerIp?: number;
  maxFailuresPerAccount?: number;
  windowMs?: number;
  /** Delay before answering a failed or throttled attempt. */
  penaltyDelayMs?: number;
  /** Bound on tracked IPs and on tracked account names (each map). */
  maxTrackedKeys?: number;
  /** How long an attempt held back by attempts in flight waits for one of them to settle. */
  maxWaitMs?: number;
  /** Attempts waiting at once, across all addresses; one more is refused as throttled. */
  maxWaiters?: number;
  now?: () => number;
  /**
   * Called when a failure is counted for good, or when a success cleared failures: how nodes sharing one
   * store tell each other (their limiters take it in with `applyRemote`), so the caps hold across nodes.
   */
  onSettled?: (event: AuthSettlement) => void;
}

/** A counted failure, or a success that cleared an IP's failures on an account, as nodes exchange them. */
export interface AuthSettlement {
  ip: string;
  username: string;
  outcome: 'failed' | 'succeeded';
  atMs: number;
}

export type AuthLimitVerdict = 'ok' | 'throttled';

/** `wait`: over the limit only because of attempts still in flight. */
type ReserveVerdict = AuthLimitVerdict | 'wait';

interface IpFailure {
  atMs: number;
  username: string;
  /** A reservation not yet settled: it counts, but may still be taken back. */
  inFlight: boolean;
}

interface AccountFailure {
  atMs: number;
  inFlight: boolean;
}

/** One attempt let through by `reserve`: it already counts as a failure until it is settled otherwise. */
export interface AuthReservation {
  /** The password was wrong (or the attempt failed for another counted reason): it stays a failure. */
  failed(): void;
  /** The password was right: the reservation is taken back and the IP's failures for the account forgotten. */
  succeeded(): void;
  /** The attempt never checked a password (store error): the reservation is taken back. */
  release(): void;
}

export class AuthLimiter {
  readonly maxFailuresPerIp: number;
  readonly maxFailuresPerAccount: number;
  readonly windowMs: number;
  readonly penaltyDelayMs: number;
  readonly #maxTrackedKeys: number;
  readonly #now: () => number;
  readonly #byIp = new Map<string, IpFailure[]>();
  readonly #byAccount = new Map<string, AccountFailure[]>();
  readonly #maxWaitMs: number;
  readonly #maxWaiters: number;
  readonly #onSettled: ((event: AuthSettlement) => void) | undefined;
  /** Attempts waiting for a reservation in flight to settle; each settlement wakes them to be judged again. */
  readonly #waiters = new Set<() => void>();

  constructor(options: AuthLimiterOptions = {}) {
    this.maxFailuresPerIp = options.maxFailuresPerIp ?? 10;
    this.maxFailuresPerAccount = options.maxFailuresPerAccount ?? 20;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.penaltyDelayMs = options.penaltyDelayMs ?? 2000;
    this.#maxTrackedKeys = options.maxTrackedKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
    this.#maxWaitMs = options.maxWaitMs ?? 30_000;
    this.#maxWaiters = options.maxWaiters ?? 10_000;
    this.#onSettled = options.onSettled;
  }

  /** A failure counted or a success seen by another node on the same store. */
  applyRemote(event: AuthSettlement): void {
    if (event.atMs <= this.#now() - this.windowMs) return;
    if (event.outcome === 'failed') this.#addFailure(event.ip, event.username, { inFlight: false, atMs: event.atMs });
    else this.recordSuccess(event.ip, event.username, { remote: true });
    this.#wakeWaiters();
  }

  check(ip: string, username: string): AuthLimitVerdict {
    return this.#judge(ip, username) === 'ok' ? 'ok' : 'throttled';
  }

  #judge(ip: string, username: string): ReserveVerdict {
    const ipKey = normalizeIp(ip);
    const user = username.toLowerCase();
    const ipFailures = this.#ipFailures(ipKey);
    const accountFailures = this.#accountFailures(user);
    const settledIp = ipFailures.filter((f) => !f.inFlight);
    if (settledIp.length >= this.maxFailuresPerIp) return 'throttled';
    const accountOver = (failures: AccountFailure[], ipTried: IpFailure[]): boolean =>
      failures.length >= this.maxFailuresPerAccount && ipTried.some((f) => f.username === user);
    if (accountOver(accountFailures.filter((f) => !f.inFlight), settledIp)) return 'throttled';
    if (ipFailures.length >= this.maxFailuresPerIp || accountOver(accountFailures, ipFailures)) return 'wait';
    return 'ok';
  }

  /**
   * Lets one attempt through, counting it as a failure at once, or null when the IP or account is over its
   * limit. An attempt held back only by attempts in flight waits for them (see the module comment); when
   * there are none it is answered without waiting, so callers that take the reservation before their first
   * await still see each other. Every caller settles the reservation (failed, succeeded or release) once its
   * check is done.
   */
  async reserve(ip: string, username: string): Promise<AuthReservation | null> {
    const deadline = this.#now() + this.#maxWaitMs;
    for (;;) {
      const verdict = this.#judge(ip, username);
      if (verdict === 'ok') return this.#take(ip, username);
      if (verdict === 'throttled' || this.#waiters.size >= this.#maxWaiters) return null;
      const leftMs = deadline - this.#now();
      if (leftMs <= 0) return null;
      await this.#waitForSettlement(leftMs);
    }
  }

  #waitForSettlement(timeoutMs: number): Promise<void> {
    return new Promise((resolve) => {
      const wake = (): void => {
        clearTimeout(timer);
        this.#waiters.delete(wake);
        resolve();
      };
      const timer = setTimeout(wake, timeoutMs);
      this.#waiters.add(wake);
    });
  }

  #wakeWaiters(): void {
    for (const wake of [...this.#waiters]) wake();
  }

  #take(ip: string, username: string): AuthReservation {
    const { ipEntry, accountEntry } = this.#addFailure(ip, username, { inFlight: true });
    let settled = false;
    const settle = (keep: boolean): boolean => {
      if (settled) return false;
      settled = true;
      if (keep) {
        ipEntry.inFlight = false;
        accountEntry.inFlight = false;
      } else {
        this.#remove(this.#byIp, normalizeIp(ip), ipEntry);
        this.#remove(this.#byAccount, username.toLowerCase(), accountEntry);
      }
      return true;
    };
    return {
      failed: () => {
        if (!settle(true)) return;
        this.#onSettled?.({ ip, username, outcome: 'failed', atMs: ipEntry.atMs });
        this.#wakeWaiters();
      },
      succeeded: () => {
        if (!settle(false)) return;
        this.recordSuccess(ip, username);
        this.#wakeWaiters();
      },
      release: () => {
        if (settle(false)) this.#wakeWaiters();
      },
    };
  }

  recordFailure(ip: string, username: string): void {
    const { ipEntry } = this.#addFailure(ip, username, { inFlight: false });
    this.#onSettled?.({ ip, username, outcome: 'failed', atMs: ipEntry.atMs });
  }

  #addFailure(ip: string, username: string, options: { inFlight: boolean; atMs?: number }): { ipEntry: IpFailure; accountEntry: AccountFailure } {
    const ipKey = normalizeIp(ip);
    const user = username.toLowerCase();
    const now = options.atMs ?? this.#now();
    const ipEntry: IpFailure = { atMs: now, username: user, inFlight: options.inFlight };
    const accountEntry: AccountFailure = { atMs: now, inFlight: options.inFlight };
    const ipFailures = this.#ipFailures(ipKey);
    ipFailures.push(ipEntry);
    // only the newest `max` settled entries can ever matter for the verdict (entries in flight are kept)
    trimSettled(ipFailures, this.maxFailuresPerIp);
    this.#put(this.#byIp, ipKey, ipFailures);
    const accountFailures = this.#accountFailures(user);
    accountFailures.push(accountEntry);
    trimSettled(accountFailures, this.maxFailuresPerAccount);
    this.#put(this.#byAccount, user, accountFailures);
    return { ipEntry, accountEntry };
  }

  #remove<V>(map: Map<string, V[]>, key: string, entry: V): void {
    const list = map.get(key);
    if (!list) return;
    const kept = list.filter((e) => e !== entry);
    if (kept.length === 0) map.delete(key);
    else map.set(key, kept);
  }

  recordSuccess(ip: string, username: string, options: { remote?: boolean } = {}): void {
    const ipKey = normalizeIp(ip);
    const user = username.toLowerCase();
    const ipFailures = this.#byIp.get(ipKey);
    if (!ipFailures) return;
    const kept = ipFailures.filter((f) => f.username !== user || f.inFlight);
    // Only a success that cleared something is worth telling the other nodes (they hold the same failures).
    if (!options.remote && kept.length < ipFailures.length) this.#onSettled?.({ ip, username, outcome: 'succeeded', atMs: this.#now() });
    if (kept.length === 0) this.#byIp.delete(ipKey);
    else this.#byIp.set(ipKey, kept);
  }

  /** For tests and diagnostics: tracked keys per map. */
  get trackedKeys(): { ips: number; accounts: number } {
    return { ips: this.#byIp.size, accounts: this.#byAccount.size };
  }

  #ipFailures(ipKey: string): IpFailure[] {
    return this.#inWindow(this.#byIp, ipKey);
  }

  #accountFailures(user: string): AccountFailure[] {
    return this.#inWindow(this.#byAccount, user);
  }

  /** The failures under `key` still inside the window; a key with none left is forgotten. */
  #inWindow<T extends { atMs: number }>(map: Map<string, T[]>, key: string): T[] {
    const list = map.get(key);
    if (!list) return [];
    const cutoff = this.#now() - this.windowMs;
    const live = list.filter((f) => f.atMs > cutoff);
    if (live.length === 0) map.delete(key);
    return live;
  }

  /** Re-inserts so Map order is least recently failed first; evicts the oldest beyond the cap. */
  #put<V>(map: Map<string, V>, key: string, value: V): void {
    map.delete(key);
    map.set(key, value);
    while (map.size > this.#maxTrackedKeys) {
      const oldest = map.keys().next().value as string;
      map.delete(oldest);
    }
  }
}

/** Drops the oldest settled entries beyond `max`; entries in flight stay until their attempt settles. */
function trimSettled(list: { inFlight: boolean }[], max: number): void {
  let excess = list.filter((e) => !e.inFlight).length - max;
  for (let i = 0; excess > 0 && i < list.length; ) {
    if (!list[i]!.inFlight) {
      list.splice(i, 1);
      excess--;
    } else i++;
  }
}
