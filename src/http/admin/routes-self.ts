/**
 * Admin API routes about the caller: who they are, their API tokens, their second factor, and the dashboard.
 */
import { z } from 'zod';
import { MAX_TOKEN_DAYS } from '../../admin/api-tokens.ts';
import { route } from './route.ts';

const code = z.string().regex(/^\d{6}$/).describe('A 6-digit code from the authenticator app');

export const selfRoutes = [
  route({ method: 'get', path: '/me', tag: 'session', summary: 'The caller: address, server admin or the domains administered, second factor on', run: async ({ admin, as }) => ({ ...(await admin.whoami(as)), secondFactor: (await admin.secondFactor.status(as)).enabled }) }),

  route({ method: 'get', path: '/tokens', tag: 'tokens', summary: 'The caller\'s API tokens and admin sessions', run: ({ admin, as }) => admin.apiTokens.list(as) }),
  route({
    method: 'post', path: '/tokens', tag: 'tokens', status: 201, summary: 'Make an API token (shown once)',
    body: z.object({ label: z.string().min(1).max(100), expiresInDays: z.number().int().min(1).max(MAX_TOKEN_DAYS).default(90) }),
    run: ({ admin, as, body }) => admin.apiTokens.create(as, body),
  }),
  route({
    method: 'delete', path: '/tokens/:id', tag: 'tokens', summary: 'Revoke an API token or end an admin session',
    params: z.object({ id: z.string().regex(/^[0-9a-f]{16}$/) }),
    run: async ({ admin, as, params }) => ({ revoked: await admin.apiTokens.revoke(as, params.id) }),
  }),

  route({ method: 'get', path: '/second-factor', tag: 'second factor', summary: 'Whether the caller\'s logins need a TOTP code', run: ({ admin, as }) => admin.secondFactor.status(as) }),
  route({ method: 'post', path: '/second-factor', tag: 'second factor', status: 201, summary: 'Start enrolling: a new TOTP secret and its otpauth URI (RFC 6238)', run: ({ admin, as }) => admin.secondFactor.enrol(as) }),
  route({
    method: 'post', path: '/second-factor/confirm', tag: 'second factor', summary: 'Confirm with a first code: from now on logins need one',
    body: z.object({ code }), run: ({ admin, as, body }) => admin.secondFactor.confirm(as, body.code),
  }),
  route({
    method: 'post', path: '/second-factor/remove', tag: 'second factor', summary: 'Remove the caller\'s factor (with a current code), or another admin\'s (server admin)',
    body: z.object({ code: code.optional(), address: z.string().optional() }), run: ({ admin, as, body }) => admin.secondFactor.remove(as, body),
  }),

  route({ method: 'get', path: '/dashboard', tag: 'dashboard', summary: 'Queue, disk, database, certificates and the last hour\'s and day\'s mail', run: ({ admin, as }) => admin.dashboard.get(as) }),
  route({
    method: 'get', path: '/dashboard/dns', tag: 'dashboard', summary: 'The DNS check of every domain the caller administers',
    run: async ({ admin, as }) => {
      const domains = (await admin.domains.list(as)).map((d) => d.name);
      return Promise.all(domains.map(async (domain) => {
        try {
          const r = await admin.dns.check(as, domain);
          return { domain, ok: r.ok, failures: r.failures, problems: r.checks.filter((c) => c.status !== 'ok' && !c.status.includes('optional')) };
        } catch (err) {
          return { domain, ok: false, failures: null, error: err instanceof Error ? err.message : String(err) };
        }
      }));
    },
  }),
];
