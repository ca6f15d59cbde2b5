/**
 * Outbound connections: TCP connect with a timeout (optionally straight into TLS, RFC 8314) and the
 * in-place STARTTLS upgrade of an existing socket (RFC 3207). No protocol logic here.
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type TLSSocket } from 'node:tls';

export interface TlsClientOptions {
  /** SNI and the name the certificate must match (RFC 6125); the MX host name, never an IP. */
  servername?: string;
  /** Verify the certificate chain and name (DANE/MTA-STS or a smarthost policy); opportunistic TLS does not. */
  verifyCertificates: boolean;
  /** Extra trust anchors (tests, private smarthosts). */
  ca?: string | Buffer | (string | Buffer)[];
  minVersion?: 'TLSv1.2' | 'TLSv1.3';
}

export interface DialOptions {
  host: string; // IP address or host name
  port: number;
  localAddress?: string;
  timeoutMs: number;
  /** Implicit TLS from the first byte. */
  tls?: TlsClientOptions | null;
}

export class DialError extends Error {
  readonly code: string;
  constructor(code: string, message: string) {
    super(message);
    this.name = 'DialError';
    this.code = code;
  }
}

export function dial(options: DialOptions): Promise<Socket> {
  return new Promise((resolve, reject) => {
    const socket = netConnect({ host: options.host, port: options.port, localAddress: options.localAddress });
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new DialError('ETIMEDOUT', `connect to ${options.host}:${options.port} timed out`));
    }, options.timeoutMs);
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new DialError(err.code ?? 'ECONNECT', `connect to ${options.host}:${options.port}: ${err.message}`));
    });
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.removeAllListeners('error');
      socket.setNoDelay(true);
      if (!options.tls) return resolve(socket);
      upgradeToTls(socket, options.tls, options.timeoutMs).then(resolve, reject);
    });
  });
}

/** Runs the TLS handshake over `socket`; rejects (and destroys the socket) on failure or timeout. */
export function upgradeToTls(socket: Socket, options: TlsClientOptions, timeoutMs: number): Promise<TLSSocket> {
  return new Promise((resolve, reject) => {
    const secure = tlsConnect({
      socket,
      servername: options.servername && !/^[\d.:]+$/.test(options.servername) ? options.servername : undefined,
      rejectUnauthorized: options.verifyCertificates,
      ca: options.ca,
      minVersion: options.minVersion ?? 'TLSv1.2',
    });
    const timer = setTimeout(() => {
      secure.destroy();
      reject(new DialError('ETLSTIMEOUT', 'TLS handshake timed out'));
    }, timeoutMs);
    secure.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      secure.destroy();
      reject(new DialError(err.code ?? 'ETLS', `TLS handshake failed: ${err.message}`));
    });
    secure.once('secureConnect', () => {
      clearTimeout(timer);
      secure.removeAllListeners('error');
      resolve(secure);
    });
  });
}
