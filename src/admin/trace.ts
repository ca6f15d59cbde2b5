/**
 * The message trace as admins read it: a server admin every message's timeline, a domain admin those sent
 * from or to an address of their domains (the search itself is the trace service's, shared with the CLI).
 */
import type { TraceQuery } from '../store/types.ts';
import { TraceService, type MessageTimeline } from '../trace/service.ts';
import { domainOf, type Actor, type Principal } from './access.ts';
import type { AdminContext } from './context.ts';

export function traceAdminService(ctx: AdminContext) {
  const { store, gate } = ctx;
  const trace = new TraceService({ store });

  const visible = (actor: Actor, t: MessageTimeline): boolean =>
    actor.serverAdmin || [t.sender, ...t.recipients].some((a) => a && a.includes('@') && actor.domains.has(domainOf(a).toLowerCase()));

  return {
    /** Timelines of the messages that match, newest first, that the actor may see. */
    async search(principal: Principal, query: TraceQuery): Promise<MessageTimeline[]> {
      const actor = await gate.actor(principal);
      gate.requireAdmin(actor, 'read the message trace');
      return (await trace.search(query)).filter((t) => visible(actor, t));
    },
  };
}

export type TraceAdminService = ReturnType<typeof traceAdminService>;
