/**
 * Shared types of the mail-authentication and anti-spam policy: the DNS shape policy needs (the same
 * signature mailauth's `resolver` option takes), DKIM keys and where they are kept, and verdicts.
 */

/**
 * What policy needs from DNS. Same contract as node's `dns.promises.resolve(name, rrtype)`: TXT answers are
 * `string[][]` (one array of character-strings per record), MX `{ exchange, priority }[]`, A/AAAA/PTR/CNAME
 * `string[]`; a missing name or type rejects with an error whose `code` is 'ENOTFOUND' or 'ENODATA', anything
 * else (timeout, SERVFAIL) with another code. mailauth's `resolver` option uses exactly this signature.
 */
export interface PolicyResolver {
  resolve(name: string, rrtype: string): Promise<unknown>;
}

export type DkimAlgorithm = 'rsa' | 'ed25519';

export interface DkimKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  privateKeyPem: string;
  /** Base64 SubjectPublicKeyInfo (rsa) or raw 32-byte key (ed25519, RFC 8463 §4.2): the `p=` value. */
  publicKeyB64: string;
  createdAt: Date;
  active: boolean;
  /** Made but not signing yet: it signs once activated by hand or once its TXT record is seen in DNS. */
  pending?: boolean;
}

/** Where DKIM keys live. The app uses the file store (src/dkim/file-key-store.ts); a DB store may follow. */
export interface DkimKeyStore {
  addKey(domain: string, selector: string, algorithm: DkimAlgorithm, privateKeyPem: string, publicKeyB64: string): Promise<DkimKey>;
  /** All keys, newest first; only `domain`'s when given. */
  listKeys(domain?: string): Promise<DkimKey[]>;
  /** Keys that sign for `domain`: the newest active, not pending key of each algorithm (rotation by selector). */
  activeKeys(domain: string): Promise<DkimKey[]>;
}

/** A rejection or temporary failure with its SMTP reply. */
export interface PolicyReply {
  code: number;
  enhancedCode: string;
  text: string;
  /** The check that decided, for the log line of the refusal ("greylisted", "spf_fail", "spam_score"). */
  rule?: string;
}

/** The verdict vocabulary at connect / MAIL / RCPT. */
export type GateVerdict =
  | { action: 'accept' }
  | { action: 'reject'; reply: PolicyReply }
  | { action: 'tempfail'; reply: PolicyReply };

/** The verdict at end of DATA. */
export type DataVerdict =
  | { action: 'accept' }
  | { action: 'junk' }
  | { action: 'reject'; reply: PolicyReply }
  | { action: 'tempfail'; reply: PolicyReply };

/** Injected clock so that greylisting and rate limits are testable. */
export type Clock = () => number; // milliseconds since the epoch

export function dnsErrorCode(err: unknown): string | undefined {
  return typeof err === 'object' && err !== null && 'code' in err ? String((err as { code: unknown }).code) : undefined;
}

/** True for "the name or record does not exist" (as opposed to a temporary DNS failure). */
export function isNxError(err: unknown): boolean {
  const code = dnsErrorCode(err);
  return code === 'ENOTFOUND' || code === 'ENODATA' || code === 'NXDOMAIN';
}
