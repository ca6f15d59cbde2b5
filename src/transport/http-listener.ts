/**
 * A listening socket for HTTP (plain, or TLS through the same TlsProvider as the mail ports, SNI and reload
 * included): accepts connections under the connection limits, does the TLS handshake, and hands each
 * connection to one node:http server that runs the request handler and WebSocket upgrades. Slow clients
 * are cut off by the header, request and keep-alive timeouts. `close()` drains.
 */
import http from 'node:http';
import net from 'node:net';
import type { Duplex } from 'node:stream';
import type { Logger } from '../core/log.ts';
import { upgradeToTls } from './connection-driver.ts';
import { answeredTlsAlpnChallenge } from './tls-alpn-challenge.ts';
import type { ConnectionCounter } from './ip-limits.ts';
import type { TlsProvider } from './tls.ts';

export interface HttpListenerOptions {
  name: string;
  host: string;
  port: number;
  /** null: plain HTTP. */
  tls: TlsProvider | null;
  /** Handles every request (the HTTP application's request listener). */
  handler: http.RequestListener;
  /** WebSocket upgrade requests (`Upgrade: websocket`); without it they get 400. */
  upgrade?: (request: http.IncomingMessage, socket: Duplex, head: Buffer) => void;
  counter: ConnectionCounter;
  /** Peers that are not counted per IP (trusted reverse proxies carry many clients' connections). */
  isUnlimitedPeer?: (ip: string) => boolean;
  timeouts: { headerMs: number; requestMs: number; idleMs: number; handshakeMs?: number };
  logger: Logger;
}

export interface HttpListener {
  name: string;
  address(): { host: string; port: number };
  readonly connections: number;
  close(graceMs?: number): Promise<void>;
}

/** What the request handler may read from a connection (`request.socket`). */
export interface HttpConnectionInfo {
  /** The listener that accepted it ('http' or 'https'). */
  listener: string;
  /** Requests being answered on this connection right now (an idle keep-alive connection has none). */
  active: number;
  /** A long-lived response (EventSource) or upgraded connection: never evicted to make room. */
  longLived: boolean;
}

const INFO = Symbol.for('postamt.httpConnection');

export function connectionInfo(socket: net.Socket | Duplex): HttpConnectionInfo | undefined {
  return (socket as unknown as Record<symbol, HttpConnectionInfo | undefined>)[INFO];
}

export async function startHttpListener(options: HttpListenerOptions): Promise<HttpListener> {
  const { logger } = options;
  const open = new Set<net.Socket>();
  const server = http.createServer({
    // RFC 9110 §15.5.9 408: a client that does not finish its headers (or its whole request) in time is cut off.
    headersTimeout: options.timeouts.headerMs,
    requestTimeout: options.timeouts.requestMs,
    keepAliveTimeout: options.timeouts.idleMs,
    // Node looks for timed-out requests on this interval (30 s by default, longer than a short timeout).
    connectionsCheckingInterval: Math.max(100, Math.min(1000, Math.floor(options.timeouts.headerMs / 2))),
    // Header bytes per request (Node's default, named here): a bigger header section gets 431.
    maxHeaderSize: 16 * 1024,
  }, options.handler);
  // The http server never listens itself (connections come from the socket below); its 'listening' event is
  // what starts Node's timer for the header and request timeouts, so it is raised here.
  server.emit('listening');
  server.on('request', (req: http.IncomingMessage, res: http.ServerResponse) => {
    const info = connectionInfo(req.socket);
    if (!info) return;
    info.active++;
    res.once('close', () => {
      info.active--;
    });
  });
  server.on('upgrade', (req: http.IncomingMessage, socket: Duplex, head: Buffer) => {
    const info = connectionInfo(socket);
    if (info) info.longLived = true;
    if (options.upgrade && req.headers.upgrade?.toLowerCase() === 'websocket') options.upgrade(req, socket, head);
    else socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\nContent-Length: 0\r\n\r\n');
  });
  server.on('clientError', (err: NodeJS.ErrnoException, socket: Duplex) => {
    // Malformed requests and timeouts: answered by status when the socket still takes bytes, never a crash.
    const status = err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? 408 : err.code === 'HPE_HEADER_OVERFLOW' ? 431 : 400;
    logger.info({ event: 'http.client_error', listener: options.name, ip: peerAddress(socket), code: err.code ?? null, status }, 'HTTP request refused before it was read');
    if (socket.writable) socket.end(`HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
    else socket.destroy();
  });

  const accept = (socket: net.Socket): void => {
    const ip = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    socket.on('error', () => undefined);
    const unlimited = options.isUnlimitedPeer?.(ip) ?? false;
    const verdict = unlimited ? null : options.counter.acquire(ip);
    if (verdict && !verdict.ok) {
      logger.warn({ event: 'conn.refused', listener: options.name, ip, reason: verdict.reason }, 'connection refused by limit');
      socket.destroy();
      return;
    }
    const info: HttpConnectionInfo = { listener: options.name, active: 0, longLived: false };
    open.add(socket);
    socket.once('close', () => {
      open.delete(socket);
      if (verdict?.ok) verdict.slot.release();
    });
    if (verdict?.ok) {
      // An idle keep-alive connection costs the client only a reconnect.
      verdict.slot.holder = { isEvictable: () => info.active === 0 && !info.longLived, evict: () => socket.destroy() };
    }
    const serve = (conn: net.Socket): void => {
      (conn as unknown as Record<symbol, HttpConnectionInfo>)[INFO] = info;
      server.emit('connection', conn);
    };
    if (!options.tls) {
      serve(socket);
      return;
    }
    const provider = options.tls;
    const handshakeMs = options.timeouts.handshakeMs ?? options.timeouts.headerMs;
    const handshake = (): void => {
      upgradeToTls(socket, provider, handshakeMs).then(
        ({ socket: secure }) => {
          open.add(secure);
          secure.once('close', () => open.delete(secure));
          serve(secure);
        },
        (err: unknown) => {
          logger.info({ event: 'tls.handshake_failed', listener: options.name, ip, err }, 'TLS handshake failed');
          socket.destroy();
        },
      );
    };
    if (!provider.hasAlpnChallenges()) return handshake();
    answeredTlsAlpnChallenge(socket, provider, { listener: options.name, ip, timeoutMs: handshakeMs, logger }).then((answered) => {
      if (!answered) handshake();
    }, () => socket.destroy());
  };
  const listener = net.createServer(accept);
  await new Promise<void>((resolve, reject) => {
    listener.once('error', reject);
    listener.listen({ host: options.host, port: options.port }, () => {
      listener.removeListener('error', reject);
      resolve();
    });
  });
  listener.on('error', (err) => logger.error({ event: 'listener.error', listener: options.name, err }, 'listener error'));

  return {
    name: options.name,
    address() {
      const a = listener.address() as net.AddressInfo;
      return { host: a.address, port: a.port };
    },
    get connections() {
      return open.size;
    },
    async close(graceMs = 5000) {
      await new Promise<void>((resolve) => {
        listener.close(() => resolve());
        server.closeIdleConnections();
        // Idle keep-alive connections go at once; requests under way get the grace period.
        for (const socket of open) {
          const info = connectionInfo(socket);
          if (info && info.active === 0 && !info.longLived) socket.destroy();
        }
        const deadline = setTimeout(() => {
          for (const socket of open) socket.destroy();
          resolve();
        }, graceMs);
        deadline.unref();
        if (open.size === 0) resolve();
      });
      for (const socket of open) socket.destroy();
      server.close();
    },
  };
}

function peerAddress(socket: Duplex): string {
  return ((socket as net.Socket).remoteAddress ?? '').replace(/^::ffff:/, '');
}
