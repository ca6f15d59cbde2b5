/**
 * Error answers of the HTTP layer as RFC 7807 problem details (the form JMAP uses for request-level errors,
 * RFC 8620 §3.6.1), so every refusal a client sees has one shape and a text that leaks nothing internal.
 */
import type { Context } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import type { HttpEnv } from './context.ts';

export function problemResponse(c: Context<HttpEnv>, status: ContentfulStatusCode, detail: string, headers: Record<string, string> = {}, extra: Record<string, unknown> = {}): Response {
  // RFC 7807 §4.2: "about:blank" when the HTTP status says it all.
  const body = JSON.stringify({ type: 'about:blank', status, detail, ...extra });
  return c.body(body, status, { 'Content-Type': 'application/problem+json', 'Cache-Control': 'no-store', ...headers });
}

/** RFC 6585 §4: too many failed logins from this client; it may try again once the limiter's window has passed. */
export function throttledResponse(c: Context<HttpEnv>, windowMs: number): Response {
  c.var.log.reason = 'throttled';
  return problemResponse(c, 429, 'Too many failed logins; try again later.', { 'Retry-After': String(Math.ceil(windowMs / 1000)) });
}
