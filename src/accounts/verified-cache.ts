/**
 * A short-lived memory of passwords that recently proved right, so a client that reconnects often (IMAP
 * clients open several connections, phones reconnect on every wake-up) does not pay the password hash at
 * each login. An entry is keyed by a keyed hash of user name and password (the password itself is never
 * kept) and remembers the stored hash it was checked against: a changed password or a removed app
 * password no longer matches, so nothing needs to be told of the change. Only successes are remembered;
 * every wrong password still costs a full check, and the brute-force limits apply before the cache.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export interface VerifiedCacheOptions {
  /** How long a proven password is trusted without a new hash check; 0 turns the cache off. */
  ttlMs: number;
  /** Entries at most; the oldest go first. */
  maxEntries?: number;
  now?: () => number;
}

interface Entry {
  /** The stored hash the password was verified against. */
  storedHash: string;
  expiresAtMs: number;
}

export class VerifiedCredentialCache {
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  /** Per process: a memory dump holds no key that could test guesses offline against another process. */
  readonly #key = randomBytes(32);
  readonly #entries = new Map<string, Entry>();

  constructor(options: VerifiedCacheOptions) {
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** True when this user name and password were verified against `storedHash` within the time to live. */
  has(username: string, password: string, storedHash: string): boolean {
    if (this.#ttlMs <= 0) return false;
    const id = this.#id(username, password);
    const entry = this.#entries.get(id);
    if (!entry) return false;
    if (entry.expiresAtMs <= this.#now()) {
      this.#entries.delete(id);
      return false;
    }
    return sameText(entry.storedHash, storedHash);
  }

  remember(username: string, password: string, storedHash: string): void {
    if (this.#ttlMs <= 0) return;
    const id = this.#id(username, password);
    this.#entries.delete(id);
    this.#entries.set(id, { storedHash, expiresAtMs: this.#now() + this.#ttlMs });
    while (this.#entries.size > this.#maxEntries) this.#entries.delete(this.#entries.keys().next().value as string);
  }

  get size(): number {
    return this.#entries.size;
  }

  #id(username: string, password: string): string {
    return createHmac('sha256', this.#key).update(username.toLowerCase()).update('\0').update(password).digest('base64');
  }
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
