/**
 * Who calls the admin API: an admin API token (`Authorization: Bearer`, admin scope only), or the admin UI's
 * session cookie with its CSRF token on every state change. The login (password through the shared
 * AuthService and limiter, then the TOTP code when the admin has one) issues that session; accounts that
 * administer nothing are refused by the administration service, here as everywhere.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AccessTokens } from '../../accounts/access-tokens.ts';
import { ADMIN_SESSION_LABEL } from '../../admin/api-tokens.ts';
import { adminErrorKind } from '../../admin/errors.ts';
import type { AdminService } from '../../admin/service.ts';
import type { Logger } from '../../core/log.ts';
import type { AuthLimiter } from '../../policy/auth-limiter.ts';
import type { SaslAuthenticator } from '../../protocols/sasl/types.ts';
import type { HttpEnv } from '../context.ts';
import { problemResponse, throttledResponse } from '../problem.ts';
import { carriesCsrfToken, checkLoginForm, checkSessionToken, csrfTokenFor } from '../login-form.ts';
import { sessionCookieOptions } from '../web-session.ts';
import { API_PREFIX } from './route.ts';

export const ADMIN_COOKIE = 'postamt_admin';
export const ADMIN_CSRF_COOKIE = 'postamt_admin_csrf';
/** The cookies go only to the admin UI and API, never to the webmail or JMAP. */
const COOKIE_PATH = '/admin';
/** Limiter key for guessed admin tokens and cookies: they name no account, so they count per client address. */
const TOKEN_KEY = '(admin token)';

export interface AdminAuthOptions {
  admin: AdminService;
  passwords: Pick<SaslAuthenticator, 'checkPassword'>;
  tokens: AccessTokens;
  limiter: AuthLimiter;
  allowPlaintextAuth(ip: string): boolean;
  logger: Logger;
  /** Admin session lifetime (http.token_lifetime). */
  lifetimeMs: number;
}

function cookieOptions(c: Context<HttpEnv>, httpOnly: boolean, maxAgeMs: number) {
  return sessionCookieOptions(c, COOKIE_PATH, httpOnly, maxAgeMs);
}

/** Authentication of every admin API route but the login and the OpenAPI document. */
export function requireAdminCaller(options: AdminAuthOptions): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const header = c.req.header('Authorization');
    const cookie = getCookie(c, ADMIN_COOKIE);
    let token: string;
    let scheme: 'bearer' | 'cookie';
    if (header !== undefined) {
      const [kind, value = ''] = header.split(/\s+/, 2);
      if (kind?.toLowerCase() !== 'bearer') {
        c.var.log.reason = 'unknown-scheme';
        return problemResponse(c, 401, 'Use an admin API token: Authorization: Bearer TOKEN.', { 'WWW-Authenticate': 'Bearer realm="Postamt admin"' });
      }
      token = value;
      scheme = 'bearer';
    } else if (cookie !== undefined) {
      token = cookie;
      scheme = 'cookie';
    } else {
      c.var.log.reason = 'no-credentials';
      return problemResponse(c, 401, 'Log in, or send an admin API token.', { 'WWW-Authenticate': 'Bearer realm="Postamt admin"' });
    }
    const bearer = scheme === 'bearer';
    const checked = await checkSessionToken(c, options, {
      token,
      fromCookie: !bearer,
      limiterKey: TOKEN_KEY,
      scope: 'admin',
      mechanism: bearer ? 'ADMIN-TOKEN' : 'ADMIN-COOKIE',
      what: 'admin session',
      invalid: bearer
        ? { reason: 'invalid-token', detail: 'The token is invalid, revoked or expired.', headers: { 'WWW-Authenticate': 'Bearer realm="Postamt admin", error="invalid_token"' } }
        : { reason: 'invalid-token', detail: 'The session has ended; log in again.' },
    });
    if ('refused' in checked) return checked.refused;
    const { identity } = checked;
    c.var.log.user = identity.address;
    c.set('user', { ...identity, username: identity.address, scheme, remoteAddress: c.var.client.ip });
    await next();
    return undefined;
  };
}

/** POST /admin/api/login and /admin/api/logout. */
export function adminSessionRoutes(options: AdminAuthOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();

  app.post(`${API_PREFIX}/login`, async (c) => {
    const login = await checkLoginForm(c, options);
    if ('refused' in login) return login.refused;
    const code = typeof login.input.code === 'string' ? login.input.code.trim() : '';
    const client = c.var.client;
    const identity = login.identity;
    c.var.log.user = identity.address;
    if (identity.appPasswordId !== undefined) {
      c.var.log.reason = 'app-password';
      return problemResponse(c, 403, 'Log in to the administration with the account\'s password, not an app password.');
    }
    let who;
    try {
      who = await options.admin.whoami({ kind: 'account', accountId: identity.accountId });
    } catch (err) {
      if (adminErrorKind(err) === null) throw err;
      c.var.log.reason = 'not-admin';
      return problemResponse(c, 403, `${identity.address} does not administer anything here.`);
    }
    if (await options.admin.secondFactor.required(identity.accountId)) {
      if (code === '') {
        c.var.log.reason = 'second-factor-required';
        return problemResponse(c, 401, 'Enter the code from your authenticator app.', {}, { secondFactorRequired: true });
      }
      // Codes are guessed like passwords: each wrong one counts in the shared limiter against the account.
      const reservation = await options.limiter.reserve(client.ip, identity.address);
      if (!reservation) return throttledResponse(c, options.limiter.windowMs);
      if (!(await options.admin.secondFactor.verify(identity.accountId, code))) {
        reservation.failed();
        options.logger.info({ event: 'auth.failed', protocol: 'http', ip: client.ip, username: identity.address, mechanism: 'TOTP', reason: 'wrong-second-factor' }, 'auth.failed');
        c.var.log.reason = 'wrong-second-factor';
        return problemResponse(c, 401, 'The code is wrong or already used.', {}, { secondFactorRequired: true });
      }
      reservation.succeeded();
    }
    const { token } = await options.tokens.issue(identity, ADMIN_SESSION_LABEL + (c.req.header('User-Agent') ?? '').slice(0, 120), { scope: 'admin' });
    const csrf = csrfTokenFor(token);
    setCookie(c, ADMIN_COOKIE, token, cookieOptions(c, true, options.lifetimeMs));
    // Readable by the page (not HttpOnly), so a reload keeps working; another site can neither read nor send it.
    setCookie(c, ADMIN_CSRF_COOKIE, csrf, cookieOptions(c, false, options.lifetimeMs));
    options.logger.info({ event: 'admin.login', ip: client.ip, user: identity.address }, 'admin login');
    return c.json({ ...who, csrfToken: csrf }, 200, { 'Cache-Control': 'no-store' });
  });

  app.post(`${API_PREFIX}/logout`, async (c) => {
    const token = getCookie(c, ADMIN_COOKIE);
    if (token !== undefined) {
      if (!carriesCsrfToken(c, token)) {
        c.var.log.reason = 'csrf';
        return problemResponse(c, 403, 'The CSRF token is missing or wrong.');
      }
      const identity = await options.tokens.verify(token, 'admin');
      if (identity) {
        await options.admin.apiTokens.endSession(identity.accountId, token);
        options.logger.info({ event: 'admin.logout', ip: c.var.client.ip, user: identity.address }, 'admin logout');
      }
    }
    deleteCookie(c, ADMIN_COOKIE, cookieOptions(c, true, 0));
    deleteCookie(c, ADMIN_CSRF_COOKIE, cookieOptions(c, false, 0));
    return c.body(null, 204, { 'Cache-Control': 'no-store' });
  });

  return app;
}
