/**
 * Keeps what the running server holds in step with the store, whichever process changed it (the store's
 * change feed): recipient and domain answers, delivery mailbox ids, quota figures, the queue runner's
 * schedule. Mailbox snapshots and IMAP sessions follow the feed themselves (mail/service.ts).
 */
import type { Logger } from '../core/log.ts';
import type { QueueRunner } from '../queue/runner.ts';
import type { OpenedStore } from '../store/open.ts';
import type { DeliveryPlanner } from '../delivery/planner.ts';
import type { UsageCache } from '../accounts/usage-cache.ts';
import { isAccountDataEvent } from '../store/types.ts';

/** What follows the change feed; the composition root passes its services and how to update local domains. */
export interface StoreFollowers {
  store: OpenedStore;
  planner: DeliveryPlanner;
  usage: UsageCache;
  queue: QueueRunner;
  logger: Logger;
  setLocalDomains(names: string[]): void;
}

export function followStoreChanges(services: StoreFollowers): () => void {
  const { store, planner, usage, queue } = services;
  const refreshDomains = (): void => {
    store.listDomains().then((domains) => services.setLocalDomains(domains.map((d) => d.name)))
      .catch((err: unknown) => services.logger.warn({ event: 'store.change_failed', err }, 'reading domains after a change failed'));
  };
  return store.subscribe((change, source) => {
    switch (change.kind) {
      case 'directory':
        planner.resolver.forget();
        refreshDomains();
        return;
      case 'account':
        // A vacation response, submission or identity changes nothing these caches hold.
        if (isAccountDataEvent(change.event)) return;
        planner.resolver.forget();
        planner.mailboxes.forget(change.accountId);
        usage.forget(change.accountId);
        return;
      case 'mailbox':
        planner.mailboxes.forget(change.accountId);
        return;
      case 'queue':
        // This process kicks its runner itself after its own queue writes; others' (the CLI's `queue
        // retry`, `release`, a second server's) would otherwise wait for the runner's next poll.
        if (!source.local) queue.kick();
        return;
      case 'reset':
        planner.resolver.forget();
        planner.mailboxes.clear();
        usage.forget();
        refreshDomains();
        queue.kick();
        return;
      default:
        return;
    }
  });
}
