/**
 * Sender Rewriting Scheme for forwarded mail (Shevek's SRS paper, as implemented by libsrs2/postsrsd):
 * SRS0=HHHH=TT=domain=local@forwarder for a first hop, SRS1=HHHH=firsthop==HHHH=TT=domain=local@forwarder
 * when we forward an already rewritten address; bounces to those addresses are reversed to the original.
 * HHHH is a truncated HMAC-SHA1 so nobody can use us as an open bounce relay; TT is the day, base32, mod 1024.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Clock } from './types.ts';

const BASE32 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZ234567';
const TIME_SLOTS = 1024; // 2^10 days, two base32 characters
const DAY_MS = 86_400_000;

export interface SrsOptions {
  /** Current secret; signs new addresses. */
  secret: string;
  /** Older secrets still accepted when reversing (secret rotation). */
  previousSecrets?: string[];
  /** Our forwarding domain: rewritten addresses are @this domain. */
  domain: string;
  /** Bounces to addresses older than this are refused (libsrs2 default: 21 days). */
  maxAgeDays?: number;
  hashLength?: number;
  now?: Clock;
}

export type SrsReverseResult =
  | { ok: true; address: string }
  | { ok: false; reason: 'not-srs' | 'bad-syntax' | 'bad-hash' | 'expired' };

export class Srs {
  readonly #o: Required<Omit<SrsOptions, 'now'>> & { now: Clock };

  constructor(options: SrsOptions) {
    if (!options.secret) throw new Error('SRS needs a secret');
    this.#o = { previousSecrets: [], maxAgeDays: 21, hashLength: 4, now: Date.now, ...options, domain: options.domain.toLowerCase() };
  }

  /**
   * The envelope sender to use when forwarding mail from `sender`. The null reverse-path stays null
   * (RFC 5321 §4.5.5: bounces are never rewritten), and addresses of our own domain are left alone.
   */
  forward(sender: string): string {
    const at = sender.lastIndexOf('@');
    if (sender === '' || at <= 0) return sender;
    const local = sender.slice(0, at);
    const domain = sender.slice(at + 1);
    if (domain.toLowerCase() === this.#o.domain) return sender;
    const srs0 = /^SRS0([=+-])(.*)$/i.exec(local);
    if (srs0) {
      // Rewriting a first hop's SRS0 address: keep its domain so the bounce can go back there.
      const opaque = srs0[1]! + srs0[2]!;
      return `SRS1=${this.#hash(this.#o.secret, [domain, opaque])}=${domain}=${opaque}@${this.#o.domain}`;
    }
    const srs1 = /^SRS1[=+-]([^=]+)=([^=]+)=(.*)$/i.exec(local);
    if (srs1) {
      const [, , firstHop, rest] = srs1 as unknown as [string, string, string, string];
      return `SRS1=${this.#hash(this.#o.secret, [firstHop, rest])}=${firstHop}=${rest}@${this.#o.domain}`;
    }
    const tt = this.#timestamp();
    return `SRS0=${this.#hash(this.#o.secret, [tt, domain, local])}=${tt}=${domain}=${local}@${this.#o.domain}`;
  }

  /** The address a bounce to `address` must go to, after checking its hash and age. */
  reverse(address: string): SrsReverseResult {
    const at = address.lastIndexOf('@');
    const local = at === -1 ? address : address.slice(0, at);
    if (!/^SRS[01][=+-]/i.test(local)) return { ok: false, reason: 'not-srs' };
    if (/^SRS0/i.test(local)) {
      const m = /^SRS0[=+-]([^=]+)=([^=]{2})=([^=]+)=(.+)$/i.exec(local);
      if (!m) return { ok: false, reason: 'bad-syntax' };
      const [, hash, tt, domain, user] = m as unknown as [string, string, string, string, string];
      if (!this.#checkHash(hash, [tt, domain, user])) return { ok: false, reason: 'bad-hash' };
      if (!this.#checkTimestamp(tt)) return { ok: false, reason: 'expired' };
      return { ok: true, address: `${user}@${domain}` };
    }
    const m = /^SRS1[=+-]([^=]+)=([^=]+)=(.+)$/i.exec(local);
    if (!m) return { ok: false, reason: 'bad-syntax' };
    const [, hash, firstHop, rest] = m as unknown as [string, string, string, string];
    if (!this.#checkHash(hash, [firstHop, rest])) return { ok: false, reason: 'bad-hash' };
    // The first hop's SRS0 address: rest begins with its separator character.
    return { ok: true, address: `SRS0${rest}@${firstHop}` };
  }

  #timestamp(): string {
    const day = Math.floor(this.#o.now() / DAY_MS) % TIME_SLOTS;
    return BASE32[day >> 5]! + BASE32[day & 31]!;
  }

  #checkTimestamp(tt: string): boolean {
    const hi = BASE32.indexOf(tt[0]!.toUpperCase());
    const lo = BASE32.indexOf(tt[1]!.toUpperCase());
    if (hi < 0 || lo < 0) return false;
    const then = (hi << 5) | lo;
    const today = Math.floor(this.#o.now() / DAY_MS) % TIME_SLOTS;
    const age = (today - then + TIME_SLOTS) % TIME_SLOTS;
    return age <= this.#o.maxAgeDays;
  }

  #hash(secret: string, parts: string[]): string {
    // Case-insensitive: relays may change the case of local parts and domains on the way back.
    const mac = createHmac('sha1', secret);
    for (const p of parts) mac.update(p.toLowerCase());
    return mac.digest('base64').slice(0, this.#o.hashLength);
  }

  #checkHash(hash: string, parts: string[]): boolean {
    const given = Buffer.from(hash.toLowerCase());
    return [this.#o.secret, ...this.#o.previousSecrets].some((s) => {
      const want = Buffer.from(this.#hash(s, parts).toLowerCase());
      return want.length === given.length && timingSafeEqual(want, given);
    });
  }
}
