/**
 * SASL client side for the outbound SMTP client (smarthost AUTH) and for tests: PLAIN (RFC 4616),
 * LOGIN (draft-murchison-sasl-login) and SCRAM-SHA-256 (RFC 5802, RFC 7677) including server-final checks.
 */
import { randomBytes } from 'node:crypto';
import { isStrictBase64 } from './base64.ts';
import { encodeSaslname, hmacSha256, isPrintableNonce, parseAttributes, safeEqual, saltedPassword, scramKeys, xorBuffers } from './scram-crypto.ts';

/** RFC 4616 §2: `[authzid] NUL authcid NUL passwd` (not yet base64-encoded). */
export function plainClientResponse(username: string, password: string, authzid = ''): Buffer {
  return Buffer.from(`${authzid}\0${username}\0${password}`, 'utf8');
}

export interface LoginClient {
  /** The answer to one server challenge (decoded). */
  respond(challenge: Buffer): Buffer;
}

/**
 * LOGIN has no grammar: the prompts are free text. We answer "User..." prompts with the user name,
 * "Pass..." with the password, and anything else by position (first the user name, then the password).
 */
export function loginClient(username: string, password: string): LoginClient {
  let answered = 0;
  return {
    respond(challenge: Buffer): Buffer {
      const prompt = challenge.toString('utf8').trim().toLowerCase();
      answered++;
      if (prompt.startsWith('user')) return Buffer.from(username, 'utf8');
      if (prompt.startsWith('pass')) return Buffer.from(password, 'utf8');
      return Buffer.from(answered === 1 ? username : password, 'utf8');
    },
  };
}

export class ScramClientError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ScramClientError';
  }
}

export interface ScramClientOptions {
  username: string;
  password: string;
  authzid?: string;
  /** Client nonce (printable, no ","); default 18 random bytes, base64. Tests inject RFC 7677's. */
  nonce?: string;
  /** A hostile server could ask for billions of PBKDF2 rounds; refuse above this (default 1,000,000). */
  maxIterations?: number;
}

type ScramClientState =
  | { phase: 'initial' }
  | { phase: 'sent-client-first'; bare: string; gs2Header: string }
  | { phase: 'sent-client-final'; expectedServerSignature: Buffer }
  | { phase: 'done' };

export class ScramSha256Client {
  readonly #options: ScramClientOptions;
  readonly #nonce: string;
  #state: ScramClientState = { phase: 'initial' };

  constructor(options: ScramClientOptions) {
    this.#options = options;
    this.#nonce = options.nonce ?? randomBytes(18).toString('base64');
    if (!isPrintableNonce(this.#nonce)) throw new ScramClientError('invalid client nonce');
  }

  /** client-first-message; we never do channel binding, so the gs2 header is "n,," (RFC 5802 §6). */
  clientFirst(): Buffer {
    const authzid = this.#options.authzid ? `a=${encodeSaslname(this.#options.authzid)}` : '';
    const gs2Header = `n,${authzid},`;
    const bare = `n=${encodeSaslname(this.#options.username)},r=${this.#nonce}`;
    this.#state = { phase: 'sent-client-first', bare, gs2Header };
    return Buffer.from(gs2Header + bare);
  }

  /** Takes server-first, returns client-final. Throws ScramClientError when server-first is not acceptable. */
  async handleServerFirst(data: Buffer): Promise<Buffer> {
    const state = this.#state;
    if (state.phase !== 'sent-client-first') throw new ScramClientError('unexpected server-first-message');
    this.#state = { phase: 'done' };
    const serverFirst = data.toString('utf8');
    const attrs = parseAttributes(serverFirst);
    if (!attrs || attrs.length < 3) throw new ScramClientError('malformed server-first-message');
    if (attrs.some((a) => a.name === 'm')) throw new ScramClientError('server requires an unsupported extension');
    const [r, s, i] = attrs as [{ name: string; value: string }, { name: string; value: string }, { name: string; value: string }];
    if (r.name !== 'r' || s.name !== 's' || i.name !== 'i') throw new ScramClientError('malformed server-first-message');
    // RFC 5802 §5.1: the server nonce must start with the client nonce
    if (!r.value.startsWith(this.#nonce) || r.value.length <= this.#nonce.length || !isPrintableNonce(r.value)) {
      throw new ScramClientError('server nonce does not extend the client nonce');
    }
    if (!isStrictBase64(s.value) || s.value === '') throw new ScramClientError('malformed salt');
    if (!/^[1-9][0-9]{0,9}$/.test(i.value)) throw new ScramClientError('malformed iteration count');
    const iterations = Number(i.value);
    if (iterations > (this.#options.maxIterations ?? 1_000_000)) throw new ScramClientError('iteration count too high');

    const salted = await saltedPassword(this.#options.password, Buffer.from(s.value, 'base64'), iterations);
    const keys = scramKeys(salted);
    const withoutProof = `c=${Buffer.from(state.gs2Header).toString('base64')},r=${r.value}`;
    const authMessage = `${state.bare},${serverFirst},${withoutProof}`;
    const clientSignature = hmacSha256(keys.storedKey, authMessage);
    const proof = xorBuffers(keys.clientKey, clientSignature);
    this.#state = { phase: 'sent-client-final', expectedServerSignature: hmacSha256(keys.serverKey, authMessage) };
    return Buffer.from(`${withoutProof},p=${proof.toString('base64')}`);
  }

  /**
   * RFC 5802 §3: the client MUST verify ServerSignature; a mismatch means the server does not know the
   * password (or someone is in the middle). Throws ScramClientError on "e=" or a wrong signature.
   */
  verifyServerFinal(data: Buffer): void {
    const state = this.#state;
    this.#state = { phase: 'done' };
    if (state.phase !== 'sent-client-final') throw new ScramClientError('unexpected server-final-message');
    const text = data.toString('utf8');
    if (text.startsWith('e=')) throw new ScramClientError(`server error: ${text.slice(2)}`);
    const attrs = parseAttributes(text);
    const v = attrs?.[0];
    if (!v || v.name !== 'v' || !isStrictBase64(v.value)) throw new ScramClientError('malformed server-final-message');
    if (!safeEqual(Buffer.from(v.value, 'base64'), state.expectedServerSignature)) {
      throw new ScramClientError('server signature mismatch');
    }
  }
}
