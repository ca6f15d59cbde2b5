/**
 * Brute-force limits for every password check (SMTP AUTH, IMAP, POP3): failures are counted per client
 * IP and per account in a sliding window, in bounded maps (oldest keys evicted first).
 *
 * Choice (issue 8: "password checks per IP capped, the real user from another IP still logs in"):
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
 * one attempt at a time (the owner's parallel logins then go one after the other, each success clearing the way).
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
  now?: () => number;
}

export type AuthLimitVerdict = 'ok' | 'throttled';

interface IpFailure {
  atMs: number;
  username: string;
}

interface AccountFailure {
  atMs: number;
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

  constructor(options: AuthLimiterOptions = {}) {
    this.maxFailuresPerIp = options.maxFailuresPerIp ?? 10;
    this.maxFailuresPerAccount = options.maxFailuresPerAccount ?? 20;
    this.windowMs = options.windowMs ?? 15 * 60_000;
    this.penaltyDelayMs = options.penaltyDelayMs ?? 2000;
    this.#maxTrackedKeys = options.maxTrackedKeys ?? 100_000;
    this.#now = options.now ?? Date.now;
  }

  check(ip: string, username: string): AuthLimitVerdict {
    const ipKey = normalizeIp(ip);
    const user = username.toLowerCase();
    const ipFailures = this.#ipFailures(ipKey);
    if (ipFailures.length >= this.maxFailuresPerIp) return 'throttled';
    const accountFailures = this.#accountFailures(user);
    if (accountFailures.length >= this.maxFailuresPerAccount && ipFailures.some((f) => f.username === user)) return 'throttled';
    return 'ok';
  }

  /**
   * Lets one attempt through, counting it as a failure at once, or null when the IP or account is over its
   * limit. Every caller settles the reservation (failed, succeeded or release) once its check is done.
   */
  reserve(ip: string, username: string): AuthReservation | null {
    if (this.check(ip, username) === 'throttled') return null;
    const { ipEntry, accountEntry } = this.#addFailure(ip, username);
    let settled = false;
    const takeBack = (): void => {
      this.#remove(this.#byIp, normalizeIp(ip), ipEntry);
      this.#remove(this.#byAccount, username.toLowerCase(), accountEntry);
    };
    return {
      failed: () => {
        settled = true;
      },
      succeeded: () => {
        if (settled) return;
        settled = true;
        takeBack();
        this.recordSuccess(ip, username);
      },
      release: () => {
        if (settled) return;
        settled = true;
        takeBack();
      },
    };
  }

  recordFailure(ip: string, username: string): void {
    this.#addFailure(ip, username);
  }

  #addFailure(ip: string, username: string): { ipEntry: IpFailure; accountEntry: AccountFailure } {
    const ipKey = normalizeIp(ip);
    const user = username.toLowerCase();
    const now = this.#now();
    const ipEntry: IpFailure = { atMs: now, username: user };
    const accountEntry: AccountFailure = { atMs: now };
    const ipFailures = this.#ipFailures(ipKey);
    ipFailures.push(ipEntry);
    // only the newest `max` entries can ever matter for the verdict
    if (ipFailures.length > this.maxFailuresPerIp) ipFailures.splice(0, ipFailures.length - this.maxFailuresPerIp);
    this.#put(this.#byIp, ipKey, ipFailures);
    const accountFailures = this.#accountFailures(user);
    accountFailures.push(accountEntry);
    if (accountFailures.length > this.maxFailuresPerAccount) accountFailures.splice(0, accountFailures.length - this.maxFailuresPerAccount);
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

  recordSuccess(ip: string, username: string): void {
    const ipKey = normalizeIp(ip);
    const user = username.toLowerCase();
    const ipFailures = this.#byIp.get(ipKey);
    if (!ipFailures) return;
    const kept = ipFailures.filter((f) => f.username !== user);
    if (kept.length === 0) this.#byIp.delete(ipKey);
    else this.#byIp.set(ipKey, kept);
  }

  /** For tests and diagnostics: tracked keys per map. */
  get trackedKeys(): { ips: number; accounts: number } {
    return { ips: this.#byIp.size, accounts: this.#byAccount.size };
  }

  #ipFailures(ipKey: string): IpFailure[] {
    const list = this.#byIp.get(ipKey);
    if (!list) return [];
    const cutoff = this.#now() - this.windowMs;
    const live = list.filter((f) => f.atMs > cutoff);
    if (live.length === 0) this.#byIp.delete(ipKey);
    return live;
  }

  #accountFailures(user: string): AccountFailure[] {
    const list = this.#byAccount.get(user);
    if (!list) return [];
    const cutoff = this.#now() - this.windowMs;
    const live = list.filter((f) => f.atMs > cutoff);
    if (live.length === 0) this.#byAccount.delete(user);
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
