/**
 * The SMTP server session's state (a tagged union: transaction data lives only inside the phases that have
 * one), its options, and the narrow view of the session that command handlers get (SessionCore).
 */
import type { EngineContext, TlsInfo } from '../engine.ts';
import type { AuthIdentity, SaslContext, SaslExchange } from '../sasl/types.ts';
import type { BareLineEndingScanner, DataDecoder } from './data-decoder.ts';
import type { GuardedSink } from './guarded-sink.ts';
import type { MailParams, Recipient, SessionInfo, SmtpRole, SmtpServerHooks } from './hooks.ts';
import type { EnvelopeAddress } from './path.ts';
import type { Reply } from './reply.ts';

export interface SmtpServerLimits {
  /** RFC 5321 §4.5.3.1.4: a command line is at most 512 octets with CRLF. */
  commandLineBytes: number;
  /** RFC 4954 §4: an AUTH line (command with initial response, or a response) may be 12288 octets. */
  authLineBytes: number;
  /**
   * Longest DATA text line with CRLF. RFC 5321 §4.5.3.1.6 makes 1000 the least a server must accept and
   * lets it accept more (the server default, limits.line_length, is 64 KiB; this engine default is 1000).
   */
  textLineBytes: number;
  maxMessageBytes: number;
  maxRecipients: number;
  /** Error replies tolerated before `421 4.7.0` and close. */
  maxErrors: number;
  /** RFC 5321 §4.5.3.2.7: server timeout of 5 minutes waiting for the next command. */
  commandTimeoutMs: number;
  /** RFC 5321 §4.5.3.2.6: 10 minutes for the data termination. */
  dataTimeoutMs: number;
  /**
   * Submission only: the wait for the next command before AUTH succeeded (RFC 6409 clients log in at once;
   * idle unauthenticated sessions only hold slots). At most commandTimeoutMs. The MX role keeps RFC 5321's.
   */
  loginTimeoutMs: number;
}

export const DEFAULT_SMTP_LIMITS: SmtpServerLimits = {
  commandLineBytes: 512,
  authLineBytes: 12288,
  textLineBytes: 1000,
  maxMessageBytes: 26_214_400,
  maxRecipients: 100,
  maxErrors: 20,
  commandTimeoutMs: 300_000,
  dataTimeoutMs: 600_000,
  loginTimeoutMs: 300_000,
};

export interface SmtpServerOptions {
  context: EngineContext;
  hostname: string;
  role: SmtpRole;
  hooks: SmtpServerHooks;
  limits?: Partial<SmtpServerLimits>;
  /** STARTTLS is offered only when the driver has a certificate. */
  starttlsAvailable: boolean;
  /**
   * true: AUTH without TLS is refused with 538 5.7.11 and not advertised (RFC 4954 §4, RFC 8314 §3).
   * false/absent: the authenticator decides (its mechanisms() sees isTls); a mechanism it offers only
   * under TLS still gets 538 5.7.11 in the clear.
   */
  requireTlsForAuth?: boolean;
  /** Transaction ids (queue ids); default `<sessionId>.<n>`. */
  newTransactionId?: () => string;
}

/** BDAT state carried across chunks of one transaction (RFC 3030 §2). */
export interface Chunking {
  sink: GuardedSink;
  scanner: BareLineEndingScanner;
  size: number;
}

export interface Transaction {
  id: string;
  reversePath: EnvelopeAddress | null;
  mailParams: MailParams;
  recipients: Recipient[];
  /** RCPT commands seen in this transaction, accepted or not: DATA before any is out of sequence (503). */
  rcptCommands: number;
  chunking: Chunking | null;
  /** The sink's commit is running: the transaction ends when it returns, not when the client goes away. */
  committing?: boolean;
}

export type SmtpState =
  | { phase: 'fresh' } // after the greeting or STARTTLS: EHLO/HELO needed (RFC 3207 §4.2)
  | { phase: 'greeted' }
  | { phase: 'mail'; tx: Transaction }
  | { phase: 'data'; tx: Transaction; sink: GuardedSink; decoder: DataDecoder }
  | {
    phase: 'bdat';
    /** null when the chunk is refused: its bytes are read and dropped to stay in sync. */
    tx: Transaction | null;
    remaining: number;
    octets: number;
    last: boolean;
    refusal: Reply | null;
    resume: 'fresh' | 'greeted';
  }
  | { phase: 'auth'; exchange: SaslExchange; mechanism: string; success: AuthIdentity | null }
  | { phase: 'closing' };

export interface Greeting {
  helo: string;
  esmtp: boolean;
}

/** What command handlers may see and do. */
export interface SessionCore {
  readonly options: SmtpServerOptions;
  readonly limits: SmtpServerLimits;
  state: SmtpState;
  greeting: Greeting | null;
  identity: AuthIdentity | null;
  readonly tls: TlsInfo | null;
  /** The session as hooks see it; `greeting`: as it will be once that HELO/EHLO is accepted. */
  info(greeting?: Greeting): SessionInfo;
  saslContext(): SaslContext;
  newTransactionId(): string;
  send(reply: Reply): void;
  /** After this receive's output: upgrade to TLS or close. Input after the command is dropped. */
  finish(step: 'starttls' | 'close'): void;
  /** Ends (abandons) any transaction: the sink, if any, is aborted. */
  resetTransaction(): void;
  /** Runs a hook; a thrown error becomes `451 4.3.0` (and is reported), never a crash. */
  ask<T>(what: string, run: () => Promise<T>): Promise<T | Reply>;
  /** The one place that acknowledges a message: commit, then the verdict's reply (RFC 5321 §4.1.1.4, STYLE rule 7). */
  commitMessage(tx: Transaction, sink: GuardedSink, size: number): Promise<void>;
  /** Refuses a finished message (bare LF, size, long line): aborts the sink and logs the transaction. */
  refuseMessage(tx: Transaction, sink: GuardedSink, size: number, reply: Reply): void;
  /** An unexpected error (hook, sink, engine bug) for the log; never shown to the client. */
  report(where: string, err: unknown): void;
}

export type Verb = 'EHLO' | 'HELO' | 'MAIL' | 'RCPT' | 'DATA' | 'BDAT' | 'RSET' | 'NOOP' | 'QUIT' | 'VRFY' | 'EXPN' | 'HELP' | 'STARTTLS' | 'AUTH';

export type Phase = SmtpState['phase'];

export interface CommandSpec {
  /** Phases the command is accepted in; in any other (command) phase the answer is `reject`. */
  phases: Phase[];
  /** Reply when the phase does not allow the command. */
  reject: Reply;
  /** For HELP and 501 texts. */
  syntax: string;
  handle(session: SessionCore, args: string): Promise<void> | void;
}

