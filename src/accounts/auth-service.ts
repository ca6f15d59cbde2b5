/**
 * The one authenticator behind SMTP submission, IMAP and POP3: PLAIN, LOGIN and SCRAM-SHA-256 against
 * account passwords and app passwords, with brute-force limits and no account enumeration (unknown,
 * disabled and wrong-password attempts get the same answer after the same work).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { setTimeout as sleepMs } from 'node:timers/promises';
import type { Logger } from '../core/log.ts';
import type { AuthLimiter, AuthReservation } from '../policy/auth-limiter.ts';
import { LoginServerExchange } from '../protocols/sasl/login.ts';
import { PlainServerExchange, type PlainCredentials } from '../protocols/sasl/plain.ts';
import { SCRAM_DEFAULT_ITERATIONS } from '../protocols/sasl/scram-crypto.ts';
import { ScramSha256ServerExchange, type ScramCandidate, type ScramLookup } from '../protocols/sasl/scram-sha-256.ts';
import type { AuthIdentity, SaslAuthenticator, SaslContext, SaslExchange, SaslFailureReason, SaslStep } from '../protocols/sasl/types.ts';
import type { AccountRecord, AccountStore, AppPasswordRecord, ScramCredentials } from '../store/types.ts';
import { appPasswordTag, looksLikeAppPassword } from './app-passwords.ts';
import { credentialStamp } from './credential-stamp.ts';
import type { VerifiedCredentialCache } from './verified-cache.ts';
import { DUMMY_HASH, verifyPassword } from './passwords.ts';

export interface AuthServiceOptions {
  accounts: AccountStore;
  limiter: AuthLimiter;
  logger: Logger;
  /** Allow authentication without TLS in this context (e.g. loopback when configured). Default: never. */
  allowPlaintextAuth?: (context: SaslContext) => boolean;
  now?: () => number;
  /** Key for the fake SCRAM salts of unknown users; set it from persistent config so salts stay stable across restarts. */
  scramSecret?: Buffer;
  /**
   * PBKDF2 rounds announced for unknown users, so their SCRAM challenge looks like a new account's
   * (config auth.scram_iterations; default SCRAM_DEFAULT_ITERATIONS).
   */
  scramIterations?: number;
  /** Server nonce for SCRAM (tests). */
  scramNonce?: () => string;
  /** How to wait the limiter's penalty delay (tests may record instead of sleeping). */
  sleep?: (ms: number) => Promise<void>;
  /** The password check (tests wrap it to count calls). Default: passwords.ts verifyPassword. */
  verifyPassword?: (hash: string, password: string) => Promise<boolean>;
  /** Passwords that recently proved right (config auth.verified_cache_ttl); none: every login is checked. */
  verifiedCache?: VerifiedCredentialCache;
  /** Told of every failed login with its protocol (metrics). */
  onFailure?: (protocol: string) => void;
}

// SCRAM first: it never shows the password to the server (RFC 7677 §1)
const MECHANISMS = ['SCRAM-SHA-256', 'PLAIN', 'LOGIN'] as const;
type Mechanism = (typeof MECHANISMS)[number];

interface Attempt {
  context: SaslContext;
  mechanism: Mechanism | 'PASSWORD';
  username: string;
  startedMs: number;
  /** The password was let in by the verified-credentials cache, without a hash check (logged). */
  cached?: boolean;
}

export class AuthService implements SaslAuthenticator {
  readonly #accounts: AccountStore;
  readonly #limiter: AuthLimiter;
  readonly #logger: Logger;
  readonly #onFailure: ((protocol: string) => void) | undefined;
  readonly #allowPlaintextAuth: (context: SaslContext) => boolean;
  readonly #now: () => number;
  readonly #scramSecret: Buffer;
  readonly #scramNonce: (() => string) | undefined;
  readonly #scramIterations: number;
  readonly #sleep: (ms: number) => Promise<void>;
  readonly #verify: (hash: string, password: string) => Promise<boolean>;
  readonly #verifiedCache: VerifiedCredentialCache | null;

  constructor(options: AuthServiceOptions) {
    this.#accounts = options.accounts;
    this.#limiter = options.limiter;
    this.#logger = options.logger;
    this.#onFailure = options.onFailure;
    this.#allowPlaintextAuth = options.allowPlaintextAuth ?? (() => false);
    this.#now = options.now ?? Date.now;
    this.#scramSecret = options.scramSecret ?? randomBytes(32);
    this.#scramNonce = options.scramNonce;
    this.#scramIterations = options.scramIterations ?? SCRAM_DEFAULT_ITERATIONS;
    this.#sleep = options.sleep ?? ((ms) => sleepMs(ms).then(() => undefined));
    this.#verify = options.verifyPassword ?? verifyPassword;
    this.#verifiedCache = options.verifiedCache ?? null;
  }

  mechanisms(context: SaslContext): string[] {
    return this.#isAllowed(context) ? [...MECHANISMS] : [];
  }

  start(mechanism: string, context: SaslContext): SaslExchange | null {
    if (!this.#isAllowed(context)) return null;
    const name = mechanism.toUpperCase();
    switch (name) {
      case 'PLAIN':
        return new PlainServerExchange({ verify: (credentials) => this.#checkCredentials(credentials, context, 'PLAIN') });
      case 'LOGIN':
        return new LoginServerExchange({ verify: (credentials) => this.#checkCredentials(credentials, context, 'LOGIN') });
      case 'SCRAM-SHA-256':
        return this.#startScram(context);
      default:
        return null;
    }
  }

  async checkPassword(username: string, password: string, context: SaslContext): Promise<SaslStep> {
    if (!this.#isAllowed(context)) {
      // RFC 3501 §6.2.3 LOGINDISABLED / RFC 2595 §2: the engines should not even ask; refuse without checking
      this.#log(false, { context, mechanism: 'PASSWORD', username: username.toLowerCase(), startedMs: this.#now() }, 'plaintext-refused');
      return { kind: 'failure', reason: 'invalid-credentials' };
    }
    return this.#checkCredentials({ authzid: '', authcid: username, password }, context, 'PASSWORD');
  }

  #isAllowed(context: SaslContext): boolean {
    return context.isTls || this.#allowPlaintextAuth(context);
  }

  async #checkCredentials(credentials: PlainCredentials, context: SaslContext, mechanism: Attempt['mechanism']): Promise<SaslStep> {
    const attempt: Attempt = { context, mechanism, username: credentials.authcid.toLowerCase(), startedMs: this.#now() };
    // RFC 4616 §2: we do not support acting as someone else, so authzid must be empty or the same user
    if (credentials.authzid !== '' && credentials.authzid.toLowerCase() !== attempt.username) {
      return this.#fail(attempt, 'invalid-credentials', 'authzid-mismatch', { record: true });
    }
    // Reserved before the first await: parallel attempts see each other and at most the cap's number of
    // passwords is checked (the reservation counts as a failure until the password proves right).
    const reservation = await this.#limiter.reserve(context.remoteAddress, attempt.username);
    if (!reservation) return this.#fail(attempt, 'throttled', 'throttled', { record: false });
    // One scrypt check per attempt, however many app passwords the account has (their number must not show
    // in the timing): the candidate's lookup tag finds the one app password it can be, else it is checked
    // against the account password. App passwords made before tags existed (no tag until their next use) are
    // tried as well, and only for a candidate shaped like a generated app password.
    const tag = appPasswordTag(credentials.password);
    let account: AccountRecord | null;
    let tagged: AppPasswordRecord | null = null;
    let untagged: AppPasswordRecord[] = [];
    try {
      account = await this.#accounts.getAccount(attempt.username);
      if (account) tagged = await this.#accounts.findAppPassword(account.id, tag);
      if (account && !tagged && looksLikeAppPassword(credentials.password)) {
        untagged = (await this.#accounts.listAppPasswords(account.id)).filter((app) => app.lookupTag === null);
      }
    } catch (error) {
      reservation.release();
      this.#logger.error({ event: 'auth.store_error', err: error }, 'account lookup failed');
      return this.#fail(attempt, 'temporary', 'store-error', { record: false });
    }
    if (!account) {
      // same work as for a real account: one scrypt verify
      await this.#verify(DUMMY_HASH, credentials.password);
      return this.#fail(attempt, 'invalid-credentials', 'unknown-user', { reservation });
    }
    let identity: AuthIdentity | null = null;
    const credential = credentialStamp(account);
    const appIdentity = (app: AppPasswordRecord): AuthIdentity => ({ accountId: account.id, address: account.address, appPasswordId: app.id, credential });
    const verify = (storedHash: string): Promise<boolean> => this.#verifyRemembered(attempt, credentials.password, storedHash);
    if (tagged) {
      if (await verify(tagged.passwordHash)) identity = appIdentity(tagged);
    } else if (await verify(account.passwordHash)) {
      identity = { accountId: account.id, address: account.address, credential };
    } else {
      for (const app of untagged) {
        if (await verify(app.passwordHash)) {
          identity = appIdentity(app);
          break;
        }
      }
    }
    if (!identity) return this.#fail(attempt, 'invalid-credentials', 'wrong-password', { reservation });
    // checked after the password so a disabled account costs and answers exactly like a wrong password
    if (account.disabled) return this.#fail(attempt, 'invalid-credentials', 'disabled', { reservation });
    return this.#succeed(attempt, identity, reservation, tag);
  }

  /**
   * The password hash check, skipped when the same password proved right against the same stored hash a
   * moment ago. The account is still read for every login, so removal, disabling and a new password are
   * seen at once.
   */
  async #verifyRemembered(attempt: Attempt, password: string, storedHash: string): Promise<boolean> {
    if (this.#verifiedCache?.has(attempt.username, password, storedHash)) {
      attempt.cached = true;
      return true;
    }
    const ok = await this.#verify(storedHash, password);
    if (ok) this.#verifiedCache?.remember(attempt.username, password, storedHash);
    return ok;
  }

  #startScram(context: SaslContext): SaslExchange {
    let attempt: Attempt | null = null;
    // Taken at lookup, settled at completion; an exchange the client abandons in between stays a failure.
    let reservation: AuthReservation | null = null;
    return new ScramSha256ServerExchange({
      nonce: this.#scramNonce,
      hooks: {
        lookup: async ({ username, authzid }): Promise<ScramLookup> => {
          attempt = { context, mechanism: 'SCRAM-SHA-256', username: username.toLowerCase(), startedMs: this.#now() };
          if (authzid !== '' && authzid.toLowerCase() !== attempt.username) {
            const step = await this.#fail(attempt, 'invalid-credentials', 'authzid-mismatch', { record: true });
            return { kind: 'failure', reason: step.kind === 'failure' ? step.reason : 'invalid-credentials' };
          }
          reservation = await this.#limiter.reserve(context.remoteAddress, attempt.username);
          if (!reservation) {
            await this.#fail(attempt, 'throttled', 'throttled', { record: false });
            return { kind: 'failure', reason: 'throttled' };
          }
          try {
            return await this.#scramLookup(attempt.username);
          } catch (error) {
            reservation.release();
            this.#logger.error({ event: 'auth.store_error', err: error }, 'account lookup failed');
            await this.#fail(attempt, 'temporary', 'store-error', { record: false });
            return { kind: 'failure', reason: 'temporary' };
          }
        },
        complete: async (match: ScramCandidate | null): Promise<SaslStep> => {
          if (!attempt) return { kind: 'failure', reason: 'malformed' };
          if (!match) return this.#fail(attempt, 'invalid-credentials', 'wrong-password', reservation ? { reservation } : { record: true });
          return this.#succeed(attempt, match.identity, reservation);
        },
      },
    });
  }

  /**
   * SCRAM sends one salt per user, so only credential sets sharing it can match: the account's own, and
   * app passwords derived with the account's salt. Unknown users, disabled accounts and accounts without
   * SCRAM credentials get a salt too (fake ones derived from a server secret), but nothing can match.
   */
  async #scramLookup(username: string): Promise<ScramLookup> {
    const account = await this.#accounts.getAccount(username);
    const fake = this.#fakeScramParams(username);
    if (!account) return { kind: 'proceed', ...fake, candidates: [] };
    const appPasswords = await this.#accounts.listAppPasswords(account.id);
    const sets: { scram: ScramCredentials; identity: AuthIdentity }[] = [];
    const credential = credentialStamp(account);
    if (account.scram) sets.push({ scram: account.scram, identity: { accountId: account.id, address: account.address, credential } });
    for (const app of appPasswords) {
      if (app.scram) sets.push({ scram: app.scram, identity: { accountId: account.id, address: account.address, appPasswordId: app.id, credential } });
    }
    const first = sets[0];
    if (!first) return { kind: 'proceed', ...fake, candidates: [] };
    const { salt, iterations } = first.scram;
    const candidates = account.disabled
      ? []
      : sets
          .filter((s) => s.scram.salt === salt && s.scram.iterations === iterations)
          .map((s) => ({ storedKey: Buffer.from(s.scram.storedKey, 'base64'), serverKey: Buffer.from(s.scram.serverKey, 'base64'), identity: s.identity }));
    return { kind: 'proceed', salt: Buffer.from(salt, 'base64'), iterations, candidates };
  }

  /** Deterministic per user name so repeated probes see a stable salt, like a real account's. */
  #fakeScramParams(username: string): { salt: Buffer; iterations: number } {
    const salt = createHmac('sha256', this.#scramSecret).update(`scram-salt:${username}`).digest().subarray(0, 16);
    return { salt, iterations: this.#scramIterations };
  }

  /** `lookupTag`: the candidate's tag, stored on an app password that has none yet (made before tags). */
  async #succeed(attempt: Attempt, identity: AuthIdentity, reservation: AuthReservation | null, lookupTag?: string): Promise<SaslStep> {
    if (reservation) reservation.succeeded();
    else this.#limiter.recordSuccess(attempt.context.remoteAddress, attempt.username);
    if (identity.appPasswordId !== undefined) {
      try {
        await this.#accounts.touchAppPassword(identity.appPasswordId, lookupTag);
      } catch (error) {
        // the login itself is fine; last-used is informational
        this.#logger.warn({ event: 'auth.touch_failed', err: error }, 'recording app password use failed');
      }
    }
    this.#log(true, attempt, undefined, identity);
    return { kind: 'success', identity };
  }

  /** `record`: count a failure now; `reservation`: the failure was counted when the attempt began. */
  async #fail(attempt: Attempt, reason: SaslFailureReason, logReason: string, options: { record: boolean } | { reservation: AuthReservation }): Promise<SaslStep> {
    if ('reservation' in options) options.reservation.failed();
    else if (options.record) this.#limiter.recordFailure(attempt.context.remoteAddress, attempt.username);
    this.#log(false, attempt, logReason);
    this.#onFailure?.(attempt.context.protocol);
    if (reason !== 'temporary' && this.#limiter.penaltyDelayMs > 0) await this.#sleep(this.#limiter.penaltyDelayMs);
    return { kind: 'failure', reason };
  }

  #log(success: boolean, attempt: Attempt, reason?: string, identity?: AuthIdentity): void {
    const fields = {
      event: success ? 'auth.success' : 'auth.failed',
      protocol: attempt.context.protocol,
      ip: attempt.context.remoteAddress,
      username: attempt.username,
      mechanism: attempt.mechanism,
      reason,
      appPasswordId: identity?.appPasswordId,
      cached: attempt.cached,
      ms: this.#now() - attempt.startedMs,
    };
    this.#logger.info(fields, fields.event);
  }
}
