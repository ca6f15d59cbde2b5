/**
 * The commands that change nothing: NOOP, VRFY, EXPN (RFC 5321 §4.1.1.6-9) and QUIT (§4.1.1.10).
 */
import { replies } from '../reply.ts';
import type { CommandSpec } from '../session-state.ts';

const everywhere = ['fresh', 'greeted', 'mail'] as const;

export const noop: CommandSpec = {
  phases: [...everywhere],
  reject: replies.badSequence(),
  syntax: 'NOOP',
  // RFC 5321 §4.1.1.9: NOOP may carry a string, which is ignored.
  handle: (session) => session.send(replies.noop),
};

export const vrfy: CommandSpec = {
  phases: [...everywhere],
  reject: replies.badSequence(),
  syntax: 'VRFY <string>',
  handle(session, args) {
    if (args.trim() === '') return session.send(replies.syntax('Syntax: VRFY <string>'));
    // RFC 5321 §3.5.3 / §7.3: 252 says nothing about the mailbox, so VRFY cannot enumerate accounts.
    session.send(replies.vrfy);
  },
};

export const expn: CommandSpec = {
  phases: [...everywhere],
  reject: replies.badSequence(),
  syntax: 'EXPN <list>',
  // RFC 5321 §7.3: list expansion is a privacy risk; we do not offer it.
  handle: (session) => session.send(replies.expn),
};

export const quit: CommandSpec = {
  phases: [...everywhere],
  reject: replies.badSequence(),
  syntax: 'QUIT',
  handle(session) {
    // RFC 5321 §4.1.1.10: 221, then close; an open transaction is abandoned.
    session.resetTransaction();
    session.state = { phase: 'closing' };
    session.send(replies.bye(session.options.hostname));
    session.finish('close');
  },
};
