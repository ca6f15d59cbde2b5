/**
 * What the SMTP server engine asks of the application (Haraka's hooks / smtp-server's onMailFrom, named by
 * role): verdicts at each decision point and a MessageSink for the data. The app implements it.
 */
import type { TlsInfo } from '../engine.ts';
import type { AuthIdentity, LoginWatcher, SaslAuthenticator } from '../sasl/types.ts';
import type { EnvelopeAddress } from './path.ts';

export type Verdict = { ok: true; text?: string } | { ok: false; code: number; enhancedCode: string; text: string };

export type SmtpRole = 'mx' | 'submission';

export interface SessionInfo {
  sessionId: string;
  role: SmtpRole;
  remoteAddress: string;
  helo: string | null;
  esmtp: boolean;
  tls: TlsInfo | null;
  identity: AuthIdentity | null;
}

export interface MailParams {
  size: number | null;
  body: '7BIT' | '8BITMIME' | null;
  smtpUtf8: boolean;
  ret: 'FULL' | 'HDRS' | null;
  envid: string | null;
}

export interface RcptParams {
  notify: string[] | null; // RFC 3461 §4.1: NEVER, or some of SUCCESS, FAILURE, DELAY
  orcpt: string | null; // "rfc822;addr" (decoded xtext)
}

export interface Recipient {
  forwardPath: EnvelopeAddress;
  params: RcptParams;
}

export interface Envelope extends SessionInfo {
  transactionId: string;
  reversePath: EnvelopeAddress | null; // null: the null reverse-path <>
  mailParams: MailParams;
  recipients: Recipient[];
  /** RFC 3848 `with` keyword: SMTP, ESMTP, ESMTPS, ESMTPA, ESMTPSA. */
  protocol: string;
}

/**
 * Receives the message body (CRLF line ends, dot-unstuffed); nothing is acknowledged before `commit`
 * resolves with an ok verdict. Chunks are never reused by the engine, so a sink may keep them.
 */
export interface MessageSink {
  write(chunk: Buffer): void;
  commit(): Promise<Verdict>;
  abort(): void;
}

export interface TransactionRecord {
  envelope: Envelope;
  size: number;
  code: number;
  enhancedCode: string | null;
  text: string;
}

export interface SmtpServerHooks {
  /** At connect: a refusal is sent instead of the greeting, then the connection closes (RFC 5321 §3.1). */
  checkConnection?(info: SessionInfo): Promise<Verdict>;
  checkHelo?(info: SessionInfo, helo: string): Promise<Verdict>;
  checkMailFrom(info: SessionInfo, reversePath: EnvelopeAddress | null, params: MailParams): Promise<Verdict>;
  checkRcptTo(info: SessionInfo & { transactionId: string; reversePath: EnvelopeAddress | null; recipientCount: number }, forwardPath: EnvelopeAddress, params: RcptParams): Promise<Verdict>;
  /**
   * At DATA or the first BDAT: the sink for the message, or a refusal sent instead of 354 (e.g. 452 4.3.1
   * when the server cannot take more mail in transit); a refusal ends the transaction.
   */
  beginMessage(envelope: Envelope): Promise<MessageSink | Verdict>;
  sasl?: SaslAuthenticator;
  /**
   * Every transaction (opened by an accepted MAIL) ends with exactly one call: `accepted` after a 2xx to its data, else
   * (refused data, RSET, EHLO, QUIT, timeout, disconnect, shutdown) not. What was reserved for it is settled here.
   */
  endTransaction?(info: SessionInfo, end: { transactionId: string; accepted: boolean }): void;
  /** Ends an authenticated session (421 4.7.0) when its login stops being valid (account removed or disabled, password changed). */
  logins?: LoginWatcher;
  /** One call per finished transaction (accepted or refused at end of data) for the log. */
  onTransaction?(record: TransactionRecord): void;
  /** Unexpected errors (a hook or sink threw, an engine bug) for the log; the client sees only 451/421. */
  onInternalError?(info: SessionInfo, where: string, error: unknown): void;
  /** Protocol errors (bad commands, refused data) for the log. */
  onProtocolError?(info: SessionInfo, detail: { command: string; code: number; enhancedCode: string | null }): void;
}
