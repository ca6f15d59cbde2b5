/**
 * POP3 authentication: USER/PASS (RFC 1939 §7), AUTH with SASL (RFC 5034) and opening the locked
 * maildrop on success, with the RFC 2449 / RFC 3206 response codes.
 */
import { decodeInitialResponse, decodeSaslResponse } from '../sasl/base64.ts';
import type { AuthIdentity, SaslFailureReason, SaslStep } from '../sasl/types.ts';
import {
  errorReply,
  multiline,
  ok,
  reply,
  type AuthorizationState,
  type CommandResult,
  type Pop3Runtime,
  type SaslState,
} from './state.ts';

function failure(reason: SaslFailureReason): CommandResult {
  switch (reason) {
    // RFC 3206 §4: [AUTH] says the credentials are wrong, so the client should ask the user again.
    case 'invalid-credentials':
      return errorReply('Authentication failed', 'AUTH');
    case 'malformed':
      return errorReply('Invalid authentication data');
    // RFC 5034 §4: a cancelled exchange is rejected with -ERR.
    case 'cancelled':
      return errorReply('Authentication cancelled');
    // RFC 3206 §4: [SYS/TEMP] for a temporary condition: the client may retry later.
    case 'throttled':
      return errorReply('Too many failed attempts, try again later', 'SYS/TEMP');
    case 'temporary':
      return errorReply('Temporary failure, try again later', 'SYS/TEMP');
  }
}

function plaintextRefused(): CommandResult {
  // RFC 2595 §2: no cleartext password before TLS; USER is not advertised in CAPA either.
  return errorReply('Plaintext authentication requires TLS; use STLS first', 'AUTH');
}

/** Opens the maildrop after authentication succeeded and enters TRANSACTION (RFC 1939 §4). */
export async function completeLogin(runtime: Pop3Runtime, identity: AuthIdentity): Promise<CommandResult> {
  runtime.state = { phase: 'authorization', user: null };
  let opened;
  try {
    opened = await runtime.backend.openMaildrop(identity);
  } catch (error) {
    runtime.logger?.error({ event: 'pop3.maildrop_failed', account: identity.address, err: error }, 'opening maildrop failed');
    return errorReply('Unable to open the maildrop, try again later', 'SYS/TEMP');
  }
  if (!opened.ok) {
    // RFC 2449 §8.1.2: [IN-USE] when another POP3 session holds the maildrop lock.
    if (opened.reason === 'in-use') return errorReply('Maildrop already locked', 'IN-USE');
    return errorReply('Unable to open the maildrop, try again later', 'SYS/TEMP');
  }
  const { maildrop } = opened;
  const messages = [...maildrop.messages];
  runtime.state = { phase: 'transaction', identity, maildrop, messages, deleted: new Set() };
  runtime.watchLogin(identity);
  const octets = messages.reduce((sum, message) => sum + message.size, 0);
  runtime.logger?.info({ event: 'pop3.login', account: identity.address, messages: messages.length }, 'pop3 login');
  return reply(ok(`Logged in, maildrop has ${messages.length} messages (${octets} octets)`));
}

async function finishStep(runtime: Pop3Runtime, mechanism: string, exchangeState: SaslState | null, step: SaslStep): Promise<CommandResult> {
  if (step.kind === 'failure') {
    runtime.state = { phase: 'authorization', user: null };
    runtime.logger?.info({ event: 'pop3.auth_failed', mechanism, reason: step.reason }, 'pop3 authentication failed');
    return failure(step.reason);
  }
  if (step.kind === 'challenge') {
    if (!exchangeState) throw new Error('challenge without an exchange');
    runtime.state = exchangeState;
    return reply(`+ ${step.data.toString('base64')}\r\n`);
  }
  if (step.serverFinal && exchangeState) {
    // RFC 4422 §5 (additional data with success): POP3's +OK carries no data, so the server-final
    // message goes out as one more challenge, answered by an empty line (as Dovecot and Cyrus do).
    runtime.state = { ...exchangeState, pendingIdentity: step.identity };
    return reply(`+ ${step.serverFinal.toString('base64')}\r\n`);
  }
  return completeLogin(runtime, step.identity);
}

export async function handleUser(runtime: Pop3Runtime, args: string, state: AuthorizationState): Promise<CommandResult> {
  if (!runtime.canPlaintextAuth) return plaintextRefused();
  if (args === '' || args.includes(' ')) return errorReply('Syntax: USER name');
  state.user = args;
  // RFC 1939 §7: the same answer whether or not the name exists (no account enumeration).
  return reply(ok('Send your password'));
}

export async function handlePass(runtime: Pop3Runtime, args: string, state: AuthorizationState): Promise<CommandResult> {
  if (!runtime.canPlaintextAuth) return plaintextRefused();
  const user = state.user;
  state.user = null;
  if (user === null) return errorReply('Send USER first');
  // RFC 1939 §7: PASS has exactly one argument, so spaces are part of the password.
  const step = await runtime.sasl.checkPassword(user, args, runtime.saslContext());
  return finishStep(runtime, 'USER', null, step);
}

export async function handleAuth(runtime: Pop3Runtime, args: string, state: AuthorizationState): Promise<CommandResult> {
  state.user = null;
  const mechanisms = runtime.mechanisms();
  if (args === '') {
    // Pre-RFC 5034 clients (RFC 1734 era, Outlook) send a bare AUTH to list the mechanisms.
    return reply(multiline('Supported mechanisms follow', mechanisms));
  }
  const parts = args.split(' ');
  if (parts.length > 2) return errorReply('Syntax: AUTH mechanism [initial-response]');
  const mechanism = parts[0].toUpperCase();
  const exchange = mechanisms.includes(mechanism) ? runtime.sasl.start(mechanism, runtime.saslContext()) : null;
  if (!exchange) return errorReply('Unsupported authentication mechanism');
  let initial: Buffer | null = null;
  if (parts.length === 2) {
    initial = decodeInitialResponse(parts[1]);
    if (initial === null) return failure('malformed');
  }
  const exchangeState: SaslState = { phase: 'sasl', mechanism, exchange, pendingIdentity: null };
  // RFC 5034 §4: without an initial response the first challenge may be empty ("+ ").
  return finishStep(runtime, mechanism, exchangeState, await exchange.step(initial));
}

/** A line received while an AUTH exchange is running (RFC 5034 §4). */
export async function handleSaslResponse(runtime: Pop3Runtime, line: string, state: SaslState): Promise<CommandResult> {
  if (line === '*') {
    runtime.state = { phase: 'authorization', user: null };
    return failure('cancelled');
  }
  if (state.pendingIdentity) {
    if (line !== '') {
      runtime.state = { phase: 'authorization', user: null };
      return failure('malformed');
    }
    return completeLogin(runtime, state.pendingIdentity);
  }
  const response = decodeSaslResponse(line);
  if (response === null) {
    runtime.state = { phase: 'authorization', user: null };
    return failure('malformed');
  }
  return finishStep(runtime, state.mechanism, state, await state.exchange.step(response));
}
