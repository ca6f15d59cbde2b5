/**
 * EHLO and HELO (RFC 5321 §4.1.1.1): greet, reset any transaction, and list the extensions we offer.
 */
import { reply, replies } from '../reply.ts';
import type { CommandSpec, SessionCore } from '../session-state.ts';

/** The EHLO keywords for this session's current state (TLS and AUTH depend on it). */
export function extensions(session: SessionCore): string[] {
  const { limits, options, tls } = session;
  const list = [
    'PIPELINING', // RFC 2920
    `SIZE ${limits.maxMessageBytes}`, // RFC 1870
    '8BITMIME', // RFC 6152
    'ENHANCEDSTATUSCODES', // RFC 2034
    'SMTPUTF8', // RFC 6531
    'CHUNKING', // RFC 3030 (without BINARYMIME: we refuse bare CR/LF)
    'DSN', // RFC 3461
  ];
  // RFC 3207 §4.2: STARTTLS is not offered again once TLS is on.
  if (options.starttlsAvailable && !tls) list.push('STARTTLS');
  const sasl = options.hooks.sasl;
  // RFC 4954 §4 / RFC 8314 §3: no AUTH advertised in the clear when TLS is required for it.
  if (sasl && (tls || !options.requireTlsForAuth) && !session.identity) {
    const mechanisms = sasl.mechanisms(session.saslContext());
    if (mechanisms.length > 0) list.push(`AUTH ${mechanisms.join(' ')}`);
  }
  list.push('HELP');
  return list;
}

/** The client's name: a domain or an address literal. We are lenient (RFC 5321 §4.1.4: never refuse on a mismatch). */
function readHeloName(args: string): string | null {
  const name = args.trim();
  if (name === '' || /[\s\x00-\x1f\x7f]/.test(name) || name.length > 255) return null;
  return name;
}

async function greet(session: SessionCore, args: string, esmtp: boolean): Promise<void> {
  const name = readHeloName(args);
  if (name === null) {
    session.send(replies.badHelo);
    return;
  }
  const check = session.options.hooks.checkHelo;
  if (check) {
    const verdict = await session.ask('checkHelo', () => check(session.info({ helo: name, esmtp }), name));
    if ('lines' in verdict) return session.send(verdict);
    if (!verdict.ok) return session.send(reply(verdict.code, verdict.enhancedCode, verdict.text));
  }
  // RFC 5321 §4.1.4: EHLO/HELO in a transaction clears it, as RSET would.
  session.resetTransaction();
  session.greeting = { helo: name, esmtp };
  session.state = { phase: 'greeted' };
  const first = `${session.options.hostname} Hello ${name} [${session.options.context.remoteAddress}]`;
  session.send(esmtp ? reply(250, null, first, ...extensions(session)) : reply(250, null, first));
}

const anyCommandPhase = ['fresh', 'greeted', 'mail'] as const;

export const ehlo: CommandSpec = {
  phases: [...anyCommandPhase],
  reject: replies.bdatInProgress,
  syntax: 'EHLO <domain>',
  handle: (session, args) => greet(session, args, true),
};

export const helo: CommandSpec = {
  phases: [...anyCommandPhase],
  reject: replies.bdatInProgress,
  syntax: 'HELO <domain>',
  handle: (session, args) => greet(session, args, false),
};
