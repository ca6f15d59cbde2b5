/**
 * ARC sealing (RFC 8617) when Postamt forwards a message off-site (aliases to external addresses): adds
 * ARC-Authentication-Results, ARC-Message-Signature and ARC-Seal, so the next hop can trust our
 * authentication results even though SPF will now see our IP. The cryptography is mailauth's.
 */
import { sealMessage } from 'mailauth';
import { messageStream, type MessageParts } from './message-parts.ts';
import type { DkimKey } from './types.ts';

export interface ArcSealOptions {
  /** The message as it will be forwarded (with our Authentication-Results already prepended or not); a body in a spool file is streamed. */
  message: Buffer | MessageParts;
  /** Any key of ours; d= is its domain, s= its selector. */
  key: DkimKey;
  /** Authentication-Results value we computed on receipt: "authserv-id; spf=...; dkim=...". */
  authResults: string;
  /** Chain validation status of the ARC sets already present (RFC 8617 §4.1.3). */
  cv: 'none' | 'pass' | 'fail';
  now?: Date;
}

/** The three ARC header fields to prepend (CRLF-terminated), or an empty buffer if mailauth could not seal. */
export async function arcSeal(options: ArcSealOptions): Promise<Buffer> {
  const seal = {
    signingDomain: options.key.domain,
    selector: options.key.selector,
    privateKey: options.key.privateKeyPem,
    algorithm: options.key.algorithm === 'ed25519' ? 'ed25519-sha256' : 'rsa-sha256',
    signTime: options.now ?? new Date(),
    // Not in mailauth's typings, but read by its createSeal().
    authResults: options.authResults,
    cv: options.cv,
  };
  const input = Buffer.isBuffer(options.message) ? options.message : messageStream(options.message);
  return sealMessage(input as Buffer, seal as Parameters<typeof sealMessage>[1]);
}
