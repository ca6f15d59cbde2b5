/**
 * Delayed sends (RFC 4865 FUTURERELEASE, RFC 8621 §7 sendAt): a message is queued durably with a release
 * time and no recipient is attempted before it; until then its sender may take it back.
 */
import type { Logger } from '../core/log.ts';
import type { QueueStore } from '../store/types.ts';

/**
 * Takes a held message out of the queue before its release time: true when it was removed (nothing was or
 * will be attempted), false when it is gone or already released (its recipients may have been attempted).
 */
export async function cancelHeldMessage(deps: { store: Pick<QueueStore, 'cancelHeldMessage'>; logger: Logger }, queueId: string, options: { now?: Date; user: string }): Promise<boolean> {
  const canceled = await deps.store.cancelHeldMessage(queueId, options.now ?? new Date());
  deps.logger.info({ event: 'queue.hold_canceled', queueId, user: options.user, canceled }, canceled ? 'held message canceled by its sender' : 'held message already released; not canceled');
  return canceled;
}
