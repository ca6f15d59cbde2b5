/**
 * What the POP3 engine needs from the rest of the server: a locked maildrop (the account's INBOX)
 * snapshotted at login. `mail/pop3-backend.ts` implements it on account-scoped mail access.
 */
import type { AuthIdentity } from '../sasl/types.ts';

export interface MaildropMessage {
  uid: number;
  /** Octets as sent by RETR: the stored message already has CRLF line ends (RFC 1939 §11). */
  size: number;
}

export interface Maildrop {
  /** The messages at login, ordered by UID; message number n is messages[n - 1]. */
  readonly messages: readonly MaildropMessage[];
  readonly uidValidity: number;
  /** The message bytes in chunks; throws (possibly on first iteration) when the message is gone. */
  stream(uid: number): AsyncIterable<Buffer>;
  read(uid: number): Promise<Buffer>;
  /** RFC 1939 §6: the UPDATE state removes the messages marked as deleted. */
  expunge(uids: number[]): Promise<void>;
  /** Releases the lock; idempotent. */
  release(): void;
}

export type OpenMaildropResult =
  | { ok: true; maildrop: Maildrop }
  | { ok: false; reason: 'in-use' | 'temporary' };

export interface Pop3Backend {
  /** RFC 1939 §8: acquires an exclusive lock on the maildrop; 'in-use' when another POP3 session holds it. */
  openMaildrop(identity: AuthIdentity): Promise<OpenMaildropResult>;
}
