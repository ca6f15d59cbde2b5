/**
 * STARTTLS (RFC 3207): answer 220 and hand the upgrade to the driver, which drops every byte received
 * after the command (CVE-2011-0411); the session then starts over (tlsStarted).
 */
import { replies } from '../reply.ts';
import type { CommandSpec } from '../session-state.ts';

export const starttls: CommandSpec = {
  phases: ['greeted'],
  reject: replies.badSequence('STARTTLS not allowed during a mail transaction'),
  syntax: 'STARTTLS',
  handle(session, args) {
    // RFC 3207 §4: STARTTLS takes no parameters.
    if (args.trim() !== '') return session.send(replies.syntax('Syntax: STARTTLS'));
    // RFC 3207 §4.2: a second STARTTLS after the handshake is a protocol error.
    if (session.tls) return session.send(replies.alreadyTls);
    if (!session.options.starttlsAvailable) return session.send(replies.tlsNotAvailable);
    session.send(replies.readyTls);
    session.finish('starttls');
  },
};
