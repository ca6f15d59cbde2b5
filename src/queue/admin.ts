/**
 * Queue administration back end for the CLI and web admin (postqueue/postsuper style): list, show, retry,
 * delete, bounce now, hold and release. Returns plain data; callers format it.
 */
import type { Logger } from '../core/log.ts';
import { silentLogger } from '../core/log.ts';
import type { QueueMessageRecord, QueueStore } from '../store/types.ts';
import { sendDsn, type OutcomeObserver } from './outcomes.ts';

export interface QueueSummary {
  id: string;
  sender: string;
  size: number;
  createdAt: Date;
  /** Held for a delayed send (RFC 4865 FUTURERELEASE) until this time; null when sent at once. */
  holdUntil: Date | null;
  recipients: { address: string; state: string; attempts: number; nextAttemptAt: Date; lastResult: string | null }[];
}

function summarize(m: QueueMessageRecord): QueueSummary {
  return {
    id: m.id,
    sender: m.sender,
    size: m.size,
    createdAt: m.createdAt,
    holdUntil: m.holdUntil,
    recipients: m.recipients.map((r) => ({ address: r.address, state: r.state, attempts: r.attempts, nextAttemptAt: r.nextAttemptAt, lastResult: r.lastResult })),
  };
}

async function targets(store: QueueStore, id: string | 'all'): Promise<QueueMessageRecord[]> {
  if (id === 'all') return store.listQueue();
  const m = await store.getQueueMessage(id);
  return m ? [m] : [];
}

/** `include`: only the messages a caller may see (the admin service filters by domain). */
export async function listQueue(store: QueueStore, include: (m: QueueMessageRecord) => boolean = () => true): Promise<QueueSummary[]> {
  return (await store.listQueue()).filter(include).map(summarize);
}

export async function showQueue(store: QueueStore, id: string): Promise<(QueueSummary & { envid: string | null; ret: string | null; origin: string; headers: string }) | null> {
  const m = await store.getQueueMessage(id);
  if (!m) return null;
  const body = await store.readQueueMessage(id);
  const end = body.indexOf('\r\n\r\n');
  return { ...summarize(m), envid: m.envid, ret: m.ret, origin: m.origin, headers: body.subarray(0, end >= 0 ? end : Math.min(body.length, 64 * 1024)).toString('utf8') };
}

/**
 * Makes queued/deferred recipients due now and records the request with them, so the runner (in this process
 * or another) also lifts its backoff of their destinations; returns how many. Kick the runner afterwards.
 */
export async function retryQueue(store: QueueStore, id: string | 'all', now: Date = new Date()): Promise<number> {
  const updates = (await targets(store, id)).flatMap((m) => m.recipients.filter((r) => r.state === 'queued' || r.state === 'deferred').map((r) => ({ id: r.id, state: r.state, nextAttemptAt: now, retryRequestedAt: now })));
  await store.updateRecipients(updates);
  return updates.length;
}

export async function deleteQueue(store: QueueStore, id: string | 'all'): Promise<number> {
  let n = 0;
  for (const m of await targets(store, id)) if (await store.deleteQueueMessage(m.id)) n++;
  return n;
}

export async function holdQueue(store: QueueStore, id: string | 'all'): Promise<number> {
  const updates = (await targets(store, id)).flatMap((m) => m.recipients.filter((r) => r.state === 'queued' || r.state === 'deferred').map((r) => ({ id: r.id, state: 'held' as const })));
  await store.updateRecipients(updates);
  return updates.length;
}

export async function releaseQueue(store: QueueStore, id: string | 'all', now: Date = new Date()): Promise<number> {
  const updates = (await targets(store, id)).flatMap((m) =>
    m.recipients.filter((r) => r.state === 'held').map((r) => ({ id: r.id, state: r.attempts > 0 ? ('deferred' as const) : ('queued' as const), nextAttemptAt: now })),
  );
  await store.updateRecipients(updates);
  return updates.length;
}

/** Fails every pending recipient now with a DSN to the sender (like postsuper -r + bounce), then removes the message. */
export async function bounceQueue(
  store: QueueStore, id: string, options: { hostname: string; reason?: string; now?: Date; logger?: Logger; observer?: OutcomeObserver | null },
): Promise<{ bounced: number; recipients: string[]; reason: string; dsnQueueId: string | null } | null> {
  const m = await store.getQueueMessage(id);
  if (!m) return null;
  const now = options.now ?? new Date();
  const pending = m.recipients.filter((r) => r.state !== 'delivered' && r.state !== 'bounced');
  const reason = options.reason ?? 'message bounced by the administrator';
  const original = await store.readQueueMessage(id).catch(() => null);
  const dsnQueueId = await sendDsn(
    { store, hostname: options.hostname, now, logger: options.logger ?? silentLogger(), observer: options.observer ?? null },
    m,
    pending.filter((r) => !(r.notify ?? []).map((v) => v.toUpperCase()).includes('NEVER')).map((r) => ({ address: r.address, orcpt: r.orcpt, action: 'failed' as const, status: '5.0.0', diagnostic: null, lastAttemptAt: now, remoteMta: null })).map((r) => ({ ...r, diagnostic: `X-Postamt; ${reason}` })),
    original,
  );
  await store.deleteQueueMessage(id);
  return { bounced: pending.length, recipients: pending.map((r) => r.address), reason, dsnQueueId };
}
