/**
 * JMAP over HTTP (RFC 8620 §2, §3): `/.well-known/jmap` redirects to the Session resource, `/jmap/session`
 * answers it, `/jmap/api` runs requests through the engine. The engine owns the protocol rules; this file
 * only moves bytes, applies the size limit before reading, and says what the request log should show.
 */
import type { Context, MiddlewareHandler } from 'hono';
import { Hono } from 'hono';
import type { JmapBackend } from '../protocols/jmap/backend.ts';
import { WEBSOCKET_CAPABILITY } from '../protocols/jmap/capabilities.ts';
import type { JmapEngine } from '../protocols/jmap/engine.ts';
import type { ProblemDetails } from '../protocols/jmap/problem.ts';
import { checkRequestSize } from '../protocols/jmap/request.ts';
import { buildSession, type SessionUrls } from '../protocols/jmap/session-resource.ts';
import type { HttpEnv, HttpUser } from './context.ts';
import { readBody } from './read-body.ts';

export const JMAP_PATHS = {
  session: '/jmap/session',
  api: '/jmap/api',
  upload: '/jmap/upload/{accountId}/',
  download: '/jmap/download/{accountId}/{blobId}/{name}?type={type}',
  eventSource: '/jmap/eventsource?types={types}&closeafter={closeafter}&ping={ping}',
  webSocket: '/jmap/ws',
} as const;

export interface JmapRouteOptions<B extends JmapBackend> {
  engine: JmapEngine<B>;
  backend: B;
  /** Authentication for every route but the well-known redirect. */
  requireUser: MiddlewareHandler<HttpEnv>;
  /** Extra routes under /jmap (uploads, downloads, push), mounted after authentication. */
  extend?: (app: Hono<HttpEnv>) => void;
}

export function sessionUrls(origin: string): SessionUrls {
  return {
    apiUrl: origin + JMAP_PATHS.api,
    downloadUrl: origin + JMAP_PATHS.download,
    uploadUrl: origin + JMAP_PATHS.upload,
    eventSourceUrl: origin + JMAP_PATHS.eventSource,
  };
}

export function jmapRoutes<B extends JmapBackend>(options: JmapRouteOptions<B>): Hono<HttpEnv> {
  const { engine, backend } = options;
  const app = new Hono<HttpEnv>();

  // RFC 8620 §2.2: the well-known URI redirects to the Session resource; no credentials are needed to learn where it is.
  app.get('/.well-known/jmap', (c) => c.redirect(JMAP_PATHS.session, 307));

  app.use('/jmap/*', options.requireUser);

  app.get(JMAP_PATHS.session, async (c) => {
    const user = c.var.user as HttpUser;
    const session = await buildSession({ engine, backend, identity: user, urls: sessionUrls(c.var.client.origin) });
    // RFC 8887 §4.1: the WebSocket URL is announced in the capability, with the scheme the client reached us by.
    if (Object.prototype.hasOwnProperty.call(session.capabilities, WEBSOCKET_CAPABILITY)) {
      session.capabilities[WEBSOCKET_CAPABILITY] = { ...session.capabilities[WEBSOCKET_CAPABILITY], url: c.var.client.origin.replace(/^http/, 'ws') + JMAP_PATHS.webSocket };
    }
    // The Session object is per user and changes with sessionState: never cached by anyone in between.
    return c.json(session, 200, { 'Cache-Control': 'no-cache, no-store, must-revalidate' });
  });

  app.post(JMAP_PATHS.api, async (c) => {
    const user = c.var.user as HttpUser;
    // RFC 8620 §3.6.1 `limit` (maxSizeRequest): refused from Content-Length before the body is read.
    const declared = Number(c.req.header('Content-Length') ?? NaN);
    const early = Number.isFinite(declared) ? checkRequestSize(declared, engine.limits) : null;
    if (early) return problem(c, early.status, early.body);
    const body = await readBody(c, engine.limits.maxSizeRequest);
    if (!body.ok) {
      const late = checkRequestSize(engine.limits.maxSizeRequest + 1, engine.limits)!;
      if (body.reason === 'too-large') return problem(c, late.status, late.body);
      c.var.log.reason = 'aborted';
      return c.body(null, 400);
    }
    const result = await engine.handle(user, { body: body.bytes, contentType: c.req.header('Content-Type') ?? null });
    if (result.kind === 'problem') return problem(c, result.status, result.body);
    c.var.log.calls = result.calls.map((call) => (call.error ? `${call.name}:${call.error}` : call.name));
    return c.body(JSON.stringify(result.body), 200, { 'Content-Type': 'application/json; charset=utf-8', 'Cache-Control': 'no-store' });
  });

  options.extend?.(app);
  return app;
}

function problem(c: Context<HttpEnv>, status: number, body: ProblemDetails): Response {
  c.var.log.reason = body.type.replace(/^urn:ietf:params:jmap:error:/, '');
  return c.body(JSON.stringify(body), status as 400, { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store' });
}
