/**
 * Queue actions (list, show, retry, hold, release, delete, bounce) with their permission checks; the work
 * is done by queue/admin.ts. A domain admin sees and acts on the messages their domains send: those whose
 * sender or authenticated submitter is an address of one of their domains.
 */
import { bounceQueue, deleteQueue, holdQueue, listQueue, releaseQueue, retryQueue, showQueue, type QueueSummary } from '../queue/admin.ts';
import type { OutcomeObserver } from '../queue/outcomes.ts';
import type { QueueMessageRecord, TraceEventInput, TraceEventRecord } from '../store/types.ts';
import { adminBounceEvents, adminDeleteEvent, dsnEvent } from '../trace/events.ts';
import { domainOf, type Actor, type Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';

export type QueueDetail = NonNullable<Awaited<ReturnType<typeof showQueue>>>;

/** Queue ids are letters and digits (shown upper-case by every tool). */
export function parseQueueId(text: string): string {
  if (!/^[0-9A-Za-z]{1,64}$/.test(text)) throw new AdminError('invalid', `${JSON.stringify(text)} is not a queue id (see postamt queue list)`);
  return text.toUpperCase();
}

type QueueAction = 'delete' | 'hold' | 'release';

export interface QueueFilter {
  sender?: string;
  recipient?: string;
  state?: string;
}

export function queueService(ctx: AdminContext) {
  const { store, gate, settings, logger, now, kickQueue } = ctx;

  const visible = (actor: Actor, m: QueueMessageRecord): boolean =>
    actor.serverAdmin || [m.sender, m.submitter].some((a) => a && a.includes('@') && actor.domains.has(domainOf(a).toLowerCase()));

  /** The message, once the actor may act on it. */
  async function message(actor: Actor, idText: string, action: string): Promise<QueueMessageRecord> {
    const id = parseQueueId(idText);
    gate.requireAdmin(actor, `${action} ${id}`);
    const m = await store.getQueueMessage(id);
    if (!m) throw new AdminError('not-found', `no queued message ${id}`);
    if (!visible(actor, m)) gate.deny(actor, `${action} ${id}`, 'it is not sent from a domain they administer');
    return m;
  }

  /** One message, or every message the actor sees. */
  async function targets(actor: Actor, target: string | 'all', action: string): Promise<string[]> {
    if (target !== 'all') return [(await message(actor, target, action)).id];
    gate.requireAdmin(actor, `${action} every queued message`);
    return (await store.listQueue()).filter((m) => visible(actor, m)).map((m) => m.id);
  }

  async function each(ids: string[], run: (id: string) => Promise<number>): Promise<number> {
    let n = 0;
    for (const id of ids) n += await run(id);
    return n;
  }

  /** The bounce is done whatever happens here: a trace that cannot be stored is logged, not thrown. */
  async function recordTrace(events: TraceEventInput[]): Promise<void> {
    try {
      await store.appendTrace(events);
    } catch (err) {
      logger.warn({ event: 'trace.write_failed', events: events.length, err }, 'message trace events could not be stored');
    }
  }

  const simple: Record<QueueAction, (id: string) => Promise<number>> = {
    delete: (id) => deleteQueue(store, id),
    hold: (id) => holdQueue(store, id),
    release: (id) => releaseQueue(store, id, now()),
  };

  return {
    /** Messages the actor sees; `filter`: sender or recipient containing the text (any case), recipients in a state. */
    async list(principal: Principal, filter: QueueFilter = {}): Promise<QueueSummary[]> {
      const actor = await gate.actor(principal);
      gate.requireAdmin(actor, 'list the queue');
      const has = (text: string, part: string | undefined) => part === undefined || part === '' || text.toLowerCase().includes(part.toLowerCase());
      return listQueue(store, (m) => visible(actor, m)
        && has(m.sender, filter.sender)
        && (filter.recipient === undefined || m.recipients.some((r) => has(r.address, filter.recipient)))
        && (filter.state === undefined || m.recipients.some((r) => r.state === filter.state)));
    },

    /** Envelope, recipients and headers of one message, and its trace (reception, each attempt, deferrals). */
    async show(principal: Principal, id: string): Promise<QueueDetail & { trace: TraceEventRecord[] }> {
      const actor = await gate.actor(principal);
      const m = await message(actor, id, 'see queued message');
      const detail = await showQueue(store, m.id);
      if (!detail) throw new AdminError('not-found', `no queued message ${m.id}`);
      return { ...detail, trace: await store.searchTrace({ queueId: m.id }) };
    },

    /** Makes pending recipients due now; returns how many. */
    async retry(principal: Principal, target: string | 'all'): Promise<number> {
      const actor = await gate.actor(principal);
      const ids = await targets(actor, target, 'retry');
      const n = await each(ids, (id) => retryQueue(store, id, now()));
      if (n > 0) kickQueue();
      gate.done(actor, `retry ${target === 'all' ? 'every queued message' : ids[0]}`);
      return n;
    },

    /** delete: the message (returns 1); hold and release: its pending recipients (returns how many). */
    async act(principal: Principal, action: QueueAction, id: string): Promise<number> {
      const actor = await gate.actor(principal);
      const m = await message(actor, id, `${action} queued message`);
      const n = await simple[action](m.id);
      if (action === 'release' && n > 0) kickQueue();
      gate.done(actor, `${action} queued message ${m.id}`);
      // A message that silently left the queue would end its trace at its last attempt: say who removed it.
      if (action === 'delete' && n > 0 && settings.traceEnabled) {
        const pending = m.recipients.filter((r) => r.state !== 'delivered' && r.state !== 'bounced').map((r) => r.address);
        await recordTrace([adminDeleteEvent({ message: m, recipients: pending, by: actor.name, at: now() })]);
      }
      return n;
    },

    /**
     * Fails pending recipients now with a DSN to the sender, then removes the message. The trace shows each
     * recipient bounced by whom, and the DSN sent, as it shows the queue's own bounces.
     */
    async bounce(principal: Principal, id: string, reason?: string): Promise<{ bounced: number; dsnQueueId: string | null }> {
      const actor = await gate.actor(principal);
      const m = await message(actor, id, 'bounce queued message');
      const at = now();
      const dsns: TraceEventInput[] = [];
      const observer: OutcomeObserver = { outcome: () => undefined, dsn: (queued, dsn) => void dsns.push(dsnEvent(queued, dsn)) };
      const result = await bounceQueue(store, m.id, { hostname: settings.hostname, reason, now: at, logger, observer });
      if (!result) throw new AdminError('not-found', `no queued message ${m.id}`);
      if (result.dsnQueueId) kickQueue();
      gate.done(actor, `bounce queued message ${m.id}`);
      if (settings.traceEnabled) await recordTrace([...adminBounceEvents({ message: m, recipients: result.recipients, by: actor.name, reason: result.reason, at }), ...dsns]);
      return { bounced: result.bounced, dsnQueueId: result.dsnQueueId };
    },
  };
}

export type QueueService = ReturnType<typeof queueService>;
