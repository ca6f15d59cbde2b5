/**
 * The typed command table: every verb, the phases it is allowed in, its syntax text (HELP, 501) and its
 * handler. Dispatch is a lookup here, never a method name built from input.
 */
import { reply, replies } from '../reply.ts';
import type { CommandSpec, Verb } from '../session-state.ts';
import { auth } from './auth.ts';
import { bdat, data } from './data.ts';
import { ehlo, helo } from './ehlo.ts';
import { expn, noop, quit, vrfy } from './informational.ts';
import { starttls } from './starttls.ts';
import { mail, rcpt, rset } from './transaction.ts';

const help: CommandSpec = {
  phases: ['fresh', 'greeted', 'mail'],
  reject: replies.badSequence(),
  syntax: 'HELP [command]',
  handle(session, args) {
    const topic = args.trim().toUpperCase();
    if (topic === '') return session.send(replies.help);
    const spec = isVerb(topic) ? COMMANDS[topic] : undefined;
    // RFC 5321 §4.1.1.8: 214 with help text; 504 for an unknown topic.
    if (!spec) return session.send(reply(504, '5.5.1', `HELP topic ${topic.slice(0, 32)} unknown`));
    session.send(reply(214, '2.0.0', spec.syntax));
  },
};

export const COMMANDS: Record<Verb, CommandSpec> = {
  EHLO: ehlo,
  HELO: helo,
  MAIL: mail,
  RCPT: rcpt,
  DATA: data,
  BDAT: bdat,
  RSET: rset,
  NOOP: noop,
  QUIT: quit,
  VRFY: vrfy,
  EXPN: expn,
  HELP: help,
  STARTTLS: starttls,
  AUTH: auth,
};

export function isVerb(word: string): word is Verb {
  return Object.prototype.hasOwnProperty.call(COMMANDS, word);
}
