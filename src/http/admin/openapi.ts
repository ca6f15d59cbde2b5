/**
 * The admin API's OpenAPI 3.1 document, made from the route table's zod schemas (zod's own JSON Schema
 * output, which OpenAPI 3.1 takes as it is): served at /admin/api/openapi.json.
 */
import { z } from 'zod';
import { API_PREFIX, type AdminRoute } from './route.ts';

function jsonSchema(schema: z.ZodType): Record<string, unknown> {
  const out = z.toJSONSchema(schema, { io: 'input', unrepresentable: 'any' }) as Record<string, unknown>;
  delete out.$schema;
  return out;
}

/** `/domains/:domain` → `/domains/{domain}` (OpenAPI path templating). */
const templated = (path: string) => path.replace(/:([A-Za-z]+)/g, '{$1}');

function parameters(r: AdminRoute): unknown[] {
  const out: unknown[] = [];
  for (const [where, schema] of [['path', r.params], ['query', r.query]] as const) {
    if (!schema) continue;
    const s = jsonSchema(schema) as { properties?: Record<string, Record<string, unknown>>; required?: string[] };
    for (const [name, prop] of Object.entries(s.properties ?? {})) {
      const { description, ...rest } = prop;
      out.push({ name, in: where, required: where === 'path' || (s.required ?? []).includes(name), ...(description ? { description } : {}), schema: rest });
    }
  }
  return out;
}

const PROBLEM = { description: 'Refused (RFC 7807 problem details)', content: { 'application/problem+json': { schema: { $ref: '#/components/schemas/Problem' } } } };

export function openApiDocument(routes: readonly AdminRoute[], info: { version: string }): Record<string, unknown> {
  const paths: Record<string, Record<string, unknown>> = {};
  for (const r of routes) {
    const path = API_PREFIX + templated(r.path);
    const open = r.path === '/login' || r.path === '/openapi.json';
    (paths[path] ??= {})[r.method] = {
      tags: [r.tag],
      summary: r.summary,
      operationId: `${r.method}${templated(r.path).replace(/[{}]/g, '').split(/[/-]/).map((w) => w.charAt(0).toUpperCase() + w.slice(1)).join('')}`,
      parameters: parameters(r),
      ...(r.body ? { requestBody: { required: true, content: { 'application/json': { schema: jsonSchema(r.body) } } } } : {}),
      responses: {
        [String(r.status ?? 200)]: { description: 'Done', content: { 'application/json': { schema: {} } } },
        400: PROBLEM, 401: PROBLEM, 403: PROBLEM, 404: PROBLEM, 409: PROBLEM,
      },
      ...(open ? { security: [] } : {}),
    };
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'Postamt admin API',
      version: info.version,
      description: 'Administration of a Postamt mail server: domains, DNS records, DKIM keys, accounts, aliases, the queue, the suppression list and run-time policy. Every call is checked against the caller\'s roles (server admin, domain admin). Authenticate with an API token (`Authorization: Bearer …`, made at POST /admin/api/tokens) or, from the admin UI, with the session cookie and its CSRF token in `X-CSRF-Token`.',
    },
    servers: [{ url: '/' }],
    security: [{ bearer: [] }, { session: [] }],
    components: {
      securitySchemes: {
        bearer: { type: 'http', scheme: 'bearer', description: 'An admin API token.' },
        session: { type: 'apiKey', in: 'cookie', name: 'postamt_admin', description: 'The admin UI session; state changes also need the X-CSRF-Token header.' },
      },
      schemas: {
        Problem: { type: 'object', properties: { type: { type: 'string' }, status: { type: 'integer' }, detail: { type: 'string' } }, required: ['status', 'detail'] },
      },
    },
    paths,
  };
}
