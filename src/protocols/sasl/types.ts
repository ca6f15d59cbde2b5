/**
 * SASL as the protocol engines see it (RFC 4422): an authenticator offers mechanisms and runs one
 * exchange at a time. Engines only frame challenges/responses for their protocol (SMTP 334, IMAP +, POP3 +).
 */

export interface AuthIdentity {
  accountId: number;
  address: string;
  /** Set when an app-specific password was used. */
  appPasswordId?: number;
  /** A fingerprint of the account's password as it was at login: another one later means it was changed. */
  credential?: string;
  /** The stored hash of the Bearer token the login came with (never the token): what ends with the session. */
  accessToken?: string;
}

/** Which session a login belongs to, for the log. */
export interface LoginSession {
  protocol: 'smtp' | 'imap' | 'pop3' | 'http';
  sessionId: string;
}

/**
 * Ends sessions whose login stopped being valid: the account was removed or disabled, its password changed,
 * or the app password used was removed. Engines call `watch` once logged in; `revoke` is called at most once,
 * with a short reason for the client, and the engine then ends the session. The returned function stops
 * watching (logout, STARTTLS reset, close).
 */
export interface LoginWatcher {
  watch(identity: AuthIdentity, session: LoginSession, revoke: (reason: string) => void): () => void;
}

export type SaslFailureReason =
  | 'invalid-credentials' // wrong user or password: the same answer for both (no account enumeration)
  | 'malformed' // not valid base64 or not valid for the mechanism
  | 'cancelled' // the client sent "*"
  | 'throttled' // too many failures from this IP/account: 454 4.7.0 / [UNAVAILABLE] / [SYS/TEMP]
  | 'temporary'; // our fault (store unavailable)

export type SaslStep =
  | { kind: 'challenge'; data: Buffer }
  | { kind: 'success'; identity: AuthIdentity; /** SCRAM server-final, sent as additional data (RFC 4954 §4) */ serverFinal?: Buffer }
  | { kind: 'failure'; reason: SaslFailureReason };

export interface SaslExchange {
  /**
   * The client's next response, already base64-decoded; `null` for the first step when the client sent
   * no initial response. An empty initial response ("=" in SMTP/IMAP) is an empty Buffer.
   */
  step(response: Buffer | null): Promise<SaslStep>;
}

export interface SaslContext {
  protocol: 'smtp' | 'imap' | 'pop3' | 'http';
  remoteAddress: string;
  isTls: boolean;
}

export interface SaslAuthenticator {
  /** Mechanisms to advertise in this context (none before TLS unless plaintext is allowed). */
  mechanisms(context: SaslContext): string[];
  /** null when the mechanism is unknown or not allowed in this context. */
  start(mechanism: string, context: SaslContext): SaslExchange | null;
  /** USER/PASS and IMAP LOGIN: a plain username/password check with the same throttling. */
  checkPassword(username: string, password: string, context: SaslContext): Promise<SaslStep>;
}
