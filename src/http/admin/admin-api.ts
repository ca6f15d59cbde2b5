/**
 * The admin API under /admin/api: the OpenAPI document and the login first (open), then every route of the
 * table behind the admin authentication, each one a call into the administration service as the caller.
 */
import { Hono } from 'hono';
import type { HttpEnv } from '../context.ts';
import { adminSessionRoutes, requireAdminCaller, type AdminAuthOptions } from './admin-auth.ts';
import { openApiDocument } from './openapi.ts';
import { API_PREFIX, mountRoutes, route, type AdminRoute } from './route.ts';
import { accountRoutes } from './routes-accounts.ts';
import { domainRoutes } from './routes-domains.ts';
import { queueRoutes } from './routes-queue.ts';
import { reportRoutes } from './routes-reports.ts';
import { selfRoutes } from './routes-self.ts';

/** Every route of the API, in the order the OpenAPI document lists them. */
export const ADMIN_ROUTES: readonly AdminRoute[] = [...selfRoutes, ...domainRoutes, ...accountRoutes, ...queueRoutes, ...reportRoutes];

/** The login and logout as the document shows them (they are served by admin-auth.ts). */
const SESSION_ROUTES: readonly AdminRoute[] = [
  route({ method: 'post', path: '/login', tag: 'session', summary: 'Log in to the admin UI: {address, password, code?}; sets the session cookie and returns the CSRF token', run: async () => undefined }),
  route({ method: 'post', path: '/logout', tag: 'session', summary: 'End the admin UI session (with the CSRF token)', run: async () => undefined }),
];

export function adminApiRoutes(options: AdminAuthOptions & { version: string }): Hono<HttpEnv> {
  const app = new Hono<HttpEnv>();
  const document = JSON.stringify(openApiDocument([...SESSION_ROUTES, ...ADMIN_ROUTES], { version: options.version }));
  app.get(`${API_PREFIX}/openapi.json`, (c) => c.body(document, 200, { 'Content-Type': 'application/json', 'Cache-Control': 'no-cache' }));
  app.route('/', adminSessionRoutes(options));
  app.use(`${API_PREFIX}/*`, requireAdminCaller(options));
  mountRoutes(app, ADMIN_ROUTES, {
    admin: options.admin,
    principalOf: (c) => ({ kind: 'account', accountId: c.var.user!.accountId }),
  });
  return app;
}
