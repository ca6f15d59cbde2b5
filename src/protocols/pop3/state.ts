/**
 * POP3 session state (RFC 1939 §3: AUTHORIZATION, TRANSACTION, UPDATE) as a discriminated union,
 * the reply formatting, and the narrow view of the session that command handlers work on.
 */
import type { Logger } from '../../core/log.ts';
import type { OutputPart } from '../engine.ts';
import type { AuthIdentity, SaslAuthenticator, SaslContext, SaslExchange } from '../sasl/types.ts';
import type { Maildrop, MaildropMessage, Pop3Backend } from './backend.ts';

export interface AuthorizationState {
  phase: 'authorization';
  /** The name given by USER, waiting for PASS. */
  user: string | null;
}

/** Inside AUTHORIZATION: an AUTH exchange is running and the next line is a SASL response (RFC 5034 §4). */
export interface SaslState {
  phase: 'sasl';
  mechanism: string;
  exchange: SaslExchange;
  /** Success already decided; waiting for the empty response to the server-final challenge. */
  pendingIdentity: AuthIdentity | null;
}

export interface TransactionState {
  phase: 'transaction';
  identity: AuthIdentity;
  maildrop: Maildrop;
  /** The snapshot taken at login: message number n is messages[n - 1] for the whole session. */
  messages: readonly MaildropMessage[];
  /** Message numbers marked by DELE (RFC 1939 §5). */
  deleted: Set<number>;
}

/** After QUIT in TRANSACTION: nothing more is read; the expunge runs when the QUIT reply is written. */
export interface UpdateState {
  phase: 'update';
  maildrop: Maildrop;
  /** Set once the update has begun; from then on it releases the maildrop itself. */
  isStarted: boolean;
}

export interface ClosedState {
  phase: 'closed';
}

export type Pop3State = AuthorizationState | SaslState | TransactionState | UpdateState | ClosedState;

export interface CommandResult {
  data: OutputPart[];
  then?: 'starttls' | 'close';
  /** Counts toward limits.maxErrors. */
  isError?: boolean;
}

/** What handlers may see and change of the session. */
export interface Pop3Runtime {
  state: Pop3State;
  readonly hostname: string;
  readonly isTls: boolean;
  readonly starttlsAvailable: boolean;
  /** RFC 2595 §2: plaintext passwords only over TLS, unless the configuration allows it here. */
  readonly canPlaintextAuth: boolean;
  readonly backend: Pop3Backend;
  readonly sasl: SaslAuthenticator;
  readonly logger: Logger | undefined;
  saslContext(): SaslContext;
  /** The SASL mechanisms usable right now. */
  mechanisms(): string[];
  /** Called on entering TRANSACTION: the session ends if the login stops being valid. */
  watchLogin(identity: AuthIdentity): void;
}

/** RFC 2449 §8 extended response codes we use (RFC 3206 adds SYS and AUTH). */
export type ResponseCode = 'AUTH' | 'SYS/TEMP' | 'SYS/PERM' | 'IN-USE';

export function ok(text: string): string {
  return text === '' ? '+OK\r\n' : `+OK ${text}\r\n`;
}

export function err(text: string, code?: ResponseCode): string {
  return code ? `-ERR [${code}] ${text}\r\n` : `-ERR ${text}\r\n`;
}

/** A multi-line response whose lines never start with "." (lists, CAPA), so no stuffing is needed. */
export function multiline(first: string, lines: string[]): string {
  return `+OK ${first}\r\n${lines.map((line) => `${line}\r\n`).join('')}.\r\n`;
}

export function reply(data: string): CommandResult {
  return { data: [data] };
}

export function errorReply(text: string, code?: ResponseCode): CommandResult {
  return { data: [err(text, code)], isError: true };
}
