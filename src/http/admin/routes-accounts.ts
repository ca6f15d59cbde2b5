/**
 * Admin API routes for accounts (add, disable, remove, passwords, quotas with usage, server admin role,
 * app passwords) and aliases (aliases, catch-alls `@domain`, forwarding to remote addresses).
 */
import { z } from 'zod';
import type { AppPasswordRecord } from '../../store/types.ts';
import { route } from './route.ts';

const account = z.object({ address: z.string().min(3).max(320) });
const password = z.string().min(1).max(1024);
/** Never the hashes: what a list of app passwords shows. */
const appPassword = (r: AppPasswordRecord) => ({ id: r.id, label: r.label, createdAt: r.createdAt, lastUsedAt: r.lastUsedAt });

export const accountRoutes = [
  route({
    method: 'get', path: '/accounts', tag: 'accounts', summary: 'Accounts of one domain, or of every domain the caller administers',
    query: z.object({ domain: z.string().optional() }), run: ({ admin, as, query }) => admin.users.list(as, query.domain),
  }),
  route({
    method: 'post', path: '/accounts', tag: 'accounts', status: 201, summary: 'Add an account with its default mailboxes',
    body: z.object({ address: z.string().min(3).max(320), password, quotaBytes: z.number().int().min(0).nullable().optional().describe('null: the server default; 0: unlimited'), serverAdmin: z.boolean().optional() }),
    run: ({ admin, as, body }) => admin.users.add(as, body),
  }),
  route({ method: 'get', path: '/accounts/:address', tag: 'accounts', summary: 'One account with its quota and usage', params: account, run: ({ admin, as, params }) => admin.users.show(as, params.address) }),
  route({
    method: 'delete', path: '/accounts/:address', tag: 'accounts', summary: 'Remove the account with all its mail',
    params: account, run: async ({ admin, as, params }) => ({ removed: await admin.users.remove(as, params.address) }),
  }),
  route({
    method: 'patch', path: '/accounts/:address', tag: 'accounts', summary: 'Disable or enable, set the quota, make or unmake a server admin',
    params: account,
    body: z.object({ disabled: z.boolean().optional(), quotaBytes: z.number().int().min(0).nullable().optional(), serverAdmin: z.boolean().optional() }),
    run: async ({ admin, as, params, body }) => {
      if (body.disabled !== undefined) await admin.users.setDisabled(as, params.address, body.disabled);
      if (body.quotaBytes !== undefined) await admin.users.setQuota(as, params.address, body.quotaBytes);
      if (body.serverAdmin !== undefined) await admin.users.setServerAdmin(as, params.address, body.serverAdmin);
      return admin.users.show(as, params.address);
    },
  }),
  route({
    method: 'post', path: '/accounts/:address/password', tag: 'accounts', summary: 'Set a new password (an account changing its own gives the current one)',
    params: account, body: z.object({ password, currentPassword: z.string().optional() }),
    run: async ({ admin, as, params, body }) => ({ address: await admin.users.setPassword(as, params.address, body.password, { currentPassword: body.currentPassword }) }),
  }),
  route({ method: 'get', path: '/accounts/:address/mailboxes', tag: 'accounts', summary: 'Mailboxes with their counts and sizes', params: account, run: ({ admin, as, params }) => admin.users.mailboxes(as, params.address) }),
  route({
    method: 'get', path: '/accounts/:address/app-passwords', tag: 'app passwords', summary: 'App passwords of an account',
    params: account, run: async ({ admin, as, params }) => (await admin.appPasswords.list(as, params.address)).passwords.map(appPassword),
  }),
  route({
    method: 'post', path: '/accounts/:address/app-passwords', tag: 'app passwords', status: 201, summary: 'Generate an app password (shown once)',
    params: account, body: z.object({ label: z.string().min(1).max(100) }),
    run: async ({ admin, as, params, body }) => {
      const made = await admin.appPasswords.add(as, params.address, body.label);
      return { ...appPassword(made.record), password: made.password };
    },
  }),
  route({
    method: 'delete', path: '/accounts/:address/app-passwords/:id', tag: 'app passwords', summary: 'Revoke an app password',
    params: account.extend({ id: z.coerce.number().int().min(1) }), run: async ({ admin, as, params }) => ({ address: await admin.appPasswords.remove(as, params.address, params.id), removed: params.id }),
  }),

  route({
    method: 'get', path: '/aliases', tag: 'aliases', summary: 'Aliases, catch-alls and forwardings of one domain or of every domain the caller administers',
    query: z.object({ domain: z.string().optional() }), run: ({ admin, as, query }) => admin.aliases.list(as, query.domain),
  }),
  route({
    method: 'put', path: '/aliases/:address', tag: 'aliases', summary: 'Set an alias (`@domain` is the catch-all; remote targets forward)',
    params: account.extend({ address: z.string().min(2).max(320) }), body: z.object({ targets: z.array(z.string().min(3).max(320)).min(1).max(1000) }),
    run: ({ admin, as, params, body }) => admin.aliases.add(as, { address: params.address, targets: body.targets }),
  }),
  route({
    method: 'delete', path: '/aliases/:address', tag: 'aliases', summary: 'Remove an alias',
    params: z.object({ address: z.string().min(2).max(320) }), run: async ({ admin, as, params }) => ({ removed: await admin.aliases.remove(as, params.address) }),
  }),
];
