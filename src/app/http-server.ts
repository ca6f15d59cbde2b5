/**
 * The HTTP side of the composition root: the JMAP engine on PostamtJmapBackend (Core plus the data
 * providers given), the HTTP application (authentication, limits, routes) and the http and https
 * listeners that serve it. `stop()` ends push connections, then drains the listeners.
 */
import type { Config } from '../config/schema.ts';
import type { Logger } from '../core/log.ts';
import { createHttpApp, toRequestListener } from '../http/app.ts';
import { requireUser } from '../http/authenticate.ts';
import { ProxyTrust } from '../http/client.ts';
import { jmapRoutes } from '../http/jmap-routes.ts';
import { mountBlobRoutes } from '../http/blob-routes.ts';
import { webSessionRoutes, withSessionCookie, type WebSessionOptions } from '../http/web-session.ts';
import { webmailRoutes } from '../http/webmail-routes.ts';
import type { HttpUser } from '../http/context.ts';
import { AccessTokens } from '../accounts/access-tokens.ts';
import { eventSourceHandler, type PushAdmission } from '../http/event-source.ts';
import { PushHub, type PushSource } from '../http/push-hub.ts';
import { jmapWebSocket, type UpgradeBindings } from '../http/websocket.ts';
import { WEBSOCKET_CAPABILITY } from '../protocols/jmap/capabilities.ts';
import { newSessionId } from '../core/ids.ts';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import type { Context, Hono } from 'hono';
import type { HttpEnv } from '../http/context.ts';
import { BLOB_METHODS } from '../protocols/jmap/methods/blob-copy.ts';
import { CORE_METHODS } from '../protocols/jmap/methods/index.ts';
import { pushSubscriptionMethods } from '../protocols/jmap/methods/push-subscription.ts';
import { PushSubscriptions } from './push-subscriptions.ts';
import { extraCa } from './outbound-tls.ts';
import { trustAnchors } from '../outbound-tls/tls-check.ts';
import type { JmapLimits } from '../protocols/jmap/capabilities.ts';
import { concurrencyLimiter } from '../protocols/jmap/concurrency.ts';
import { JmapEngine } from '../protocols/jmap/engine.ts';
import type { MethodTable } from '../protocols/jmap/method.ts';
import { ConnectionCounter } from '../transport/ip-limits.ts';
import { startHttpListener, type HttpListener } from '../transport/http-listener.ts';
import { networkKey } from '../policy/ip-prefix.ts';
import { HTTP_LISTENER_ROLES, isLoopback, type HttpListenerRole, type ListenerRole } from './listeners.ts';
import { metricsRoutes, operatorAccess } from '../http/metrics-routes.ts';
import { serverStatus } from '../metrics/status.ts';
import { storeFileSizes } from '../store/open.ts';
import { autoconfigRoutes } from '../http/autoconfig-routes.ts';
import { accountRoutes } from '../http/account-routes.ts';
import { adminApiRoutes } from '../http/admin/admin-api.ts';
import { adminUiRoutes } from '../http/admin/admin-ui-routes.ts';
import { createAdminService } from '../admin/service.ts';
import { adminSettings } from '../admin/context.ts';
import { configuredResolver } from '../admin/dns.ts';
import { passwordFunctions } from '../accounts/passwords.ts';
import { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import { certificateFacts } from './certificate-facts.ts';
import { readFileSync } from 'node:fs';
import { mtaStsRoutes } from '../http/mta-sts-route.ts';
import { acmeChallengeRoutes } from '../http/acme-challenge-route.ts';
import { mtaStsPolicyFromConfig } from '../policy/mta-sts-policy.ts';
import { clientSettings } from '../autoconfig/client-settings.ts';
import { jmapAccountId, PostamtJmapBackend, storeAccountId, type JmapDataProvider } from './jmap-backend.ts';
import { mailProvider } from './jmap-mail-provider.ts';
import { vacationProvider } from './jmap-vacation-provider.ts';
import type { SubmissionLimits } from '../protocols/jmap/mail/submission-backend.ts';
import { listenError } from './preflight.ts';
import type { Services } from './services.ts';

export interface HttpServer {
  listeners: Partial<Record<HttpListenerRole, HttpListener>>;
  ports: Record<HttpListenerRole, number | null>;
  engine: JmapEngine<PostamtJmapBackend>;
  backend: PostamtJmapBackend;
  /** Bearer tokens for login sessions (the webmail issues them at login). */
  tokens: AccessTokens;
  /** Open JMAP push connections (EventSource and WebSocket). */
  pushConnections(): number;
  stop(): Promise<void>;
}

/** Identity and EmailSubmission limits from `[submission]` (maxDelayedSend in whole seconds, RFC 8621 §1.3.2). */
export function submissionLimits(config: Config): SubmissionLimits {
  const s = config.submission;
  return { maxDelayedSend: Math.floor(s.maxDelayedSend / 1000), maxIdentities: s.identities, maxSignatureSize: s.signatureSize };
}

/** The engine's limits from `[http]` (RFC 8620 §2 Core capability). */
export function jmapLimitsFrom(config: Config): JmapLimits {
  const h = config.http;
  return {
    maxSizeUpload: h.maxUploadSize,
    maxConcurrentUpload: h.maxConcurrentUploads,
    maxSizeRequest: h.maxRequestSize,
    maxConcurrentRequests: h.maxConcurrentRequests,
    maxCallsInRequest: h.maxCallsInRequest,
    maxObjectsInGet: h.maxObjectsInGet,
    maxObjectsInSet: h.maxObjectsInSet,
    maxJsonDepth: h.maxJsonDepth,
  };
}

export async function startHttpServer(options: {
  services: Services;
  logger: Logger;
  /** The data types served; default: Mail, Submission and VacationResponse on the store. */
  providers?: (base: PostamtJmapBackend) => readonly JmapDataProvider<PostamtJmapBackend>[];
  /** The ports the mail listeners got, for the client settings the autoconfiguration routes describe. */
  mailPorts?: Partial<Record<ListenerRole, number | null>>;
  /** Whether every listener of the server (mail and HTTP) is up, for /readyz. */
  listenersUp: () => boolean;
}): Promise<HttpServer> {
  const { services, logger } = options;
  const config = services.config;
  const backend = new PostamtJmapBackend({ accounts: services.store, uploads: services.store, uploadExpiryMs: config.http.uploadExpiry });
  const providers = options.providers ? options.providers(backend) : [mailProvider({ store: services.store, mail: services.mail, submission: services.submission, base: backend, limits: submissionLimits(services.config), logger }), vacationProvider({ store: services.store })];
  backend.setProviders(providers);
  const tokens = new AccessTokens({ store: services.store, lifetimeMs: config.http.tokenLifetime });
  const limits = jmapLimitsFrom(config);
  const hub = new PushHub({ source: pushSource(services, providers), logger });
  // RFC 8620 §7.2 push subscriptions get the same StateChanges as EventSource and WebSocket, from the hub.
  const pushSubscriptions = new PushSubscriptions({
    store: services.store,
    hub,
    logger,
    settings: { perCredential: config.http.pushSubscriptions, maxExpiryMs: config.http.pushMaxExpiry, allowed: config.http.pushAllowedNetworks, maxFailures: config.http.pushMaxFailures, ca: trustAnchors(extraCa(config)).ca as string[] },
  });
  await pushSubscriptions.start();
  const methods: MethodTable<PostamtJmapBackend> = Object.assign({}, CORE_METHODS, BLOB_METHODS, pushSubscriptionMethods(pushSubscriptions), ...providers.map((p) => p.methods));
  const engine = new JmapEngine<PostamtJmapBackend>({
    backend,
    methods,
    // RFC 8887 §4.1: the WebSocket capability; its url is filled in per request by the session route.
    capabilities: Object.assign({ [WEBSOCKET_CAPABILITY]: { url: '', supportsPush: true } }, ...providers.map((p) => p.capabilities)),
    limits,
    logger,
    admitRequest: concurrencyLimiter(limits.maxConcurrentRequests),
  });
  const proxies = new ProxyTrust(config.http.trustedProxies);
  const mtaStsPolicy = mtaStsPolicyFromConfig(config);
  const basicOrBearer = requireUser({
    passwords: services.auth,
    tokens,
    limiter: services.limiter,
    allowPlaintextAuth: (ip) => services.allowPlaintextAuth(ip),
    logger,
  });
  const admission = pushAdmission(services, config.http.maxPushConnections);
  const webSocket = jmapWebSocket({
    engine,
    hub,
    admission,
    accountFor: (user) => user.accountId,
    allowedOrigins: config.http.corsOrigins,
    logger,
  });
  const webSession: WebSessionOptions = {
    passwords: services.auth,
    tokens,
    limiter: services.limiter,
    allowPlaintextAuth: (ip) => services.allowPlaintextAuth(ip),
    logger,
    lifetimeMs: config.http.tokenLifetime,
  };
  // The administration service as the admin API calls it: the same rules as the CLI, with what only the
  // running server has (admin tokens, the live policy, certificates).
  const admin = createAdminService({
    store: services.store,
    dkimKeys: new FileDkimKeyStore({ dataDir: config.dataDir }),
    passwords: passwordFunctions({ pool: services.hashes }),
    settings: adminSettings(config),
    logger,
    resolver: configuredResolver(config),
    tokens,
    applyPolicy: (policy) => services.applyPolicy(policy),
    kickQueue: () => services.queue.kick(),
    facts: { certificates: () => certificateFacts(services.tls.certificatePem) },
    mail: services.mail,
  });
  // The webmail's session cookie (with its CSRF token) is accepted beside Basic and Bearer.
  const auth = withSessionCookie(basicOrBearer, webSession);
  const operator = { token: config.metrics.token, loopbackOnly: config.metrics.loopbackOnly, isLoopback };
  const mayReadDetails = operatorAccess(operator);
  const app = createHttpApp({
    logger,
    proxies,
    publicUrl: config.http.publicUrl,
    corsOrigins: config.http.corsOrigins,
    readiness: {
      check: async () => ({ store: await storeWritable(services), listeners: options.listenersUp() }),
      details: async () => ({
        ...(await serverStatus({
          queueStats: () => services.store.queueStats(),
          certificatePem: () => services.tls.certificatePem,
          backend: config.storage.backend,
          storeFileSizes: () => storeFileSizes(config.dataDir, config.storage),
          ports: () => ({ ...options.mailPorts, ...ports }),
        })),
      }),
      mayReadDetails: (ip, authorization) => mayReadDetails(ip, authorization) === 'ok',
    },
    routes: [
      ...(config.metrics.enabled ? [metricsRoutes({ metrics: services.metrics, ...operator })] : []),
      acmeChallengeRoutes({ keyAuthorization: (token) => services.acmeHttp.keyAuthorization(token) }),
      webmailRoutes({ dir: new URL('../../dist/ui/', import.meta.url) }),
      webSessionRoutes(webSession),
      jmapRoutes({
        engine,
        backend,
        requireUser: auth,
        extend: (app) => {
          app.get('/jmap/eventsource', eventSourceHandler({ hub, admission, accountFor: (user) => user.accountId, secure: (c) => c.var.client.secure }));
          app.get('/jmap/ws', webSocket.handler as unknown as (c: Context<HttpEnv>) => Promise<Response>);
          mountBlobRoutes(app, {
            limits: engine.limits,
            blobs: {
              accountFor: async (user: HttpUser, accountId: string) => ((await backend.accountFor(user, accountId)) === null ? null : storeAccountId(accountId)),
              storeUpload: (accountId, type, data) => backend.storeUpload(accountId, type, data),
              readBlob: (accountId, blobId) => backend.readBlob(accountId, blobId),
            },
          });
        },
      }),
      mtaStsRoutes({ policy: () => mtaStsPolicy, hostsDomain: (domain) => services.store.hasDomain(domain) }),
      adminUiRoutes({ dir: new URL('../../dist/ui/admin/', import.meta.url) }),
      adminApiRoutes({ ...webSession, admin, version: packageVersion() }),
      accountRoutes({ requireUser: auth, tokens, admin }),
      autoconfigRoutes({ settings: () => clientSettings(config, options.mailPorts ?? {}), hostsDomain: (domain) => services.store.hasDomain(domain), requireUser: auth }),
    ],
  });
  const handler = toRequestListener(app, logger);
  const counter = new ConnectionCounter({
    maxConnections: config.limits.connectionsTotal,
    maxConnectionsPerIp: config.http.connectionsPerIp,
    maxConnectionsPerNetwork: Math.max(config.http.connectionsPerIp, config.limits.connectionsPerNetwork),
    networkOf: (ip) => networkKey(ip),
  });
  const listeners: Partial<Record<HttpListenerRole, HttpListener>> = {};
  const ports: Record<HttpListenerRole, number | null> = { http: null, https: null };
  try {
    for (const role of HTTP_LISTENER_ROLES) {
      const address = config.listen[role];
      if (!address) continue;
      const listener = await startHttpListener({
        name: role,
        host: address.host,
        port: address.port,
        tls: role === 'https' ? services.tls : null,
        handler,
        upgrade: (req, socket, head) => void upgradeThroughApp(app, req, socket, head, logger),
        counter,
        isUnlimitedPeer: (ip) => proxies.isTrusted(ip),
        timeouts: { headerMs: config.http.headerTimeout, requestMs: config.http.requestTimeout, idleMs: config.http.idleTimeout },
        logger,
      }).catch((err: unknown) => {
        throw listenError(role, address, err);
      });
      listeners[role] = listener;
      ports[role] = listener.address().port;
    }
  } catch (err) {
    await Promise.all(Object.values(listeners).map((l) => l.close(0)));
    throw err;
  }
  // Expired uploads and tokens go at start and hourly (RFC 8620 §6.1: unreferenced uploads may be deleted).
  const sweep = (): void => {
    void Promise.all([services.store.removeExpiredUploads(new Date()), tokens.removeExpired()]).catch((err: unknown) => {
      logger.warn({ event: 'http.sweep_failed', err }, 'removing expired uploads and tokens failed');
    });
  };
  sweep();
  const sweeper = setInterval(sweep, 60 * 60_000);
  sweeper.unref();
  return {
    listeners,
    ports,
    engine,
    backend,
    tokens,
    pushConnections: () => admission.open(),
    async stop() {
      clearInterval(sweeper);
      pushSubscriptions.close();
      webSocket.closeAll();
      admission.endAll();
      hub.close();
      await Promise.all(Object.values(listeners).map((l) => l.close()));
    },
  };
}

function packageVersion(): string {
  try {
    return (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;
  } catch {
    return '0';
  }
}

/** /readyz: a write transaction that changes nothing goes through the group commit (a read-only or broken database fails it). */
async function storeWritable(services: Services): Promise<boolean> {
  try {
    await services.store.checkWritable();
    return true;
  } catch (err) {
    services.logger.warn({ event: 'http.not_ready', check: 'store', err }, 'store is not writable');
    return false;
  }
}

/** The change feed as push sees it: which accounts' types may have moved, and their states now. */
function pushSource(services: Services, providers: readonly JmapDataProvider<PostamtJmapBackend>[]): PushSource {
  const types = [...new Set(providers.flatMap((p) => p.types))];
  return {
    types,
    accountIdOf: jmapAccountId,
    async states(accountId, wanted) {
      const out: Record<string, string> = {};
      for (const p of providers) {
        const mine = wanted.filter((t) => p.types.includes(t));
        if (mine.length > 0) Object.assign(out, await p.states(accountId, mine));
      }
      return out;
    },
    subscribe(listener) {
      return services.store.subscribe((change) => {
        const moved = [...new Set(providers.flatMap((p) => p.typesChangedBy(change)))];
        if (moved.length === 0) return;
        listener(change.kind === 'reset' ? 'all' : 'accountId' in change ? change.accountId : 'all', moved);
      });
    },
  };
}

/** Push connections per user (http.max_push_connections), each ended when its login stops being valid. */
function pushAdmission(services: Services, maxPerUser: number): PushAdmission & { endAll(): void; open(): number } {
  const open = new Map<string, number>();
  const enders = new Set<(reason: string) => void>();
  return {
    admit(user) {
      const n = open.get(user.username) ?? 0;
      if (n >= maxPerUser) return null;
      open.set(user.username, n + 1);
      let released = false;
      return () => {
        if (released) return;
        released = true;
        const left = (open.get(user.username) ?? 1) - 1;
        if (left <= 0) open.delete(user.username);
        else open.set(user.username, left);
      };
    },
    watch(user, end) {
      enders.add(end);
      const stop = services.logins.watch(user, { protocol: 'http', sessionId: newSessionId() }, end);
      return () => {
        enders.delete(end);
        stop();
      };
    },
    endAll() {
      for (const end of [...enders]) end('server stopping');
    },
    open() {
      let n = 0;
      for (const count of open.values()) n += count;
      return n;
    },
  };
}

/**
 * A WebSocket upgrade runs through the application like any request (client, log, authentication); the
 * route takes the socket over, and anything else it answers (401, 400, 429) is written to the socket here.
 */
async function upgradeThroughApp(app: Hono<HttpEnv>, req: IncomingMessage, socket: Duplex, head: Buffer, logger: Logger): Promise<void> {
  const upgrade: UpgradeBindings = { socket, head, done: false };
  try {
    const headers = new Headers();
    for (const [name, value] of Object.entries(req.headers)) {
      if (value !== undefined) headers.set(name, Array.isArray(value) ? value.join(', ') : value);
    }
    const url = `http://${/^[A-Za-z0-9.\-:[\]]+$/.test(req.headers.host ?? '') ? req.headers.host : 'localhost'}${req.url ?? '/'}`;
    const response = await app.fetch(new Request(url, { headers }), { incoming: req, outgoing: undefined, upgrade } as never);
    if (upgrade.done) return;
    const lines = [`HTTP/1.1 ${response.status} ${response.statusText || 'Refused'}`, 'Connection: close'];
    response.headers.forEach((value, name) => {
      if (!/^(connection|transfer-encoding|content-length)$/i.test(name)) lines.push(`${name}: ${value}`);
    });
    const body = Buffer.from(await response.arrayBuffer());
    lines.push(`Content-Length: ${body.length}`);
    socket.end(Buffer.concat([Buffer.from(lines.join('\r\n') + '\r\n\r\n'), body]));
  } catch (err) {
    logger.error({ event: 'http.error', path: req.url, err }, 'WebSocket upgrade failed');
    socket.destroy();
  }
}
