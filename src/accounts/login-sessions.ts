/**
 * The one listing of an account's login sessions and tokens, for the webmail's account page (scope `session`)
 * and the admin API (scope `admin`: admin UI sessions and API tokens): unexpired, newest first, each named by
 * the first 16 hex digits of its token's hash, and ended by that name within its own scope only.
 */
import type { AccessTokenScope, AccessTokenStore } from '../store/types.ts';

export interface LoginSession {
  /** The first 16 hex digits of the token's hash: enough to end it, nothing of the token itself. */
  id: string;
  label: string;
  createdAt: Date;
  expiresAt: Date;
}

/** The public name of a session: the first 16 hex digits of its token's hash. */
export function sessionId(tokenHash: string): string {
  return tokenHash.slice(0, 16);
}

export class LoginSessions {
  readonly #store: Pick<AccessTokenStore, 'listAccessTokens' | 'removeAccessToken'>;
  readonly #now: () => number;

  constructor(options: { store: Pick<AccessTokenStore, 'listAccessTokens' | 'removeAccessToken'>; now?: () => number }) {
    this.#store = options.store;
    this.#now = options.now ?? Date.now;
  }

  async list(accountId: number, scope: AccessTokenScope): Promise<LoginSession[]> {
    const now = this.#now();
    return (await this.#store.listAccessTokens(accountId))
      .filter((r) => r.scope === scope && r.expiresAt.getTime() >= now)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime())
      .map((r) => ({ id: sessionId(r.tokenHash), label: r.label, createdAt: r.createdAt, expiresAt: r.expiresAt }));
  }

  /** Ends one session of the scope by its id; false when the account has none by that id there. */
  async end(accountId: number, scope: AccessTokenScope, id: string): Promise<boolean> {
    if (!/^[0-9a-f]{16}$/.test(id)) return false;
    const record = (await this.#store.listAccessTokens(accountId)).find((r) => r.scope === scope && sessionId(r.tokenHash) === id);
    return record !== undefined && this.#store.removeAccessToken(accountId, record.tokenHash);
  }
}
