/**
 * SASL LOGIN, server side (draft-murchison-sasl-login-00): "Username:" then "Password:" challenges.
 * Obsolete but still what Outlook and many devices use; the credentials go to the same verifier as PLAIN.
 */
import type { CredentialVerifier } from './plain.ts';
import type { SaslExchange, SaslStep } from './types.ts';

type LoginState = { phase: 'initial' } | { phase: 'awaiting-username' } | { phase: 'awaiting-password'; username: string } | { phase: 'done' };

export const LOGIN_USERNAME_CHALLENGE = Buffer.from('Username:');
export const LOGIN_PASSWORD_CHALLENGE = Buffer.from('Password:');

export class LoginServerExchange implements SaslExchange {
  #state: LoginState = { phase: 'initial' };
  readonly #verify: CredentialVerifier;
  readonly #maxFieldBytes: number;

  constructor(options: { verify: CredentialVerifier; maxFieldBytes?: number }) {
    this.#verify = options.verify;
    this.#maxFieldBytes = options.maxFieldBytes ?? 1024;
  }

  async step(response: Buffer | null): Promise<SaslStep> {
    const state = this.#state;
    switch (state.phase) {
      case 'initial':
        if (response === null) {
          this.#state = { phase: 'awaiting-username' };
          return { kind: 'challenge', data: LOGIN_USERNAME_CHALLENGE };
        }
        // draft-murchison-sasl-login §2: an initial response (SMTP "AUTH LOGIN <b64>") is the user name
        return this.#takeUsername(response);
      case 'awaiting-username':
        if (response === null) return this.#fail();
        return this.#takeUsername(response);
      case 'awaiting-password': {
        this.#state = { phase: 'done' };
        const password = response === null ? null : this.#decode(response);
        if (password === null || password === '') return { kind: 'failure', reason: 'malformed' };
        return this.#verify({ authzid: '', authcid: state.username, password });
      }
      case 'done':
        return { kind: 'failure', reason: 'malformed' };
    }
  }

  #takeUsername(response: Buffer): SaslStep {
    const username = this.#decode(response);
    if (username === null || username === '') return this.#fail();
    this.#state = { phase: 'awaiting-password', username };
    return { kind: 'challenge', data: LOGIN_PASSWORD_CHALLENGE };
  }

  #fail(): SaslStep {
    this.#state = { phase: 'done' };
    return { kind: 'failure', reason: 'malformed' };
  }

  #decode(data: Buffer): string | null {
    if (data.length > this.#maxFieldBytes || data.includes(0)) return null;
    try {
      return new TextDecoder('utf-8', { fatal: true }).decode(data);
    } catch {
      return null;
    }
  }
}
