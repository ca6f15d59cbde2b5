/**
 * SASL PLAIN, server side (RFC 4616): parses `[authzid] NUL authcid NUL passwd` and hands the
 * credentials to a verifier; the exchange itself never looks at accounts.
 */
import type { SaslExchange, SaslStep } from './types.ts';

export interface PlainCredentials {
  authzid: string;
  authcid: string;
  password: string;
}

/** The verifier decides (authzid rules, password check, throttling); it must not throw. */
export type CredentialVerifier = (credentials: PlainCredentials) => Promise<SaslStep>;

/**
 * RFC 4616 §2 limits each field to 255 octets; we allow up to `maxFieldBytes` (default 1024) because
 * password managers produce longer secrets and nothing in the exchange depends on the limit.
 */
export function parsePlainMessage(message: Buffer, options: { maxFieldBytes?: number } = {}): PlainCredentials | null {
  const maxFieldBytes = options.maxFieldBytes ?? 1024;
  const first = message.indexOf(0);
  if (first < 0) return null;
  const second = message.indexOf(0, first + 1);
  if (second < 0) return null;
  // RFC 4616 §2: exactly two NULs; authcid and passwd are 1*SAFE, authzid may be empty
  if (message.indexOf(0, second + 1) >= 0) return null;
  const parts = [message.subarray(0, first), message.subarray(first + 1, second), message.subarray(second + 1)];
  if (parts[1]!.length === 0 || parts[2]!.length === 0) return null;
  if (parts.some((p) => p.length > maxFieldBytes)) return null;
  const decoder = new TextDecoder('utf-8', { fatal: true });
  try {
    // RFC 4616 §2: the fields are UTF-8; invalid sequences make the message malformed
    const [authzid, authcid, password] = parts.map((p) => decoder.decode(p)) as [string, string, string];
    return { authzid, authcid, password };
  } catch {
    return null;
  }
}

type PlainState = { phase: 'initial' } | { phase: 'awaiting-response' } | { phase: 'done' };

export class PlainServerExchange implements SaslExchange {
  #state: PlainState = { phase: 'initial' };
  readonly #verify: CredentialVerifier;
  readonly #maxFieldBytes: number | undefined;

  constructor(options: { verify: CredentialVerifier; maxFieldBytes?: number }) {
    this.#verify = options.verify;
    this.#maxFieldBytes = options.maxFieldBytes;
  }

  async step(response: Buffer | null): Promise<SaslStep> {
    const state = this.#state;
    if (state.phase === 'done') return { kind: 'failure', reason: 'malformed' };
    if (response === null) {
      if (state.phase !== 'initial') {
        this.#state = { phase: 'done' };
        return { kind: 'failure', reason: 'malformed' };
      }
      // RFC 4616 §2 / RFC 4422 §5: no initial response → the server sends an empty challenge
      this.#state = { phase: 'awaiting-response' };
      return { kind: 'challenge', data: Buffer.alloc(0) };
    }
    this.#state = { phase: 'done' };
    const credentials = parsePlainMessage(response, { maxFieldBytes: this.#maxFieldBytes });
    if (!credentials) return { kind: 'failure', reason: 'malformed' };
    return this.#verify(credentials);
  }
}
