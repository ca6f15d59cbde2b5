/**
 * AUTH (RFC 4954): starts a SASL exchange and carries its 334 challenges and the client's base64
 * responses; the mechanisms themselves live in protocols/sasl/.
 */
import { decodeInitialResponse, decodeSaslResponse } from '../../sasl/base64.ts';
import type { SaslStep } from '../../sasl/types.ts';
import { reply, replies } from '../reply.ts';
import type { CommandSpec, SessionCore } from '../session-state.ts';

function challenge(data: Buffer) {
  // RFC 4954 §4: "334" SP base64 text; no enhanced code on a challenge.
  return reply(334, null, data.toString('base64'));
}

async function advance(session: SessionCore, mechanism: string, run: () => Promise<SaslStep>): Promise<void> {
  const exchange = session.state.phase === 'auth' ? session.state.exchange : null;
  const step = await session.ask('sasl', run);
  if ('lines' in step) {
    session.state = { phase: 'greeted' };
    return session.send(replies.authTemporary);
  }
  switch (step.kind) {
    case 'challenge':
      if (exchange) session.state = { phase: 'auth', exchange, mechanism, success: null };
      return session.send(challenge(step.data));
    case 'success':
      if (step.serverFinal && step.serverFinal.length > 0 && exchange) {
        // RFC 4954 §4: additional data with success is sent as a 334 challenge; the client answers empty.
        session.state = { phase: 'auth', exchange, mechanism, success: step.identity };
        return session.send(challenge(step.serverFinal));
      }
      return succeed(session, step.identity);
    case 'failure':
      session.state = { phase: 'greeted' };
      switch (step.reason) {
        case 'invalid-credentials':
          return session.send(replies.authFailed);
        case 'malformed':
          return session.send(replies.authMalformed);
        case 'cancelled':
          return session.send(replies.authCancelled);
        case 'throttled':
          return session.send(replies.authThrottled);
        case 'temporary':
          return session.send(replies.authTemporary);
      }
  }
}

function succeed(session: SessionCore, identity: NonNullable<SessionCore['identity']>): void {
  session.identity = identity;
  session.state = { phase: 'greeted' };
  session.send(replies.authOk);
}

export const auth: CommandSpec = {
  phases: ['greeted'],
  reject: replies.authInTransaction,
  syntax: 'AUTH <mechanism> [initial-response]',
  async handle(session, args) {
    const sasl = session.options.hooks.sasl;
    if (!sasl) return session.send(replies.authNotAvailable);
    // RFC 4954 §4: after a successful AUTH, another AUTH is refused with 503.
    if (session.identity) return session.send(replies.alreadyAuthenticated);
    const words = args.trim().split(/ +/);
    if (words.length < 1 || words.length > 2 || words[0] === '') return session.send(replies.syntax('Syntax: AUTH <mechanism> [initial-response]'));
    const mechanism = words[0]!.toUpperCase();
    const context = session.saslContext();
    // RFC 4954 §4 / RFC 3207: 538 5.7.11 when the mechanism needs an encrypted channel.
    if (session.options.requireTlsForAuth && !session.tls) return session.send(replies.encryptionRequired);
    if (!sasl.mechanisms(context).includes(mechanism)) {
      const offeredUnderTls = !session.tls && sasl.mechanisms({ ...context, isTls: true }).includes(mechanism);
      return session.send(offeredUnderTls ? replies.encryptionRequired : replies.mechanismUnknown);
    }
    let initial: Buffer | null = null;
    if (words.length === 2) {
      // RFC 4954 §4: a response that is not base64 is refused with 501.
      initial = decodeInitialResponse(words[1]!);
      if (initial === null) return session.send(replies.authMalformed);
    }
    const exchange = sasl.start(mechanism, context);
    if (!exchange) return session.send(replies.mechanismUnknown);
    session.state = { phase: 'auth', exchange, mechanism, success: null };
    return advance(session, mechanism, () => exchange.step(initial));
  },
};

/** A line received while an AUTH exchange waits for the client's response. */
export async function continueAuth(session: SessionCore, line: string): Promise<void> {
  const state = session.state;
  if (state.phase !== 'auth') return;
  // RFC 4954 §4: "*" cancels the exchange with 501.
  if (line === '*') {
    session.state = { phase: 'greeted' };
    return session.send(replies.authCancelled);
  }
  if (state.success) {
    // The response to our server-final data carries nothing (RFC 4954 §4).
    return succeed(session, state.success);
  }
  const response = decodeSaslResponse(line);
  if (response === null) {
    session.state = { phase: 'greeted' };
    return session.send(replies.authMalformed);
  }
  return advance(session, state.mechanism, () => state.exchange.step(response));
}
