/**
 * What both browser logins share (the webmail's and the admin UI's): the password step (a JSON body only, which a
 * cross-site form cannot send without a preflight; no credentials over plain http; refused alike) and the check of
 * the session token the login issued (its CSRF token on every state change, the limiter, refused alike).
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import type { Context } from 'hono';
import type { AccessTokens } from '../accounts/access-tokens.ts';
import type { Logger } from '../core/log.ts';
import type { AuthLimiter } from '../policy/auth-limiter.ts';
import type { AuthIdentity, SaslAuthenticator } from '../protocols/sasl/types.ts';
import type { AccessTokenScope } from '../store/types.ts';
import type { HttpEnv } from './context.ts';
import { problemResponse, throttledResponse } from './problem.ts';
import { readBody } from './read-body.ts';

const CSRF_HEADER = 'X-CSRF-Token';

/** The CSRF token of a session: derived one-way from the session token, so it is tied to that session and reveals nothing of it. */
export function csrfTokenFor(sessionToken: string): string {
  return createHash('sha256').update('postamt-csrf\0').update(sessionToken).digest('base64url');
}

/** Compares two tokens in constant time. */
function sameToken(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}

/** Whether the request carries the CSRF token of this session token. */
export function carriesCsrfToken(c: Context<HttpEnv>, sessionToken: string): boolean {
  return sameToken(c.req.header(CSRF_HEADER) ?? '', csrfTokenFor(sessionToken));
}

export interface LoginFormOptions {
  passwords: Pick<SaslAuthenticator, 'checkPassword'>;
  limiter: { windowMs: number };
  allowPlaintextAuth(ip: string): boolean;
  logger: Logger;
}

/** Credentials (a password, a session cookie) cross plain http only where the mail protocols allow plaintext. */
export function plaintextRefused(c: Context<HttpEnv>, options: Pick<LoginFormOptions, 'allowPlaintextAuth' | 'logger'>): Response | null {
  const client = c.var.client;
  if (client.secure || options.allowPlaintextAuth(client.ip)) return null;
  c.var.log.reason = 'plaintext-refused';
  options.logger.info({ event: 'auth.failed', protocol: 'http', ip: client.ip, reason: 'plaintext-refused' }, 'credentials sent without TLS were refused');
  return problemResponse(c, 403, 'Credentials are accepted only over https.');
}

/**
 * The login whose address and password the request carries, with the rest of its JSON body (e.g. a TOTP code);
 * or the refusal to send: 415, 403 over plain http, 400 without both, 429 throttled, 503, 401 wrong.
 */
export async function checkLoginForm(c: Context<HttpEnv>, options: LoginFormOptions): Promise<{ identity: AuthIdentity; input: Record<string, unknown> } | { refused: Response }> {
  if (!/^application\/json\b/i.test(c.req.header('Content-Type') ?? '')) {
    c.var.log.reason = 'content-type';
    return { refused: problemResponse(c, 415, 'Send the login as application/json.') };
  }
  const plaintext = plaintextRefused(c, options);
  if (plaintext) return { refused: plaintext };
  const body = await readBody(c, 4096);
  let input: Record<string, unknown> = {};
  try {
    const parsed = body.ok ? JSON.parse(new TextDecoder().decode(body.bytes)) as unknown : null;
    if (parsed && typeof parsed === 'object') input = parsed as Record<string, unknown>;
  } catch {
    // malformed JSON: refused below
  }
  const address = typeof input.address === 'string' ? input.address.trim() : '';
  const password = typeof input.password === 'string' ? input.password : '';
  if (address === '' || password === '') {
    c.var.log.reason = 'malformed';
    return { refused: problemResponse(c, 400, 'Give an address and a password.') };
  }
  const client = c.var.client;
  const step = await options.passwords.checkPassword(address, password, { protocol: 'http', remoteAddress: client.ip, isTls: client.secure });
  if (step.kind !== 'success') {
    const reason = step.kind === 'failure' ? step.reason : 'invalid-credentials';
    c.var.log.reason = reason;
    if (reason === 'throttled') return { refused: throttledResponse(c, options.limiter.windowMs) };
    if (reason === 'temporary') return { refused: problemResponse(c, 503, 'The server is temporarily unavailable.') };
    return { refused: problemResponse(c, 401, 'Wrong address or password.') };
  }
  return { identity: step.identity, input };
}

export interface SessionTokenOptions {
  tokens: AccessTokens;
  limiter: AuthLimiter;
  allowPlaintextAuth(ip: string): boolean;
  logger: Logger;
}

/** How one front end checks a session token: where it came from, and what a refusal says. */
export interface SessionTokenCheck {
  token: string;
  /** A cookie (the browser's) must carry its CSRF token on every state change; a Bearer header need not. */
  fromCookie: boolean;
  /** Limiter key: a guessed token names no account, so guesses count per client address under this key. */
  limiterKey: string;
  scope?: AccessTokenScope;
  /** `mechanism` of the auth.failed line. */
  mechanism: string;
  /** Which session, in the log text of a CSRF refusal or a failed lookup (e.g. "admin session"). */
  what: string;
  /** The answer to a token that is unknown, revoked or expired. */
  invalid: { reason: string; detail: string; headers?: Record<string, string> };
}

/**
 * The identity a session token stands for, or the refusal to send: 403 over plain http, 403 without the CSRF
 * token (cookies, state changes), 429 throttled, 503 when the lookup fails, 401 for an unknown token.
 */
export async function checkSessionToken(c: Context<HttpEnv>, options: SessionTokenOptions, check: SessionTokenCheck): Promise<{ identity: AuthIdentity } | { refused: Response }> {
  const plaintext = plaintextRefused(c, options);
  if (plaintext) return { refused: plaintext };
  const ip = c.var.client.ip;
  // GET and HEAD change nothing (downloads, push); SameSite=Strict keeps other sites from sending them.
  if (check.fromCookie && c.req.method !== 'GET' && c.req.method !== 'HEAD' && !carriesCsrfToken(c, check.token)) {
    c.var.log.reason = 'csrf';
    options.logger.info({ event: 'http.csrf_refused', ip, method: c.req.method, path: c.req.path }, `a request with the ${check.what} cookie but without its CSRF token was refused`);
    return { refused: problemResponse(c, 403, 'The CSRF token is missing or wrong.') };
  }
  const reservation = await options.limiter.reserve(ip, check.limiterKey);
  if (!reservation) return { refused: throttledResponse(c, options.limiter.windowMs) };
  let identity: AuthIdentity | null;
  try {
    identity = await options.tokens.verify(check.token, check.scope);
  } catch (err) {
    reservation.release();
    options.logger.error({ event: 'auth.store_error', err }, `${check.what} lookup failed`);
    return { refused: problemResponse(c, 503, 'The server is temporarily unavailable.') };
  }
  if (identity === null) {
    reservation.failed();
    options.logger.info({ event: 'auth.failed', protocol: 'http', ip, mechanism: check.mechanism, reason: check.invalid.reason }, 'auth.failed');
    c.var.log.reason = check.invalid.reason;
    return { refused: problemResponse(c, 401, check.invalid.detail, check.invalid.headers ?? {}) };
  }
  reservation.succeeded();
  return { identity };
}
