/**
 * The password step both browser logins share (the webmail's and the admin UI's): a JSON body only (a cross-site
 * form cannot send one without a preflight), no credentials over plain http, the password checked and refused alike.
 */
import type { Context } from 'hono';
import type { Logger } from '../core/log.ts';
import type { AuthIdentity, SaslAuthenticator } from '../protocols/sasl/types.ts';
import type { HttpEnv } from './context.ts';
import { problemResponse, throttledResponse } from './problem.ts';
import { readBody } from './read-body.ts';

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
