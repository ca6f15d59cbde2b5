/**
 * SCRAM-SHA-256, server side (RFC 5802, RFC 7677): parses client-first and client-final, builds
 * server-first, verifies the client proof and produces server-final. Credential lookup and the
 * decision what a match means (throttling, logging) come in through `ScramServerHooks`.
 */
import { randomBytes } from 'node:crypto';
import { isStrictBase64 } from './base64.ts';
import { decodeSaslname, hmacSha256, isPrintableNonce, parseAttributes, safeEqual, saslPrep, sha256, xorBuffers } from './scram-crypto.ts';
import type { AuthIdentity, SaslExchange, SaslFailureReason, SaslStep } from './types.ts';

/** One stored credential set that may match the client's proof (account password or an app password). */
export interface ScramCandidate {
  storedKey: Buffer;
  serverKey: Buffer;
  identity: AuthIdentity;
}

export type ScramLookup =
  | { kind: 'proceed'; salt: Buffer; iterations: number; candidates: ScramCandidate[] }
  | { kind: 'failure'; reason: SaslFailureReason };

export interface ScramServerHooks {
  /** After client-first: the salt and iteration count to send, and what the proof may match. */
  lookup(request: { username: string; authzid: string }): Promise<ScramLookup>;
  /** After the proof was checked: `match` is the candidate it matched, or null. Returns the final step. */
  complete(match: ScramCandidate | null): Promise<SaslStep>;
}

export interface ScramServerOptions {
  hooks: ScramServerHooks;
  /** The server's nonce part (printable, no ","); tests inject RFC 7677's. Default: 18 random bytes, base64. */
  nonce?: () => string;
  maxMessageBytes?: number;
}

export interface ClientFirst {
  gs2Header: string;
  authzid: string;
  username: string;
  clientNonce: string;
  bare: string;
}

type ScramState =
  | { phase: 'initial' }
  | { phase: 'awaiting-client-first' }
  | { phase: 'awaiting-client-final'; first: ClientFirst; serverFirst: string; nonce: string; candidates: ScramCandidate[] }
  | { phase: 'done' };

/** RFC 5802 §7: client-first-message = gs2-header client-first-message-bare. null when malformed or unsupported. */
export function parseClientFirst(text: string): ClientFirst | null {
  const c1 = text.indexOf(',');
  const c2 = c1 < 0 ? -1 : text.indexOf(',', c1 + 1);
  if (c2 < 0) return null;
  const flag = text.slice(0, c1);
  // RFC 5802 §6: "p=" asks for channel binding, which we do not offer (no -PLUS mechanism): fail.
  // "y" (client supports it, thinks we do not) and "n" are accepted as we advertise no -PLUS variant.
  if (flag !== 'n' && flag !== 'y') return null;
  const authzPart = text.slice(c1 + 1, c2);
  let authzid = '';
  if (authzPart !== '') {
    if (!authzPart.startsWith('a=')) return null;
    const decoded = decodeSaslname(authzPart.slice(2));
    if (decoded === null || decoded === '') return null;
    authzid = decoded;
  }
  const bare = text.slice(c2 + 1);
  const attrs = parseAttributes(bare);
  // RFC 5802 §5.1: "m" is reserved; its presence MUST cause authentication failure
  if (!attrs || attrs.length < 2 || attrs[0]!.name !== 'n' || attrs[1]!.name !== 'r') return null;
  if (attrs.some((a) => a.name === 'm')) return null;
  const username = decodeSaslname(attrs[0]!.value);
  if (username === null || username === '') return null;
  if (!isPrintableNonce(attrs[1]!.value)) return null;
  return { gs2Header: text.slice(0, c2 + 1), authzid: saslPrep(authzid), username: saslPrep(username), clientNonce: attrs[1]!.value, bare };
}

function defaultNonce(): string {
  return randomBytes(18).toString('base64');
}

export class ScramSha256ServerExchange implements SaslExchange {
  #state: ScramState = { phase: 'initial' };
  readonly #hooks: ScramServerHooks;
  readonly #nonce: () => string;
  readonly #maxMessageBytes: number;

  constructor(options: ScramServerOptions) {
    this.#hooks = options.hooks;
    this.#nonce = options.nonce ?? defaultNonce;
    this.#maxMessageBytes = options.maxMessageBytes ?? 4096;
  }

  async step(response: Buffer | null): Promise<SaslStep> {
    const state = this.#state;
    switch (state.phase) {
      case 'initial':
        if (response === null) {
          // RFC 4422 §5: no initial response → an empty challenge asks for client-first
          this.#state = { phase: 'awaiting-client-first' };
          return { kind: 'challenge', data: Buffer.alloc(0) };
        }
        return this.#clientFirst(response);
      case 'awaiting-client-first':
        if (response === null) return this.#fail('malformed');
        return this.#clientFirst(response);
      case 'awaiting-client-final':
        if (response === null) return this.#fail('malformed');
        return this.#clientFinal(state, response);
      case 'done':
        return { kind: 'failure', reason: 'malformed' };
    }
  }

  async #clientFirst(response: Buffer): Promise<SaslStep> {
    const text = this.#text(response);
    const first = text === null ? null : parseClientFirst(text);
    if (!first) return this.#fail('malformed');
    const lookup = await this.#hooks.lookup({ username: first.username, authzid: first.authzid });
    if (lookup.kind === 'failure') return this.#fail(lookup.reason);
    const nonce = first.clientNonce + this.#nonce();
    // RFC 5802 §7: server-first-message = [reserved-mext ","] nonce "," salt "," iteration-count
    const serverFirst = `r=${nonce},s=${lookup.salt.toString('base64')},i=${lookup.iterations}`;
    this.#state = { phase: 'awaiting-client-final', first, serverFirst, nonce, candidates: lookup.candidates };
    return { kind: 'challenge', data: Buffer.from(serverFirst) };
  }

  async #clientFinal(state: Extract<ScramState, { phase: 'awaiting-client-final' }>, response: Buffer): Promise<SaslStep> {
    const text = this.#text(response);
    if (text === null) return this.#fail('malformed');
    // RFC 5802 §7: client-final-message = client-final-message-without-proof "," proof (proof is last)
    const proofAt = text.lastIndexOf(',p=');
    if (proofAt < 0) return this.#fail('malformed');
    const withoutProof = text.slice(0, proofAt);
    const proofText = text.slice(proofAt + 3);
    const attrs = parseAttributes(withoutProof);
    if (!attrs || attrs.length < 2 || attrs[0]!.name !== 'c' || attrs[1]!.name !== 'r') return this.#fail('malformed');
    if (attrs.some((a) => a.name === 'm')) return this.#fail('malformed');
    // RFC 5802 §6: without channel binding, c= is the base64 of the gs2 header sent in client-first
    if (attrs[0]!.value !== Buffer.from(state.first.gs2Header).toString('base64')) return this.#fail('malformed');
    // RFC 5802 §5.1: the nonce must be exactly the combined nonce from server-first
    if (attrs[1]!.value !== state.nonce) return this.#fail('malformed');
    if (!isStrictBase64(proofText)) return this.#fail('malformed');
    const proof = Buffer.from(proofText, 'base64');
    if (proof.length !== 32) return this.#fail('malformed');

    this.#state = { phase: 'done' };
    // RFC 5802 §3: AuthMessage := client-first-message-bare + "," + server-first-message + "," + client-final-message-without-proof
    const authMessage = `${state.first.bare},${state.serverFirst},${withoutProof}`;
    let match: ScramCandidate | null = null;
    for (const candidate of state.candidates) {
      // RFC 5802 §3: ClientKey := ClientProof XOR ClientSignature; the proof is good when H(ClientKey) = StoredKey
      const clientSignature = hmacSha256(candidate.storedKey, authMessage);
      const clientKey = xorBuffers(proof, clientSignature);
      if (safeEqual(sha256(clientKey), candidate.storedKey) && match === null) match = candidate;
    }
    const result = await this.#hooks.complete(match);
    if (result.kind !== 'success' || match === null) return result;
    // RFC 5802 §3: ServerSignature := HMAC(ServerKey, AuthMessage); server-final-message = "v=" base64
    const serverSignature = hmacSha256(match.serverKey, authMessage);
    return { ...result, serverFinal: Buffer.from(`v=${serverSignature.toString('base64')}`) };
  }

  #text(data: Buffer): string | null {
    if (data.length === 0 || data.length > this.#maxMessageBytes) return null;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      return null;
    }
  }

  #fail(reason: SaslFailureReason): SaslStep {
    this.#state = { phase: 'done' };
    return { kind: 'failure', reason };
  }
}
