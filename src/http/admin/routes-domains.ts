/**
 * Admin API routes for domains: add and remove, their admins, the DNS records to publish and their live
 * check, DKIM keys (generate, rotate, activate, retire).
 */
import { z } from 'zod';
import { route } from './route.ts';

const domain = z.object({ domain: z.string().min(1).max(255) });

export const domainRoutes = [
  route({ method: 'get', path: '/domains', tag: 'domains', summary: 'Domains the caller administers', run: ({ admin, as }) => admin.domains.list(as) }),
  route({
    method: 'post', path: '/domains', tag: 'domains', status: 201, summary: 'Add a domain (server admin)',
    body: z.object({ name: z.string().min(1).max(255) }), run: ({ admin, as, body }) => admin.domains.add(as, body.name),
  }),
  route({
    method: 'delete', path: '/domains/:domain', tag: 'domains', summary: 'Remove a domain without users (server admin)',
    params: domain, run: async ({ admin, as, params }) => ({ removed: await admin.domains.remove(as, params.domain) }),
  }),
  route({ method: 'get', path: '/domains/:domain/admins', tag: 'domains', summary: 'The admins of a domain', params: domain, run: ({ admin, as, params }) => admin.domains.listAdmins(as, params.domain) }),
  route({
    method: 'put', path: '/domains/:domain/admins/:address', tag: 'domains', summary: 'Make an account an admin of the domain (server admin)',
    params: domain.extend({ address: z.string().min(3).max(320) }), run: ({ admin, as, params }) => admin.domains.addAdmin(as, params.domain, params.address),
  }),
  route({
    method: 'delete', path: '/domains/:domain/admins/:address', tag: 'domains', summary: 'Take the domain from an admin (server admin)',
    params: domain.extend({ address: z.string().min(3).max(320) }), run: ({ admin, as, params }) => admin.domains.removeAdmin(as, params.domain, params.address),
  }),
  route({
    method: 'get', path: '/domains/:domain/dns', tag: 'DNS', summary: 'The DNS records to publish (what `postamt dns` prints)',
    params: domain, query: z.object({ ip: z.union([z.string(), z.array(z.string())]).optional().describe('The server\'s public address(es), comma-separated') }),
    run: async ({ admin, as, params, query }) => {
      const ips = (Array.isArray(query.ip) ? query.ip : query.ip === undefined ? [] : [query.ip]).flatMap((s) => s.split(',')).map((s) => s.trim()).filter(Boolean);
      const r = await admin.dns.records(as, params.domain, { ips });
      return { domain: r.domain, hasDkimKey: r.hasDkimKey, records: r.records.map(({ name, type, value, purpose, required }) => ({ name, type, value, purpose, required })) };
    },
  }),
  route({
    method: 'post', path: '/domains/:domain/dns/check', tag: 'DNS', summary: 'Look the records up and report ok / missing / wrong (what `postamt dns check` does); a pending DKIM key found published starts signing',
    params: domain, run: ({ admin, as, params }) => admin.dns.check(as, params.domain),
  }),
  route({ method: 'get', path: '/domains/:domain/dkim', tag: 'DKIM', summary: 'DKIM keys with their state and DNS record', params: domain, run: ({ admin, as, params }) => admin.dkim.list(as, params.domain) }),
  route({
    method: 'post', path: '/domains/:domain/dkim', tag: 'DKIM', status: 201, summary: 'Generate keys (default: an RSA and an Ed25519 key, pending until published)',
    params: domain, body: z.object({ algorithm: z.enum(['rsa', 'ed25519', 'both']).optional(), selector: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9-]{0,62}$/).optional(), active: z.boolean().optional() }),
    run: async ({ admin, as, params, body }) => (await admin.dkim.generate(as, { domain: params.domain, ...body })).map((k) => ({ domain: k.domain, selector: k.selector, algorithm: k.algorithm })),
  }),
  route({
    method: 'post', path: '/domains/:domain/dkim/rotate', tag: 'DKIM', status: 201, summary: 'New pending keys of the algorithms signing now',
    params: domain, run: async ({ admin, as, params }) => (await admin.dkim.rotate(as, params.domain)).map((k) => ({ domain: k.domain, selector: k.selector, algorithm: k.algorithm })),
  }),
  route({
    method: 'post', path: '/domains/:domain/dkim/:selector/activate', tag: 'DKIM', summary: 'Sign with a pending key now',
    params: domain.extend({ selector: z.string().min(1).max(63) }),
    run: async ({ admin, as, params }) => ({ activated: (await admin.dkim.activate(as, params.domain, [params.selector])).map((k) => k.selector) }),
  }),
  route({
    method: 'delete', path: '/domains/:domain/dkim/:selector', tag: 'DKIM', summary: 'Retire a key (it stops signing)',
    params: domain.extend({ selector: z.string().min(1).max(63) }), run: async ({ admin, as, params }) => ({ retired: params.selector, domain: await admin.dkim.retire(as, params.domain, params.selector) }),
  }),
];
