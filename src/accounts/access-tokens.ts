/**
 * Bearer tokens of login sessions (RFC 6750): a login (the webmail's form) issues a random token, the store
 * keeps only its SHA-256, and every request checks it against the account as it is now, so a removed or
 * disabled account, a changed password or a removed app password ends the session at once.
 */
import { createHash, randomBytes } from 'node:crypto';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import type { AccessTokenRecord, AccessTokenScope, AccessTokenStore, AccountStore } from '../store/types.ts';
import { credentialStamp, loginProblem } from './credential-stamp.ts';
import { LoginSessions } from './login-sessions.ts';

export type AccessTokenDeps = AccessTokenStore & Pick<AccountStore, 'getAccountById' | 'listAppPasswords'>;

/** 256 random bits: a token cannot be guessed, so a fast hash is enough to store it. */
export function hashToken(token: string): string {
  return createHash('sha256').update(token).digest('hex');
}

export class AccessTokens {
  private readonly store: AccessTokenDeps;
  private readonly lifetimeMs: number;
  private readonly now: () => number;
  /** The account's sessions and tokens by scope: the webmail's account page and the admin API list and end them here. */
  readonly sessions: LoginSessions;

  constructor(options: { store: AccessTokenDeps; lifetimeMs: number; now?: () => number }) {
    this.store = options.store;
    this.lifetimeMs = options.lifetimeMs;
    this.now = options.now ?? Date.now;
    this.sessions = new LoginSessions({ store: options.store, now: this.now });
  }

  /**
   * A new token for a login that just proved itself; the token is returned once and never stored. `scope`
   * (default `session`, the JMAP API) and `lifetimeMs` (default the configured lifetime) for admin tokens.
   */
  async issue(identity: AuthIdentity, label: string, options: { scope?: AccessTokenScope; lifetimeMs?: number } = {}): Promise<{ token: string; record: AccessTokenRecord }> {
    const account = await this.store.getAccountById(identity.accountId);
    if (!account || account.disabled) throw new Error('cannot issue a token for an account that cannot log in');
    const token = randomBytes(32).toString('base64url');
    const created = this.now();
    const record: AccessTokenRecord = {
      tokenHash: hashToken(token),
      accountId: account.id,
      label: label.slice(0, 200),
      credential: identity.credential ?? credentialStamp(account),
      appPasswordId: identity.appPasswordId ?? null,
      createdAt: new Date(created),
      expiresAt: new Date(created + (options.lifetimeMs ?? this.lifetimeMs)),
      scope: options.scope ?? 'session',
    };
    await this.store.addAccessToken(record);
    return { token, record };
  }

  /**
   * The login a token stands for, or null: unknown, expired, of another scope (an admin token does not open
   * JMAP, a webmail session does not open the admin API), or no longer valid for its account.
   */
  async verify(token: string, scope: AccessTokenScope = 'session'): Promise<AuthIdentity | null> {
    if (!/^[A-Za-z0-9_-]{20,200}$/.test(token)) return null;
    const record = await this.store.getAccessToken(hashToken(token));
    if (!record || record.scope !== scope || record.expiresAt.getTime() < this.now()) return null;
    const account = await this.store.getAccountById(record.accountId);
    const identity: AuthIdentity = { accountId: record.accountId, address: account?.address ?? '', credential: record.credential };
    if (record.appPasswordId !== null) identity.appPasswordId = record.appPasswordId;
    identity.accessToken = record.tokenHash;
    if (loginProblem(identity, account) !== null) return null;
    if (record.appPasswordId !== null && !(await this.store.listAppPasswords(record.accountId)).some((a) => a.id === record.appPasswordId)) return null;
    return identity;
  }

  /** Ends a session (logout): false when the token is not one of the account's. */
  async revoke(accountId: number, token: string): Promise<boolean> {
    return this.store.removeAccessToken(accountId, hashToken(token));
  }

  async removeExpired(): Promise<number> {
    return this.store.removeExpiredAccessTokens(new Date(this.now()));
  }
}
