/**
 * The admin API's route table: each route names its method, path, zod schemas (path parameters, query, body)
 * and the one administration service call it makes. Mounting checks the input against the schemas, calls the
 * service as the authenticated admin and maps its refusals to HTTP statuses; the OpenAPI document is made
 * from the same table (openapi.ts), so what is documented is what is checked.
 */
import type { Context, Hono } from 'hono';
import type { ContentfulStatusCode } from 'hono/utils/http-status';
import { z } from 'zod';
import type { Principal } from '../../admin/access.ts';
import { adminErrorKind } from '../../admin/errors.ts';
import type { AdminService } from '../../admin/service.ts';
import { errorMessage } from '../../core/errors.ts';
import type { HttpEnv } from '../context.ts';
import { problemResponse } from '../problem.ts';
import { readBody } from '../read-body.ts';

export type Method = 'get' | 'post' | 'put' | 'patch' | 'delete';

export interface AdminCall<P, Q, B> {
  admin: AdminService;
  as: Principal;
  params: P;
  query: Q;
  body: B;
  c: Context<HttpEnv>;
}

export interface AdminRoute<P = unknown, Q = unknown, B = unknown> {
  method: Method;
  /** Under /admin/api, Hono style (`/domains/:domain`). */
  path: string;
  tag: string;
  summary: string;
  params?: z.ZodType<P>;
  query?: z.ZodType<Q>;
  body?: z.ZodType<B>;
  /** 200 unless given (201 for creations). */
  status?: 200 | 201;
  run(call: AdminCall<P, Q, B>): Promise<unknown>;
}

/** Keeps each route's types while the table holds them all. */
export function route<P = undefined, Q = undefined, B = undefined>(r: AdminRoute<P, Q, B>): AdminRoute {
  return r as unknown as AdminRoute;
}

export const API_PREFIX = '/admin/api';
const MAX_BODY_BYTES = 64 * 1024;

const STATUS: Record<string, ContentfulStatusCode> = { forbidden: 403, 'not-found': 404, conflict: 409, invalid: 400 };

function invalid(c: Context<HttpEnv>, where: string, error: z.ZodError): Response {
  c.var.log.reason = 'invalid';
  const issues = error.issues.map((i) => ({ path: [where, ...i.path.map(String)].join('.'), message: i.message }));
  return problemResponse(c, 400, `Invalid ${where}: ${issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`, {}, { issues });
}

/** Mounts every route; `principalOf` gives the authenticated admin (set by the authentication middleware). */
export function mountRoutes(app: Hono<HttpEnv>, routes: readonly AdminRoute[], deps: { admin: AdminService; principalOf(c: Context<HttpEnv>): Principal }): void {
  for (const r of routes) {
    app.on(r.method.toUpperCase(), API_PREFIX + r.path, async (c) => {
      const params = r.params ? r.params.safeParse(c.req.param()) : { success: true as const, data: undefined };
      if (!params.success) return invalid(c, 'path', params.error);
      const query = r.query ? r.query.safeParse(c.req.query()) : { success: true as const, data: undefined };
      if (!query.success) return invalid(c, 'query', query.error);
      let body: { success: true; data: unknown } | { success: false; error: z.ZodError } = { success: true, data: undefined };
      if (r.body) {
        // JSON only: a cross-site form cannot send it without a CORS preflight, which is never granted.
        if (!/^application\/json\b/i.test(c.req.header('Content-Type') ?? '')) {
          c.var.log.reason = 'content-type';
          return problemResponse(c, 415, 'Send the request body as application/json.');
        }
        const raw = await readBody(c, MAX_BODY_BYTES);
        if (!raw.ok) return problemResponse(c, 413, 'The request body is too large.');
        let json: unknown;
        try {
          json = JSON.parse(new TextDecoder().decode(raw.bytes));
        } catch (err) {
          c.var.log.reason = 'malformed';
          return problemResponse(c, 400, `The body is not JSON: ${errorMessage(err)}`);
        }
        body = r.body.safeParse(json);
        if (!body.success) return invalid(c, 'body', body.error);
      }
      try {
        const result = await r.run({ admin: deps.admin, as: deps.principalOf(c), params: params.data, query: query.data, body: body.data, c });
        return c.json(result ?? { ok: true }, r.status ?? 200, { 'Cache-Control': 'no-store' });
      } catch (err) {
        const kind = adminErrorKind(err);
        if (kind === null) throw err;
        c.var.log.reason = kind;
        return problemResponse(c, STATUS[kind]!, errorMessage(err));
      }
    });
  }
}
