/**
 * The POP3 command table (RFC 1939, RFC 2449 CAPA, RFC 2595 STLS, RFC 5034 AUTH): for each verb its
 * syntax and one handler per state it is valid in. A verb without a handler for a state is refused there.
 */
import { handleAuth, handlePass, handleUser } from './auth.ts';
import { stuffedMessage } from './multiline.ts';
import {
  err,
  errorReply,
  multiline,
  ok,
  reply,
  type AuthorizationState,
  type CommandResult,
  type Pop3Runtime,
  type TransactionState,
} from './state.ts';
import type { MaildropMessage } from './backend.ts';

type Handler<S> = (runtime: Pop3Runtime, args: string, state: S) => Promise<CommandResult>;

export interface CommandSpec {
  syntax: string;
  authorization?: Handler<AuthorizationState>;
  transaction?: Handler<TransactionState>;
}

export type Pop3Verb =
  | 'USER' | 'PASS' | 'AUTH' | 'STLS' | 'CAPA' | 'QUIT'
  | 'STAT' | 'LIST' | 'RETR' | 'DELE' | 'NOOP' | 'RSET' | 'TOP' | 'UIDL';

const MESSAGE_NUMBER = /^[1-9][0-9]{0,9}$/;
const LINE_COUNT = /^[0-9]{1,10}$/;

type Resolved = { ok: true; number: number; message: MaildropMessage } | { ok: false; result: CommandResult };

/** RFC 1939 §5: a message number must exist and must not be marked as deleted. */
function resolveMessage(state: TransactionState, arg: string | undefined): Resolved {
  if (arg === undefined || !MESSAGE_NUMBER.test(arg)) return { ok: false, result: errorReply('Invalid message number') };
  const number = Number(arg);
  const message = state.messages[number - 1];
  if (!message) return { ok: false, result: errorReply('No such message') };
  if (state.deleted.has(number)) return { ok: false, result: errorReply(`Message ${number} already deleted`) };
  return { ok: true, number, message };
}

function splitArgs(args: string): string[] {
  return args === '' ? [] : args.split(/ +/);
}

function visible(state: TransactionState): { number: number; message: MaildropMessage }[] {
  const out: { number: number; message: MaildropMessage }[] = [];
  state.messages.forEach((message, index) => {
    if (!state.deleted.has(index + 1)) out.push({ number: index + 1, message });
  });
  return out;
}

function dropSummary(state: TransactionState): { count: number; octets: number } {
  const list = visible(state);
  return { count: list.length, octets: list.reduce((sum, entry) => sum + entry.message.size, 0) };
}

function uniqueId(state: TransactionState, message: MaildropMessage): string {
  // RFC 1939 §7: 1-70 characters in 0x21-0x7E, never reused for another message of this maildrop;
  // UIDVALIDITY.UID stays stable across sessions for as long as IMAP UIDs do.
  return `${state.maildrop.uidValidity}.${message.uid}`;
}

function capabilities(runtime: Pop3Runtime): string[] {
  // RFC 2449 §5: the capabilities of the AUTHORIZATION state are announced in both states.
  const lines = ['TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
  // RFC 2595 §4 / RFC 2449 §6.2: USER only where a plaintext password may be sent.
  if (runtime.canPlaintextAuth) lines.push('USER');
  const mechanisms = runtime.mechanisms();
  if (mechanisms.length > 0) lines.push(`SASL ${mechanisms.join(' ')}`);
  if (runtime.starttlsAvailable && !runtime.isTls) lines.push('STLS');
  lines.push('IMPLEMENTATION Postamt');
  return lines;
}

function noArguments(args: string, verb: string): CommandResult | null {
  return args === '' ? null : errorReply(`Syntax: ${verb}`);
}

async function* runUpdate(runtime: Pop3Runtime, options: { uids: number[]; remaining: number }): AsyncGenerator<Buffer> {
  const state = runtime.state;
  if (state.phase !== 'update') return;
  state.isStarted = true;
  try {
    let line: string;
    try {
      // RFC 1939 §6: UPDATE removes the marked messages, then answers and closes.
      if (options.uids.length > 0) await state.maildrop.expunge(options.uids);
      const left = options.remaining === 0 ? 'maildrop empty' : `${options.remaining} message${options.remaining === 1 ? '' : 's'} left`;
      line = ok(`${runtime.hostname} POP3 server signing off (${left})`);
    } catch (error) {
      runtime.logger?.error({ event: 'pop3.update_failed', err: error }, 'pop3 expunge failed');
      line = err('Some deleted messages not removed', 'SYS/TEMP');
    }
    yield Buffer.from(line);
  } finally {
    state.maildrop.release();
  }
}

export const COMMANDS: Record<Pop3Verb, CommandSpec> = {
  USER: { syntax: 'USER name', authorization: handleUser },
  PASS: { syntax: 'PASS password', authorization: handlePass },
  AUTH: { syntax: 'AUTH [mechanism [initial-response]]', authorization: handleAuth },
  STLS: {
    syntax: 'STLS',
    // RFC 2595 §4: only in AUTHORIZATION, and only once.
    authorization: async (runtime, args) => {
      if (args !== '') return errorReply('Syntax: STLS');
      if (runtime.isTls) return errorReply('Already using TLS');
      if (!runtime.starttlsAvailable) return errorReply('TLS is not available');
      return { data: [ok('Begin TLS negotiation')], then: 'starttls' };
    },
  },
  CAPA: {
    syntax: 'CAPA',
    authorization: async (runtime, args) => noArguments(args, 'CAPA') ?? reply(multiline('Capability list follows', capabilities(runtime))),
    transaction: async (runtime, args) => noArguments(args, 'CAPA') ?? reply(multiline('Capability list follows', capabilities(runtime))),
  },
  QUIT: {
    syntax: 'QUIT',
    // RFC 1939 §4: QUIT in AUTHORIZATION ends the session without entering UPDATE.
    authorization: async (runtime) => {
      runtime.state = { phase: 'closed' };
      return { data: [ok(`${runtime.hostname} POP3 server signing off`)], then: 'close' };
    },
    transaction: async (runtime, _args, state) => {
      const uids = [...state.deleted].sort((a, b) => a - b).map((number) => state.messages[number - 1].uid);
      const remaining = state.messages.length - state.deleted.size;
      runtime.state = { phase: 'update', maildrop: state.maildrop, isStarted: false };
      // The expunge runs lazily, when the driver writes this part: after any RETR streamed before it.
      return { data: [runUpdate(runtime, { uids, remaining })], then: 'close' };
    },
  },
  STAT: {
    syntax: 'STAT',
    transaction: async (_runtime, args, state) => {
      const { count, octets } = dropSummary(state);
      return noArguments(args, 'STAT') ?? reply(ok(`${count} ${octets}`));
    },
  },
  LIST: {
    syntax: 'LIST [msg]',
    transaction: async (_runtime, args, state) => {
      const parts = splitArgs(args);
      if (parts.length > 1) return errorReply('Syntax: LIST [msg]');
      if (parts.length === 1) {
        const found = resolveMessage(state, parts[0]);
        return found.ok ? reply(ok(`${found.number} ${found.message.size}`)) : found.result;
      }
      const { count, octets } = dropSummary(state);
      const lines = visible(state).map(({ number, message }) => `${number} ${message.size}`);
      return reply(multiline(`${count} messages (${octets} octets)`, lines));
    },
  },
  UIDL: {
    syntax: 'UIDL [msg]',
    transaction: async (_runtime, args, state) => {
      const parts = splitArgs(args);
      if (parts.length > 1) return errorReply('Syntax: UIDL [msg]');
      if (parts.length === 1) {
        const found = resolveMessage(state, parts[0]);
        return found.ok ? reply(ok(`${found.number} ${uniqueId(state, found.message)}`)) : found.result;
      }
      const lines = visible(state).map(({ number, message }) => `${number} ${uniqueId(state, message)}`);
      return reply(multiline('Unique-ID listing follows', lines));
    },
  },
  RETR: {
    syntax: 'RETR msg',
    transaction: async (_runtime, args, state) => {
      const parts = splitArgs(args);
      if (parts.length !== 1) return errorReply('Syntax: RETR msg');
      const found = resolveMessage(state, parts[0]);
      if (!found.ok) return found.result;
      const body = stuffedMessage({
        chunks: state.maildrop.stream(found.message.uid),
        okLine: ok(`${found.message.size} octets`),
        errLine: err('Message is no longer available', 'SYS/TEMP'),
      });
      return { data: [body] };
    },
  },
  TOP: {
    syntax: 'TOP msg n',
    transaction: async (_runtime, args, state) => {
      const parts = splitArgs(args);
      if (parts.length !== 2 || !LINE_COUNT.test(parts[1])) return errorReply('Syntax: TOP msg n');
      const found = resolveMessage(state, parts[0]);
      if (!found.ok) return found.result;
      const body = stuffedMessage({
        chunks: state.maildrop.stream(found.message.uid),
        topLines: Number(parts[1]),
        okLine: ok('Top of message follows'),
        errLine: err('Message is no longer available', 'SYS/TEMP'),
      });
      return { data: [body] };
    },
  },
  DELE: {
    syntax: 'DELE msg',
    transaction: async (_runtime, args, state) => {
      const parts = splitArgs(args);
      if (parts.length !== 1) return errorReply('Syntax: DELE msg');
      const found = resolveMessage(state, parts[0]);
      if (!found.ok) return found.result;
      state.deleted.add(found.number);
      return reply(ok(`Message ${found.number} deleted`));
    },
  },
  NOOP: {
    syntax: 'NOOP',
    transaction: async (_runtime, args) => noArguments(args, 'NOOP') ?? reply(ok('')),
  },
  RSET: {
    syntax: 'RSET',
    transaction: async (_runtime, args, state) => {
      const refused = noArguments(args, 'RSET');
      if (refused) return refused;
      // RFC 1939 §5: RSET unmarks every message marked as deleted.
      state.deleted.clear();
      const { count, octets } = dropSummary(state);
      return reply(ok(`Maildrop has ${count} messages (${octets} octets)`));
    },
  },
};

export function isPop3Verb(word: string): word is Pop3Verb {
  return Object.prototype.hasOwnProperty.call(COMMANDS, word);
}
