/**
 * A listening socket for one protocol role: accepts connections, applies the connection limits (shared
 * across listeners when the same counter is passed; a full counter closes the oldest idle anonymous
 * connection of any listener to make room), does the implicit-TLS handshake where configured, and hands
 * each connection to a ConnectionDriver. `close()` drains: engines say goodbye (421, BYE).
 */
import net from 'node:net';
import type { Logger } from '../core/log.ts';
import { newSessionId } from '../core/ids.ts';
import type { EngineContext, StreamEngine } from '../protocols/engine.ts';
import { ConnectionDriver, upgradeToTls, type MutableEngineContext } from './connection-driver.ts';
import { ConnectionCounter, type ConnectionSlot, type RefusalReason, type SlotHolder } from './ip-limits.ts';
import type { TlsProvider } from './tls.ts';

export interface ListenerOptions {
  name: string;
  host: string;
  port: number;
  implicitTls: boolean;
  tls: TlsProvider | null;
  createEngine: (context: EngineContext) => StreamEngine;
  /** Shared across listeners to limit connections server-wide; default: a counter of this listener's own. */
  counter?: ConnectionCounter;
  /** For the listener's own counter (defaults 1000 total, 20 per IP). */
  limits?: { maxConnections?: number; maxConnectionsPerIp?: number };
  /**
   * Text written before closing a connection refused by a limit (SMTP `421 4.7.0`, IMAP `* BYE`, POP3
   * `-ERR [SYS/TEMP]`); default is the SMTP reply. Not sent on implicit-TLS ports (no handshake yet).
   */
  refuse?: (reason: RefusalReason) => string;
  logger: Logger;
  handshakeTimeoutMs?: number;
  /**
   * Implicit TLS with small buffers (upgradeToTls): for listeners whose connections mostly sit idle (IMAP
   * IDLE), where memory per connection matters more than CPU on bulk transfers (`tls.imaps_small_buffers`).
   */
  smallTlsBuffers?: boolean;
}

export interface Listener {
  name: string;
  address(): { host: string; port: number };
  readonly connections: number;
  close(graceMs?: number): Promise<void>;
}

export async function startListener(options: ListenerOptions): Promise<Listener> {
  const drivers = new Set<ConnectionDriver>();
  const { logger } = options;
  const counter =
    options.counter ??
    new ConnectionCounter({ maxConnections: options.limits?.maxConnections ?? 1000, maxConnectionsPerIp: options.limits?.maxConnectionsPerIp ?? 20 });
  const refuse = options.refuse ?? ((): string => '421 4.7.0 Too many connections, try again later\r\n');

  /** Sockets accepted but not yet driven (implicit-TLS handshake in progress). */
  const pending = new Set<net.Socket>();
  const shared: ListenerState = { options, drivers, pending };
  const server = net.createServer({ pauseOnConnect: false }, (socket) => {
    const remoteAddress = (socket.remoteAddress ?? '').replace(/^::ffff:/, '');
    const verdict = counter.acquire(remoteAddress);
    if (!verdict.ok) {
      logger.warn({ event: 'conn.refused', listener: options.name, ip: remoteAddress, reason: verdict.reason }, 'connection refused by limit');
      socket.on('error', () => undefined);
      if (options.implicitTls) socket.destroy();
      else socket.end(refuse(verdict.reason));
      return;
    }
    const conn = new AcceptedConnection(socket, remoteAddress, verdict.slot, shared);
    // Until the TLS handshake is done nothing is at stake: such a connection may make room at once.
    verdict.slot.holder = conn;
    socket.on('error', () => undefined);
    socket.once('close', () => conn.release());
    logger.info({ event: 'conn.open', listener: options.name, session: conn.sessionId, ip: remoteAddress, implicitTls: options.implicitTls }, 'connection opened');
    conn.begin().catch((err: unknown) => {
      logger.error({ event: 'conn.error', session: conn.sessionId, err }, 'connection setup failed');
      socket.destroy();
      conn.release();
    });
  });
  server.maxConnections = 100_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen({ host: options.host, port: options.port }, () => {
      server.removeListener('error', reject);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ event: 'listener.error', listener: options.name, err }, 'listener error'));

  return {
    name: options.name,
    address() {
      const a = server.address() as net.AddressInfo;
      return { host: a.address, port: a.port };
    },
    get connections() {
      return drivers.size;
    },
    async close(graceMs = 5000) {
      await new Promise<void>((resolve) => {
        server.close(() => resolve());
        for (const driver of drivers) driver.shutdown();
        const deadline = setTimeout(() => {
          // Past the grace period: whoever has not gone yet is dropped.
          for (const driver of drivers) driver.destroy();
          for (const socket of pending) socket.destroy();
          resolve();
        }, graceMs);
        deadline.unref();
      });
    },
  };
}

export { ConnectionCounter };

interface ListenerState {
  options: ListenerOptions;
  drivers: Set<ConnectionDriver>;
  pending: Set<net.Socket>;
}

/** The engine context's push until the driver sets its own. */
function noPush(): void {}

/**
 * One accepted connection: its slot of the connection limits (as the slot's holder: evictable until its
 * driver says otherwise), the TLS handshake of an implicit-TLS port, then its driver. Per-connection
 * callbacks are methods or arrows passed straight to a call: tsx compiles with esbuild's keepNames, which
 * makes every arrow held in a const or an object property cost a defineProperty call each time it is made.
 */
class AcceptedConnection implements SlotHolder {
  readonly sessionId = newSessionId();
  private readonly opened = Date.now();
  private readonly context: MutableEngineContext;
  private driver: ConnectionDriver | null = null;

  constructor(
    private readonly socket: net.Socket,
    private readonly remoteAddress: string,
    private readonly slot: ConnectionSlot,
    private readonly shared: ListenerState,
  ) {
    this.context = { sessionId: this.sessionId, remoteAddress, tls: null, push: noPush };
  }

  release(): void {
    this.slot.release();
  }

  isEvictable(): boolean {
    return this.driver === null || this.driver.isEvictable;
  }

  evict(): void {
    const { options } = this.shared;
    options.logger.info({ event: 'conn.evicted', listener: options.name, session: this.sessionId, ip: this.remoteAddress, durationMs: Date.now() - this.opened }, 'idle connection without login closed: every connection slot was taken');
    if (this.driver) this.driver.evict();
    else this.socket.destroy();
  }

  async begin(): Promise<void> {
    const { options, pending, drivers } = this.shared;
    const { socket } = this;
    let conn: net.Socket = socket;
    pending.add(socket);
    socket.once('close', () => pending.delete(socket));
    if (options.implicitTls) {
      if (!options.tls) {
        socket.destroy();
        return;
      }
      try {
        const upgraded = await upgradeToTls(socket, options.tls, options.handshakeTimeoutMs ?? 30_000, { smallBuffers: options.smallTlsBuffers === true });
        conn = upgraded.socket;
        this.context.tls = upgraded.info;
      } catch (err) {
        options.logger.info({ event: 'tls.handshake_failed', listener: options.name, session: this.sessionId, ip: this.remoteAddress, err }, 'TLS handshake failed');
        socket.destroy();
        this.release();
        return;
      }
    }
    const driver = new ConnectionDriver({
      socket: conn,
      context: this.context,
      createEngine: options.createEngine,
      tls: options.tls,
      logger: options.logger,
      handshakeTimeoutMs: options.handshakeTimeoutMs,
      onClose: this.closed.bind(this),
    });
    pending.delete(socket);
    drivers.add(driver);
    this.driver = driver;
    await driver.start();
  }

  private closed(): void {
    const { options, drivers } = this.shared;
    if (this.driver) drivers.delete(this.driver);
    this.release();
    options.logger.info({ event: 'conn.close', listener: options.name, session: this.sessionId, ip: this.remoteAddress, tls: this.context.tls?.protocol ?? null, durationMs: Date.now() - this.opened }, 'connection closed');
  }
}
