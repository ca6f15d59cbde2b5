/**
 * Authentication: LOGIN (RFC 9051 §6.2.3), AUTHENTICATE with SASL-IR (RFC 9051 §6.2.2, RFC 4959)
 * and STARTTLS (RFC 9051 §6.2.1). The SASL exchange itself is the shared SaslAuthenticator's.
 */
import type { OutputPart } from '../../engine.ts';
import { decodeInitialResponse, decodeSaslResponse } from '../../sasl/base64.ts';
import type { AuthIdentity, SaslStep } from '../../sasl/types.ts';
import { bad, no, ok, type CommandResult, type CommandSpec } from '../command.ts';
import type { ImapSessionCore } from '../session-state.ts';
import { formatTagged } from '../response.ts';

export const STARTTLS: CommandSpec = {
  states: ['not-authenticated'],
  async handle(ctx, args) {
    args.end();
    if (ctx.session.tls !== null) return bad('TLS already active');
    if (ctx.session.options.starttlsAvailable !== true) return bad('STARTTLS not available');
    return { status: 'OK', text: 'Begin TLS negotiation now', then: 'starttls' };
  },
};

export const LOGIN: CommandSpec = {
  states: ['not-authenticated'],
  async handle(ctx, args) {
    const user = args.astring('user name');
    const pass = args.astring('password');
    args.end();
    const s = ctx.session;
    // RFC 9051 §6.2.3: LOGIN is refused without TLS when LOGINDISABLED is advertised.
    if (!s.canLoginPlaintext) return no('Use STARTTLS first', 'PRIVACYREQUIRED');
    const step = await s.options.sasl.checkPassword(user, pass, s.saslContext);
    return completeAuth(s, step);
  },
};

export const AUTHENTICATE: CommandSpec = {
  states: ['not-authenticated'],
  async handle(ctx, args) {
    const mechanism = args.atom('mechanism').toUpperCase();
    const initial = args.remaining > 0 ? args.astring('initial response') : null;
    args.end();
    const s = ctx.session;
    const exchange = s.options.sasl.start(mechanism, s.saslContext);
    if (exchange === null) {
      if (!s.canLoginPlaintext && mechanism === 'PLAIN') return no('Use STARTTLS first', 'PRIVACYREQUIRED');
      return no('Unsupported authentication mechanism', 'CANNOT');
    }
    let response: Buffer | null = null;
    if (initial !== null) {
      response = decodeInitialResponse(initial);
      if (response === null) return bad('Invalid base64 in initial response');
    }
    const step = await exchange.step(response);
    const challenge = challengeOf(step);
    if (challenge !== null) {
      s.mode = { kind: 'sasl', tag: ctx.tag, exchange, ...(step.kind === 'success' ? { pendingSuccess: step.identity } : {}) };
      ctx.raw(`+ ${challenge.toString('base64')}\r\n`);
      return null; // continues in handleSaslLine
    }
    return completeAuth(s, step);
  },
};

/**
 * Data to send as a `+` continuation: a challenge, or a success's additional data (SCRAM
 * server-final), which IMAP carries as a last challenge answered by an empty line (RFC 9051 §6.2.2).
 */
function challengeOf(step: SaslStep): Buffer | null {
  if (step.kind === 'challenge') return step.data;
  if (step.kind === 'success' && step.serverFinal !== undefined) return step.serverFinal;
  return null;
}

/** One client line during AUTHENTICATE; writes the challenge or the tagged result. */
export async function handleSaslLine(s: ImapSessionCore, line: string, out: OutputPart[]): Promise<'close' | undefined> {
  if (s.mode.kind !== 'sasl') return undefined;
  const { tag, exchange, pendingSuccess } = s.mode;
  let result: CommandResult;
  const response = decodeSaslResponse(line);
  // RFC 9051 §6.2.2: "*" cancels the exchange with BAD.
  if (line === '*') result = bad('Authentication cancelled');
  else if (response === null) result = bad('Invalid base64');
  else if (pendingSuccess !== undefined) {
    result = line === '' ? await login(s, pendingSuccess).catch((err: unknown) => s.errorResult(err)) : bad('Expected an empty response');
  } else {
    try {
      const step = await exchange.step(response);
      const challenge = challengeOf(step);
      if (challenge !== null) {
        s.mode = { kind: 'sasl', tag, exchange, ...(step.kind === 'success' ? { pendingSuccess: step.identity } : {}) };
        out.push(`+ ${challenge.toString('base64')}\r\n`);
        return undefined;
      }
      result = await completeAuth(s, step);
    } catch (err) {
      result = s.errorResult(err);
    }
  }
  s.mode = { kind: 'command' };
  out.push(formatTagged(tag, result));
  return result.then === 'close' ? 'close' : undefined;
}

async function completeAuth(s: ImapSessionCore, step: SaslStep): Promise<CommandResult> {
  s.mode = { kind: 'command' };
  if (step.kind === 'success') return login(s, step.identity);
  if (step.kind === 'challenge') return no('Unexpected challenge', 'AUTHENTICATIONFAILED');
  switch (step.reason) {
    case 'cancelled':
      return bad('Authentication cancelled');
    case 'malformed':
      return bad('Malformed authentication data');
    case 'throttled':
    case 'temporary':
      return no('Authentication temporarily unavailable', 'UNAVAILABLE');
    case 'invalid-credentials': {
      s.authFailures++;
      if (s.authFailures >= s.limits.maxAuthFailures) {
        return { status: 'NO', code: 'AUTHENTICATIONFAILED', text: 'Too many failures', then: 'close' };
      }
      return no('Invalid credentials', 'AUTHENTICATIONFAILED');
    }
  }
}

async function login(s: ImapSessionCore, identity: AuthIdentity): Promise<CommandResult> {
  const account = await s.options.backend.openAccount(identity);
  // Changes are recorded for the selected mailbox as they happen and reported at the next command.
  const unwatchChanges = account.watch((change) => s.onAccountChange(change));
  // Ended with BYE when the account is removed or disabled or its password changes (any process).
  const unwatchLogin = s.watchLogin(identity);
  const unwatch = (): void => {
    unwatchChanges();
    unwatchLogin();
  };
  s.state = { kind: 'authenticated', identity, account, unwatch };
  s.options.logger?.info({ event: 'imap.login', sessionId: s.options.context.sessionId, account: identity.address });
  return ok('Logged in', `CAPABILITY ${s.capabilities().join(' ')}`);
}
