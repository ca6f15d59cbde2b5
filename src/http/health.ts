/**
 * `/healthz` (the process answers HTTP) and `/readyz` (the store takes writes and every configured
 * listener is up), without authentication, for load balancers and `postamt status`. The local operator
 * (loopback, or the metrics token) also gets the details: queue depth and oldest entry, certificate expiry.
 */
import { Hono } from 'hono';
import type { HttpEnv } from './context.ts';

export interface ReadinessCheck {
  /** Each named check and whether it passed. */
  check(): Promise<Record<string, boolean>>;
  /** What the operator sees beside the checks (never fails the readiness). */
  details?(): Promise<Record<string, unknown>>;
  /** Whether a client may see the details. */
  mayReadDetails?(ip: string, authorization: string | undefined): boolean;
}

export function healthRoutes(readiness: ReadinessCheck): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  app.get('/healthz', (c) => c.json({ status: 'ok' }, 200, { 'Cache-Control': 'no-store' }));
  app.get('/readyz', async (c) => {
    const checks = await readiness.check().catch(() => ({ readiness: false }));
    const ready = Object.values(checks).every(Boolean);
    if (!ready) c.var.log.reason = Object.entries(checks).filter(([, ok]) => !ok).map(([name]) => name).join(',');
    const details = readiness.details && readiness.mayReadDetails?.(c.var.client.ip, c.req.header('authorization'))
      ? await readiness.details().catch((err: unknown) => ({ detailsError: err instanceof Error ? err.message : String(err) }))
      : {};
    return c.json({ status: ready ? 'ready' : 'not ready', checks, ...details }, ready ? 200 : 503, { 'Cache-Control': 'no-store' });
  });
  return app;
}
