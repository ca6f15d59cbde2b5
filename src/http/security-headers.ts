/**
 * Headers every response carries unless a route set its own: a CSP that loads nothing and cannot be framed
 * (API answers are data, never pages), no MIME sniffing, no referrer, and HSTS when the client used TLS.
 * CORS is off unless origins are configured; then only those origins may call the API from a browser.
 */
import type { MiddlewareHandler } from 'hono';
import { cors } from 'hono/cors';
import type { HttpEnv } from './context.ts';

/** For API responses: nothing may load, nothing may frame them (CSP Level 3 frame-ancestors). */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export function securityHeaders(): MiddlewareHandler<HttpEnv> {
  return async (c, next) => {
    await next();
    const h = c.res.headers;
    if (!h.has('Content-Security-Policy')) h.set('Content-Security-Policy', API_CSP);
    h.set('X-Content-Type-Options', 'nosniff');
    if (!h.has('X-Frame-Options')) h.set('X-Frame-Options', 'DENY');
    if (!h.has('Referrer-Policy')) h.set('Referrer-Policy', 'no-referrer');
    if (!h.has('Cross-Origin-Resource-Policy')) h.set('Cross-Origin-Resource-Policy', 'same-origin');
    // RFC 6797 §7.2: HSTS only over a secure transport; a plain http answer must not carry it.
    if (c.var.client.secure) h.set('Strict-Transport-Security', 'max-age=31536000');
  };
}

/** null when no origin is configured: no CORS headers at all, so browsers keep the same-origin rule. */
export function corsFor(origins: readonly string[]): MiddlewareHandler<HttpEnv> | null {
  if (origins.length === 0) return null;
  const allowed = new Set(origins.map((o) => o.toLowerCase()));
  return cors({
    origin: (origin) => (allowed.has(origin.toLowerCase()) ? origin : null),
    allowMethods: ['GET', 'POST', 'OPTIONS'],
    allowHeaders: ['Authorization', 'Content-Type', 'Accept', 'Last-Event-ID'],
    maxAge: 600,
  });
}
