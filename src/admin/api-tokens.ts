/**
 * Per-admin API tokens for the admin HTTP API: an admin makes, lists and revokes their own. A token is
 * random, shown once, stored as its SHA-256 only (accounts/access-tokens.ts), expires, opens the admin API
 * and nothing else, and stops working when its account's password changes or the account is disabled.
 */
import { hashToken } from '../accounts/access-tokens.ts';
import { sessionId, type LoginSession } from '../accounts/login-sessions.ts';
import type { Actor, Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';

/** Labels of API tokens start with this; admin UI login sessions have the other admin-scope labels. */
export const API_TOKEN_LABEL = 'api: ';
export const ADMIN_SESSION_LABEL = 'admin session: ';

const DAY_MS = 86_400_000;
export const MAX_TOKEN_DAYS = 366;

export interface ApiTokenSummary {
  /** The first 16 hex digits of the token's hash: names it for revoking, reveals nothing of it. */
  id: string;
  label: string;
  kind: 'api' | 'session';
  createdAt: Date;
  expiresAt: Date;
}

const summary = (r: LoginSession): ApiTokenSummary => ({
  id: r.id,
  label: r.label.startsWith(API_TOKEN_LABEL) ? r.label.slice(API_TOKEN_LABEL.length) : r.label.replace(ADMIN_SESSION_LABEL, ''),
  kind: r.label.startsWith(API_TOKEN_LABEL) ? 'api' : 'session',
  createdAt: r.createdAt,
  expiresAt: r.expiresAt,
});

export function apiTokenService(ctx: AdminContext) {
  const { store, gate } = ctx;

  function tokens() {
    if (!ctx.tokens) throw new AdminError('invalid', 'API tokens are made through the running server\'s admin API');
    return ctx.tokens;
  }

  /** The acting admin's account: tokens belong to an account, so the local operator has none. */
  async function self(principal: Principal, action: string): Promise<{ actor: Actor; accountId: number }> {
    const actor = await gate.actor(principal);
    if (principal.kind !== 'account') return gate.deny(actor, action, 'tokens belong to an admin account');
    gate.requireAdmin(actor, action);
    return { actor, accountId: principal.accountId };
  }

  return {
    /** A new token, returned once. */
    async create(principal: Principal, input: { label: string; expiresInDays: number }): Promise<ApiTokenSummary & { token: string }> {
      const label = input.label.trim();
      if (label === '' || label.length > 100) throw new AdminError('invalid', 'the label must be 1 to 100 characters');
      if (!(Number.isInteger(input.expiresInDays) && input.expiresInDays >= 1 && input.expiresInDays <= MAX_TOKEN_DAYS)) throw new AdminError('invalid', `expiresInDays must be a whole number from 1 to ${MAX_TOKEN_DAYS}`);
      const { actor, accountId } = await self(principal, 'make API tokens');
      const { token, record } = await tokens().issue({ accountId, address: actor.address ?? '' }, API_TOKEN_LABEL + label, { scope: 'admin', lifetimeMs: input.expiresInDays * DAY_MS });
      const id = sessionId(record.tokenHash);
      gate.done(actor, `make API token ${id} (${label})`);
      return { ...summary({ id, label: record.label, createdAt: record.createdAt, expiresAt: record.expiresAt }), token };
    },

    /** The acting admin's tokens and admin sessions that have not expired, newest first. */
    async list(principal: Principal): Promise<ApiTokenSummary[]> {
      const { accountId } = await self(principal, 'list API tokens');
      return (await tokens().sessions.list(accountId, 'admin')).map(summary);
    },

    async revoke(principal: Principal, id: string): Promise<string> {
      const { actor, accountId } = await self(principal, 'revoke API tokens');
      if (!/^[0-9a-f]{16}$/.test(id)) throw new AdminError('invalid', `${JSON.stringify(id)} is not a token id`);
      if (!(await tokens().sessions.end(accountId, 'admin', id))) throw new AdminError('not-found', `no API token ${id}`);
      gate.done(actor, `revoke API token ${id}`);
      return id;
    },

    /** Ends the admin session of `token` (logout). */
    async endSession(accountId: number, token: string): Promise<boolean> {
      return store.removeAccessToken(accountId, hashToken(token));
    },
  };
}

export type ApiTokenService = ReturnType<typeof apiTokenService>;
