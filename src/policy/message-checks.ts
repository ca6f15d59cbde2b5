/**
 * The CPU-heavy work done on each untrusted message (authentication checks through mailauth, DKIM signing,
 * ARC sealing) behind one interface, so that the app can run it on worker threads (src/policy/check-pool.ts)
 * while tests and the CLI run it in-process.
 */
import { arcSeal, type ArcSealOptions } from './arc-seal.ts';
import { signParts } from './dkim-sign.ts';
import { checkInboundParts, type InboundAuthResult } from './inbound-auth.ts';
import type { BodyRef, MessageParts } from './message-parts.ts';
import type { DkimKey, PolicyResolver } from './types.ts';

export interface AuthenticateInput {
  parts: MessageParts;
  ip: string;
  helo: string;
  sender: string;
  hostname: string;
  minRsaBits: number;
}

export interface SignInput {
  header: Buffer;
  body: BodyRef;
  domain: string;
  keys: DkimKey[];
}

export interface SealInput {
  parts: MessageParts;
  key: DkimKey;
  authResults: string;
  cv: ArcSealOptions['cv'];
}

export interface MessageChecks {
  /** SPF, DKIM, DMARC and ARC (inbound-auth.ts); DNS questions go through `resolver`. */
  authenticate(input: AuthenticateInput, resolver: PolicyResolver): Promise<InboundAuthResult>;
  /** DKIM-Signature fields to prepend (dkim-sign.ts). */
  sign(input: SignInput): Promise<Buffer>;
  /** ARC set to prepend (arc-seal.ts). */
  seal(input: SealInput): Promise<Buffer>;
}

export const localMessageChecks: MessageChecks = {
  authenticate: (input, resolver) => checkInboundParts({ ...input, resolver }),
  sign: (input) => signParts(input),
  seal: (input) => arcSeal({ message: input.parts, key: input.key, authResults: input.authResults, cv: input.cv }),
};
