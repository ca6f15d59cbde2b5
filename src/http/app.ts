/**
 * The one HTTP application behind the http and https listeners: who the client is (trusted proxies),
 * the request log, security headers, CORS when configured, then the routes (health, JMAP). Built once by
 * the composition root from the services it is given; `requestListener` is what the listeners run.
 */
import { getRequestListener } from '@hono/node-server';
import type { RequestListener } from 'node:http';
import { Hono } from 'hono';
import type { Logger } from '../core/log.ts';
import type { HttpEnv } from './context.ts';
import { ProxyTrust } from './client.ts';
import { healthRoutes, type ReadinessCheck } from './health.ts';
import { problemResponse } from './problem.ts';
import { errorHandler, requestLog } from './request-log.ts';
import { corsFor, securityHeaders } from './security-headers.ts';

export interface HttpAppOptions {
  logger: Logger;
  proxies: ProxyTrust;
  /** `http.public_url`: the origin for absolute URLs; "" uses each request's scheme and Host. */
  publicUrl: string;
  corsOrigins: readonly string[];
  readiness: ReadinessCheck;
  /** Route groups (JMAP, later webmail and admin), mounted in order after the health routes. */
  routes: Hono<HttpEnv>[];
}

export function createHttpApp(options: HttpAppOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.use(async (c, next) => {
    c.set('client', options.proxies.clientOf(c.env.incoming, options.publicUrl));
    await next();
  });
  app.use(requestLog(options.logger));
  app.use(securityHeaders());
  const cors = corsFor(options.corsOrigins);
  if (cors) app.use(cors);
  app.route('/', healthRoutes(options.readiness));
  for (const routes of options.routes) app.route('/', routes);
  app.notFound((c) => {
    c.var.log.reason = 'not-found';
    return problemResponse(c, 404, 'Not found.');
  });
  app.onError(errorHandler(options.logger));
  return app;
}

/** The node:http request listener for the listeners (Hono's fetch through @hono/node-server). */
export function toRequestListener(app: Hono<HttpEnv>, logger: Logger): RequestListener {
  return getRequestListener(app.fetch, {
    errorHandler: (err) => {
      logger.error({ event: 'http.error', err }, 'HTTP request failed before the application answered');
    },
  }) as RequestListener;
}
