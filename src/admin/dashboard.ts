/**
 * The admin dashboard's figures: the queue (size, pending recipients, oldest entry) as the actor may see it,
 * and for a server admin the data directory's disk and size, the certificates' expiry and the mail activity
 * of the last hour and day (counted from the message trace). Per-domain DNS health is
 * the DNS check of each domain, asked for separately because it waits on the network.
 */
import { readdir, stat, statfs } from 'node:fs/promises';
import { join } from 'node:path';
import type { QueueMessageRecord } from '../store/types.ts';
import { TraceService } from '../trace/service.ts';
import { domainOf, type Actor, type Principal } from './access.ts';
import type { AdminContext } from './context.ts';

export interface CertificateFacts {
  /** The names it covers (subject alternative names). */
  names: string[];
  validTo: Date;
  daysLeft: number;
}

/** Messages per result over a period (accepted, rejected with the reasons, delivered, deferred, bounced). */
export interface ActivityCounts {
  accepted: number;
  rejected: number;
  rejectedByReason: Record<string, number>;
  delivered: number;
  deferred: number;
  bounced: number;
}

/** What only the running server knows; the CLI's service has none of it. */
export interface ServerFacts {
  certificates(): CertificateFacts[];
}

export interface Dashboard {
  queue: { messages: number; pendingRecipients: number; oldestCreatedAt: Date | null };
  /** Server admins only (null for a domain admin). */
  server: {
    disk: { freeBytes: number; totalBytes: number } | null;
    dataBytes: number;
    certificates: CertificateFacts[];
    activity: { lastHour: ActivityCounts; lastDay: ActivityCounts };
  } | null;
  domains: string[];
}

/** Bytes of the files under `dir` (the database, its WAL, bodies, keys). */
async function treeBytes(dir: string): Promise<number> {
  let total = 0;
  let entries;
  try {
    entries = await readdir(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    if (e.isDirectory()) total += await treeBytes(path);
    else if (e.isFile()) total += await stat(path).then((s) => s.size, () => 0);
  }
  return total;
}

export function dashboardService(ctx: AdminContext & { facts: ServerFacts | null }) {
  const { store, gate, settings, now } = ctx;

  const visible = (actor: Actor, m: QueueMessageRecord): boolean =>
    actor.serverAdmin || [m.sender, m.submitter].some((a) => a && a.includes('@') && actor.domains.has(domainOf(a).toLowerCase()));

  const trace = new TraceService({ store });

  /** What the message trace recorded since a time (its own counting), with the refusals summed. */
  async function activity(since: Date): Promise<ActivityCounts> {
    const t = await trace.summary(since);
    const rejected = Object.values(t.rejected).reduce((a, b) => a + b, 0);
    return { accepted: t.accepted, rejected, rejectedByReason: t.rejected, delivered: t.delivered, deferred: t.deferred, bounced: t.bounced };
  }

  return {
    async get(principal: Principal): Promise<Dashboard> {
      const actor = await gate.actor(principal);
      gate.requireAdmin(actor, 'see the dashboard');
      const queued = (await store.listQueue()).filter((m) => visible(actor, m));
      const pending = (m: QueueMessageRecord) => m.recipients.filter((r) => r.state === 'queued' || r.state === 'deferred' || r.state === 'held').length;
      const oldest = queued.reduce<Date | null>((a, m) => (a === null || m.createdAt < a ? m.createdAt : a), null);
      const domains = (await store.listDomains()).map((d) => d.name).filter((d) => gate.mayManageDomain(actor, d));
      const dashboard: Dashboard = { queue: { messages: queued.length, pendingRecipients: queued.reduce((n, m) => n + pending(m), 0), oldestCreatedAt: oldest }, server: null, domains };
      if (actor.serverAdmin) {
        const t = now().getTime();
        const facts = ctx.facts;
        const disk = await statfs(settings.dataDir).then((s) => ({ freeBytes: s.bavail * s.bsize, totalBytes: s.blocks * s.bsize }), () => null);
        dashboard.server = {
          disk,
          dataBytes: await treeBytes(settings.dataDir),
          certificates: facts?.certificates() ?? [],
          activity: { lastHour: await activity(new Date(t - 3_600_000)), lastDay: await activity(new Date(t - 86_400_000)) },
        };
      }
      return dashboard;
    },
  };
}

export type DashboardService = ReturnType<typeof dashboardService>;
