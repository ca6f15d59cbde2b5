/**
 * Answers ACME TLS-ALPN-01 validations (RFC 8737) on the https listener: while a challenge is pending, a
 * connection whose ClientHello offers only the "acme-tls/1" protocol gets the challenge certificate for its
 * server name and is closed after the handshake; every other connection goes on to the normal handshake.
 */
import type { Socket } from 'node:net';
import tls from 'node:tls';
import type { Logger } from '../core/log.ts';
import { peekClientHello } from './client-hello.ts';
import type { TlsProvider } from './tls.ts';

export const ACME_TLS_ALPN = 'acme-tls/1';

/** Resolves true when the connection was an ACME validation and has been answered (the caller is done with it). */
export async function answeredTlsAlpnChallenge(socket: Socket, provider: TlsProvider, options: { listener: string; ip: string; timeoutMs: number; logger: Logger }): Promise<boolean> {
  if (!provider.hasAlpnChallenges()) return false;
  const hello = await peekClientHello(socket, options.timeoutMs);
  // RFC 8737 §3: the validation offers the "acme-tls/1" protocol (and only it) with the name being validated.
  if (!hello?.alpn.includes(ACME_TLS_ALPN)) return false;
  const context = hello.servername ? provider.alpnChallengeContext(hello.servername) : null;
  if (!context) {
    options.logger.warn({ event: 'acme.tls_alpn_refused', listener: options.listener, ip: options.ip, name: hello.servername }, 'TLS-ALPN-01 validation for a name with no pending challenge');
    socket.destroy();
    return true;
  }
  const secure = new tls.TLSSocket(socket, { isServer: true, secureContext: context, ALPNProtocols: [ACME_TLS_ALPN] });
  const timer = setTimeout(() => secure.destroy(), options.timeoutMs);
  secure.once('secure', () => {
    options.logger.info({ event: 'acme.tls_alpn_answered', listener: options.listener, ip: options.ip, name: hello.servername }, 'answered a TLS-ALPN-01 validation');
    // RFC 8737 §3: the connection carries no application data; it ends after the handshake.
    secure.end();
  });
  secure.once('error', () => secure.destroy());
  secure.once('close', () => clearTimeout(timer));
  return true;
}
