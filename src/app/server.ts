/**
 * The composition root of a running server: config → services → one listener per configured role, each
 * making a protocol engine per connection. `startServer` returns the ports actually bound (tests use
 * port 0) and `stop()`, which drains connections (421 / BYE) and closes the store.
 */
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import type { EngineContext, StreamEngine } from '../protocols/engine.ts';
import { startListener, type Listener } from '../transport/listener.ts';
import { createImapEngine } from './imap-engine.ts';
import { startHttpServer, type HttpServer } from './http-server.ts';
import { IMPLICIT_TLS, LISTENER_ROLES, refusalText, type HttpListenerRole, type ListenerRole } from './listeners.ts';
import { createPop3Engine } from './pop3-engine.ts';
import { listenError, preflight } from './preflight.ts';
import { createServices, type ServiceOverrides, type Services } from './services.ts';
import { createSmtpEngine } from './smtp-engine.ts';
import { storeFileSizes } from '../store/open.ts';

export interface RunningServer {
  services: Services;
  listeners: Partial<Record<ListenerRole, Listener>>;
  /** JMAP and the other HTTP routes on the http and https listeners. */
  http: HttpServer;
  /** Bound ports by role (null when the role is switched off). */
  ports: Record<ListenerRole | HttpListenerRole, number | null>;
  stop(): Promise<void>;
}

function engineFor(role: ListenerRole, services: Services): (context: EngineContext) => StreamEngine {
  switch (role) {
    case 'smtp':
      return (context) => createSmtpEngine({ role: 'mx', context, services });
    case 'submission':
    case 'submissions':
      return (context) => createSmtpEngine({ role: 'submission', context, services });
    case 'imap':
    case 'imaps':
      return (context) => createImapEngine({ context, services });
    case 'pop3':
    case 'pop3s':
      return (context) => createPop3Engine({ context, services });
  }
}

export async function startServer(options: { config: Config; logger: Logger; overrides?: ServiceOverrides; startQueue?: boolean }): Promise<RunningServer> {
  // Nothing is created (database, certificate) when the configuration cannot work.
  await preflight(options.config);
  const services = await createServices(options.config, options.logger, options.overrides);
  const listeners: Partial<Record<ListenerRole, Listener>> = {};
  const ports = Object.fromEntries(LISTENER_ROLES.map((r) => [r, null])) as Record<ListenerRole | HttpListenerRole, number | null>;
  let http: HttpServer;
  let stopping = false;
  try {
    for (const role of LISTENER_ROLES) {
      const address = options.config.listen[role];
      if (!address) continue;
      const createEngine = engineFor(role, services);
      const listener = await startListener({
        name: role,
        host: address.host,
        port: address.port,
        implicitTls: IMPLICIT_TLS[role],
        tls: services.tls,
        createEngine: (context) => {
          services.metrics.connectionAccepted(role);
          return createEngine(context);
        },
        counter: services.counter,
        refuse: (reason) => refusalText(role, reason),
        logger: options.logger,
        // IMAP connections mostly sit in IDLE: their TLS input buffer is kept small (64 KB less each).
        smallTlsBuffers: role === 'imaps' && options.config.tls.imapsSmallBuffers,
      }).catch((err: unknown) => {
        throw listenError(role, address, err);
      });
      listeners[role] = listener;
      ports[role] = listener.address().port;
    }
    http = await startHttpServer({ services, logger: options.logger, mailPorts: ports, listenersUp: () => !stopping });
    Object.assign(ports, http.ports);
  } catch (err) {
    await Promise.all(Object.values(listeners).map((l) => l.close(0)));
    await services.checks.close();
    await services.hashes.close();
    await services.vacation.stop();
    await services.store.close();
    throw err;
  }
  services.tls.watch();
  services.metrics.setSources({
    connections: () => {
      const open: Record<string, number> = {};
      for (const [role, l] of Object.entries(listeners)) open[role] = l.connections;
      for (const [role, l] of Object.entries(http.listeners)) open[role] = l.connections;
      return open;
    },
    jmapSessions: () => http.pushConnections(),
    queue: () => services.store.queueStats(),
    walBytes: () => storeFileSizes(options.config.dataDir, options.config.storage)?.walBytes ?? null,
  });
  services.trace.startPruning();
  services.searchIndexer?.start();
  if (options.startQueue !== false) {
    services.queue.start();
    services.reports.start();
  }
  // ACME starts once the listeners that answer its challenges are up; domains added later get certificates too.
  const acme = services.acme;
  const unfollowDomains = acme ? followDomainsForAcme(services) : () => undefined;
  if (acme) {
    await acme.start().catch((err: unknown) => options.logger.error({ event: 'acme.start_failed', err }, 'ACME could not start; certificates are not renewed'));
  }
  let stopped = false;
  const httpServer: HttpServer = http;
  return {
    services,
    listeners,
    http: httpServer,
    ports,
    async stop() {
      if (stopped) return;
      stopped = true;
      stopping = true;
      unfollowDomains();
      await services.acme?.stop();
      services.tls.unwatch();
      await Promise.all([httpServer.stop(), ...Object.values(listeners).map((l) => l.close())]);
      await services.checks.close();
      await services.hashes.close();
      await services.queue.stop();
      await services.vacation.stop();
      await services.searchIndexer?.stop();
      await services.reports.stop();
      await services.trace.close();
      await services.store.close();
    },
  };
}

/** A domain added or removed changes the certificates ACME keeps (mta-sts. and autoconfig. names). */
function followDomainsForAcme(services: Services): () => void {
  return services.store.subscribe((change) => {
    if (change.kind !== 'directory' && change.kind !== 'reset') return;
    services.acme?.refresh().catch((err: unknown) => services.logger.error({ event: 'acme.start_failed', err }, 'ACME could not read the domains'));
  });
}
