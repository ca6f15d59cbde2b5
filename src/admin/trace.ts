/**
 * The message trace as its readers may read it: a server admin every message's timeline, a domain admin those
 * sent from or to an address of their domains, a user the messages they submitted (the search itself is the
 * trace service's, shared with the CLI).
 */
import { TraceService, type MessageTimeline, type TraceSearch } from '../trace/service.ts';
import type { Principal } from './access.ts';
import type { AdminContext } from './context.ts';

export function traceAdminService(ctx: AdminContext) {
  const { store, gate } = ctx;
  const trace = new TraceService({ store });

  return {
    /** Timelines of the messages that match, newest first, that the admin may see. */
    async search(principal: Principal, query: TraceSearch): Promise<MessageTimeline[]> {
      const actor = await gate.actor(principal);
      gate.requireAdmin(actor, 'read the message trace');
      return trace.search(actor.serverAdmin ? { kind: 'everything' } : { kind: 'domains', domains: [...actor.domains] }, query);
    },

    /**
     * The account's own sent messages that match, newest first: those it submitted (by SMTP submission, JMAP
     * or the webmail), whoever they were sent to; never another account's, whatever the query names.
     */
    async sent(principal: Principal, query: TraceSearch): Promise<MessageTimeline[]> {
      const actor = await gate.actor(principal);
      const address = actor.address;
      if (address === null) return gate.deny(actor, 'read the trace of sent messages', 'only an account has sent messages');
      return trace.search({ kind: 'submitted-by', address }, query);
    },
  };
}

export type TraceAdminService = ReturnType<typeof traceAdminService>;
