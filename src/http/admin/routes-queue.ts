/**
 * Admin API routes for the queue (list with filters, show with its trace, retry, hold, release, delete,
 * bounce), the message trace, the suppression list and the run-time policy settings.
 */
import { z } from 'zod';
import { route } from './route.ts';

const queueId = z.object({ id: z.string().regex(/^[0-9A-Za-z]{1,64}$/) });

export const queueRoutes = [
  route({
    method: 'get', path: '/queue', tag: 'queue', summary: 'Queued messages the caller may see, filtered',
    query: z.object({ sender: z.string().optional(), recipient: z.string().optional(), state: z.enum(['queued', 'deferred', 'held', 'delivered', 'bounced']).optional() }),
    run: ({ admin, as, query }) => admin.queue.list(as, query),
  }),
  route({ method: 'get', path: '/queue/:id', tag: 'queue', summary: 'Envelope, headers, recipients and the message trace (each attempt)', params: queueId, run: ({ admin, as, params }) => admin.queue.show(as, params.id) }),
  route({ method: 'post', path: '/queue/:id/retry', tag: 'queue', summary: 'Make pending recipients due now', params: queueId, run: async ({ admin, as, params }) => ({ recipients: await admin.queue.retry(as, params.id) }) }),
  route({ method: 'post', path: '/queue/:id/hold', tag: 'queue', summary: 'Hold pending recipients (no attempts until released)', params: queueId, run: async ({ admin, as, params }) => ({ recipients: await admin.queue.act(as, 'hold', params.id) }) }),
  route({ method: 'post', path: '/queue/:id/release', tag: 'queue', summary: 'Release held recipients (due now)', params: queueId, run: async ({ admin, as, params }) => ({ recipients: await admin.queue.act(as, 'release', params.id) }) }),
  route({ method: 'delete', path: '/queue/:id', tag: 'queue', summary: 'Delete the message without a DSN', params: queueId, run: async ({ admin, as, params }) => ({ deleted: await admin.queue.act(as, 'delete', params.id) }) }),
  route({
    method: 'post', path: '/queue/:id/bounce', tag: 'queue', summary: 'Fail pending recipients now with a DSN to the sender',
    params: queueId, body: z.object({ reason: z.string().max(200).optional() }), run: ({ admin, as, params, body }) => admin.queue.bounce(as, params.id, body.reason),
  }),
  route({
    method: 'get', path: '/trace', tag: 'trace', summary: 'Message timelines (received, stored, queued, each attempt, DSN) found by Message-ID, sender, recipient, queue id, result and time',
    query: z.object({
      messageId: z.string().optional(), sender: z.string().optional(), recipient: z.string().optional(), queueId: z.string().optional(), result: z.string().optional(),
      since: z.iso.datetime({ offset: true }).optional(), until: z.iso.datetime({ offset: true }).optional(), limit: z.coerce.number().int().min(1).max(500).optional(),
    }),
    run: ({ admin, as, query }) => admin.trace.search(as, {
      ...query, since: query.since === undefined ? undefined : new Date(query.since), until: query.until === undefined ? undefined : new Date(query.until),
    }),
  }),
  route({ method: 'get', path: '/suppressions', tag: 'queue', summary: 'The suppression list (server admin)', run: ({ admin, as }) => admin.suppressions.list(as) }),
  route({
    method: 'delete', path: '/suppressions/:address', tag: 'queue', summary: 'Allow sending to an address again (server admin)',
    params: z.object({ address: z.string().min(3).max(320) }), run: async ({ admin, as, params }) => ({ removed: await admin.suppressions.remove(as, params.address) }),
  }),
  route({ method: 'get', path: '/policy', tag: 'policy', summary: 'Inbound policy settings: what applies, what the file says, which change at run time (server admin)', run: ({ admin, as }) => admin.policy.get(as) }),
  route({
    method: 'patch', path: '/policy', tag: 'policy', summary: 'Change run-time settings (TOML values: "10m", ["zen.spamhaus.org"], 12); null goes back to the file\'s value',
    body: z.record(z.string().regex(/^[a-z_]+$/), z.unknown()), run: ({ admin, as, body }) => admin.policy.set(as, body),
  }),
];
