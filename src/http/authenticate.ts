/**
 * HTTP authentication (RFC 9110 §11): Basic (RFC 7617) with an account password or an app password,
 * checked by the same AuthService as SMTP, IMAP and POP3, and Bearer tokens (RFC 6750) issued to login
 * sessions. Every failure counts in the one brute-force limiter. Credentials over plain http are accepted
 * only from loopback with `auth.allow_plaintext_on_loopback`, or through a trusted proxy that used TLS.
 */
import type { Context, MiddlewareHandler } from 'hono';
import type { Logger } from '../core/log.ts';
import type { AuthLimiter } from '../policy/auth-limiter.ts';
import type { AuthIdentity, SaslAuthenticator } from '../protocols/sasl/types.ts';
import type { HttpEnv, HttpUser } from './context.ts';
import { problemResponse, throttledResponse } from './problem.ts';

export interface BearerVerifier {
  /** The login a token stands for, or null (unknown, expired, revoked, or its account no longer valid). */
  verify(token: string): Promise<AuthIdentity | null>;
}

export interface HttpAuthOptions {
  passwords: Pick<SaslAuthenticator, 'checkPassword'>;
  tokens: BearerVerifier | null;
  limiter: AuthLimiter;
  /** Plaintext credentials allowed from this client address (loopback with the switch on). */
  allowPlaintextAuth(ip: string): boolean;
  logger: Logger;
  sleep?: (ms: number) => Promise<void>;
}

/** RFC 7235 §4.1: a 401 names the schemes the client may use. */
export const CHALLENGE = 'Basic realm="Postamt", charset="UTF-8", Bearer realm="Postamt"';

/** Limiter key for token guesses: they name no account, so they count per client address. */
const BEARER_KEY = '(bearer token)';

export function requireUser(options: HttpAuthOptions): MiddlewareHandler<HttpEnv> {
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const unauthorized = (c: Context<HttpEnv>, reason: string, detail: string): Response => {
    c.var.log.reason = reason;
    return problemResponse(c, 401, detail, { 'WWW-Authenticate': CHALLENGE });
  };
  return async (c, next) => {
    const client = c.var.client;
    const header = c.req.header('Authorization');
    if (header === undefined) return unauthorized(c, 'no-credentials', 'Authentication is required.');
    if (!client.secure && !options.allowPlaintextAuth(client.ip)) {
      // Not a guess, so not counted; the credentials already crossed the network in clear, so say so.
      c.var.log.reason = 'plaintext-refused';
      options.logger.info({ event: 'auth.failed', protocol: 'http', ip: client.ip, reason: 'plaintext-refused' }, 'credentials sent without TLS were refused');
      return problemResponse(c, 403, 'Credentials are accepted only over https.');
    }
    const space = header.indexOf(' ');
    const scheme = (space < 0 ? header : header.slice(0, space)).toLowerCase();
    const value = space < 0 ? '' : header.slice(space + 1).trim();
    let user: HttpUser | Response;
    if (scheme === 'basic') user = await basic(c, value);
    else if (scheme === 'bearer') user = await bearer(c, value);
    else return unauthorized(c, 'unknown-scheme', 'Use Basic or Bearer authentication.');
    if (user instanceof Response) return user;
    c.set('user', user);
    await next();
    return undefined;
  };

  async function basic(c: Context<HttpEnv>, value: string): Promise<HttpUser | Response> {
    // RFC 7617 §2: base64 of user-id ":" password; the user-id cannot contain a colon.
    const decoded = /^[A-Za-z0-9+/]*={0,2}$/.test(value) ? Buffer.from(value, 'base64').toString('utf8') : '';
    const colon = decoded.indexOf(':');
    if (colon <= 0) return unauthorized(c, 'malformed', 'Malformed Basic credentials.');
    const username = decoded.slice(0, colon);
    const password = decoded.slice(colon + 1);
    const step = await options.passwords.checkPassword(username, password, { protocol: 'http', remoteAddress: c.var.client.ip, isTls: c.var.client.secure });
    if (step.kind === 'success') return { ...step.identity, username: step.identity.address, scheme: 'basic', remoteAddress: c.var.client.ip };
    const reason = step.kind === 'failure' ? step.reason : 'invalid-credentials';
    if (reason === 'throttled') return throttled(c);
    if (reason === 'temporary') {
      c.var.log.reason = 'store-error';
      return problemResponse(c, 503, 'The server is temporarily unavailable.');
    }
    return unauthorized(c, 'invalid-credentials', 'Wrong user name or password.');
  }

  async function bearer(c: Context<HttpEnv>, token: string): Promise<HttpUser | Response> {
    const ip = c.var.client.ip;
    if (!options.tokens) return unauthorized(c, 'unknown-scheme', 'Bearer tokens are not accepted here.');
    const reservation = await options.limiter.reserve(ip, BEARER_KEY);
    if (!reservation) {
      options.logger.info({ event: 'auth.failed', protocol: 'http', ip, mechanism: 'BEARER', reason: 'throttled' }, 'auth.failed');
      if (options.limiter.penaltyDelayMs > 0) await sleep(options.limiter.penaltyDelayMs);
      return throttled(c);
    }
    let identity: AuthIdentity | null;
    try {
      identity = token === '' ? null : await options.tokens.verify(token);
    } catch (err) {
      reservation.release();
      options.logger.error({ event: 'auth.store_error', err }, 'token lookup failed');
      return problemResponse(c, 503, 'The server is temporarily unavailable.');
    }
    if (identity === null) {
      reservation.failed();
      options.logger.info({ event: 'auth.failed', protocol: 'http', ip, mechanism: 'BEARER', reason: 'invalid-token' }, 'auth.failed');
      if (options.limiter.penaltyDelayMs > 0) await sleep(options.limiter.penaltyDelayMs);
      // RFC 6750 §3.1 invalid_token.
      c.var.log.reason = 'invalid-token';
      return problemResponse(c, 401, 'The token is invalid or expired.', { 'WWW-Authenticate': `${CHALLENGE}, error="invalid_token"` });
    }
    reservation.succeeded();
    return { ...identity, username: identity.address, scheme: 'bearer', remoteAddress: ip };
  }

  function throttled(c: Context<HttpEnv>): Response {
    return throttledResponse(c, options.limiter.windowMs);
  }
}
