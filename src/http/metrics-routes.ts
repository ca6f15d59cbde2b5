/**
 * `/metrics`: the Prometheus text exposition, for loopback clients only (metrics.loopback_only) and, when
 * metrics.token is set, only with `Authorization: Bearer <token>` (compared in constant time). A refusal is
 * 403 (not loopback) or 401 (no or wrong token), logged on the request line with its reason.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { Hono } from 'hono';
import type { HttpEnv } from './context.ts';
import { problemResponse } from './problem.ts';

export interface MetricsRoutesOptions {
  metrics: { text(): Promise<string>; readonly contentType: string };
  /** "" needs none. */
  token: string;
  loopbackOnly: boolean;
  isLoopback: (ip: string) => boolean;
}

/** Whether a request may read what only the local operator (or a holder of the metrics token) may. */
export function operatorAccess(options: Pick<MetricsRoutesOptions, 'token' | 'loopbackOnly' | 'isLoopback'>): (ip: string, authorization: string | undefined) => 'ok' | 'not-loopback' | 'bad-token' {
  const wanted = options.token ? createHash('sha256').update(options.token).digest() : null;
  // Without a token nothing but loopback is ever served, whatever loopback_only says.
  const loopbackOnly = options.loopbackOnly || wanted === null;
  return (ip, authorization) => {
    if (loopbackOnly && !options.isLoopback(ip)) return 'not-loopback';
    if (wanted === null) return 'ok';
    const given = /^Bearer\s+(\S+)\s*$/i.exec(authorization ?? '')?.[1];
    if (given === undefined) return 'bad-token';
    return timingSafeEqual(createHash('sha256').update(given).digest(), wanted) ? 'ok' : 'bad-token';
  };
}

export function metricsRoutes(options: MetricsRoutesOptions): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const access = operatorAccess(options);
  app.get('/metrics', async (c) => {
    const verdict = access(c.var.client.ip, c.req.header('authorization'));
    if (verdict === 'not-loopback') {
      c.var.log.reason = 'metrics-not-loopback';
      return problemResponse(c, 403, '/metrics is served to loopback clients only (metrics.loopback_only).');
    }
    if (verdict === 'bad-token') {
      c.var.log.reason = 'metrics-token';
      c.header('WWW-Authenticate', 'Bearer realm="metrics"');
      return problemResponse(c, 401, '/metrics needs the bearer token of metrics.token.');
    }
    return c.body(await options.metrics.text(), 200, { 'Content-Type': options.metrics.contentType, 'Cache-Control': 'no-store' });
  });
  return app;
}
