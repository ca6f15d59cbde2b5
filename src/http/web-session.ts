/**
 * Browser login sessions for the webmail: POST /webmail/login checks the password with the same AuthService
 * (and brute-force limiter) as every protocol and sets an HttpOnly session cookie holding a login-session
 * token; JMAP requests then authenticate by that cookie, and every state-changing one must carry the CSRF token.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import { deleteCookie, getCookie, setCookie } from 'hono/cookie';
import type { AccessTokens } from '../accounts/access-tokens.ts';
import type { Logger } from '../core/log.ts';
import type { AuthLimiter } from '../policy/auth-limiter.ts';
import type { SaslAuthenticator } from '../protocols/sasl/types.ts';
import type { HttpEnv } from './context.ts';
import { problemResponse } from './problem.ts';
import { carriesCsrfToken, checkLoginForm, checkSessionToken, csrfTokenFor } from './login-form.ts';

export const SESSION_COOKIE = 'postamt_session';
export const CSRF_COOKIE = 'postamt_csrf';
/** Limiter key for guessed session cookies: they name no account, so they count per client address. */
const COOKIE_KEY = '(session cookie)';

export interface WebSessionOptions {
  passwords: Pick<SaslAuthenticator, 'checkPassword'>;
  tokens: AccessTokens;
  limiter: AuthLimiter;
  allowPlaintextAuth(ip: string): boolean;
  logger: Logger;
  /** Session lifetime, as the token's (http.token_lifetime). */
  lifetimeMs: number;
}

/** The attributes of a login session's cookies (webmail at `/`, admin at `/admin`). */
export function sessionCookieOptions(c: Context<HttpEnv>, path: string, httpOnly: boolean, maxAgeMs: number) {
  // Secure only on https: on the loopback http listener a Secure cookie would never be sent back.
  return { path, httpOnly, secure: c.var.client.secure, sameSite: 'Strict' as const, maxAge: Math.floor(maxAgeMs / 1000) };
}

function cookieOptions(c: Context<HttpEnv>, httpOnly: boolean, maxAgeMs: number) {
  return sessionCookieOptions(c, '/', httpOnly, maxAgeMs);
}

/**
 * Authentication for /jmap/*: a request with an Authorization header goes to `inner` (Basic, Bearer) unchanged;
 * one with only the session cookie is the browser's, and must also carry the CSRF header unless it is a safe
 * method (GET, HEAD: downloads and push, which change nothing; SameSite=Strict keeps other sites from sending them).
 */
export function withSessionCookie(inner: MiddlewareHandler<HttpEnv>, options: WebSessionOptions): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (c.req.header('Authorization') !== undefined || token === undefined) return inner(c, next);
    const checked = await checkSessionToken(c, options, {
      token,
      fromCookie: true,
      limiterKey: COOKIE_KEY,
      mechanism: 'COOKIE',
      what: 'session',
      // No WWW-Authenticate: a Basic challenge would make the browser pop up its own login dialog.
      invalid: { reason: 'invalid-session', detail: 'The session has ended; log in again.' },
    });
    if ('refused' in checked) return checked.refused;
    const { identity } = checked;
    c.set('user', { ...identity, username: identity.address, scheme: 'cookie', remoteAddress: c.var.client.ip });
    await next();
    return undefined;
  };
}

/** POST /webmail/login and /webmail/logout. */
export function webSessionRoutes(options: WebSessionOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();

  app.post('/webmail/login', async (c) => {
    const login = await checkLoginForm(c, options);
    if ('refused' in login) return login.refused;
    const client = c.var.client;
    const { token } = await options.tokens.issue(login.identity, `webmail ${(c.req.header('User-Agent') ?? '').slice(0, 120)}`);
    const csrf = csrfTokenFor(token);
    setCookie(c, SESSION_COOKIE, token, cookieOptions(c, true, options.lifetimeMs));
    // Readable by the page (not HttpOnly), so it survives a reload; another site can neither read nor send it.
    setCookie(c, CSRF_COOKIE, csrf, cookieOptions(c, false, options.lifetimeMs));
    options.logger.info({ event: 'webmail.login', ip: client.ip, user: login.identity.address }, 'webmail login');
    c.var.log.user = login.identity.address;
    return c.json({ address: login.identity.address, csrfToken: csrf }, 200, { 'Cache-Control': 'no-store' });
  });

  app.post('/webmail/logout', async (c) => {
    const token = getCookie(c, SESSION_COOKIE);
    if (token !== undefined) {
      if (!carriesCsrfToken(c, token)) {
        c.var.log.reason = 'csrf';
        return problemResponse(c, 403, 'The CSRF token is missing or wrong.');
      }
      const identity = await options.tokens.verify(token);
      if (identity) {
        await options.tokens.revoke(identity.accountId, token);
        options.logger.info({ event: 'webmail.logout', ip: c.var.client.ip, user: identity.address }, 'webmail logout');
      }
    }
    deleteCookie(c, SESSION_COOKIE, cookieOptions(c, true, 0));
    deleteCookie(c, CSRF_COOKIE, cookieOptions(c, false, 0));
    return c.body(null, 204, { 'Cache-Control': 'no-store' });
  });

  return app;
}
