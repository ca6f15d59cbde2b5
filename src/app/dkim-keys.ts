/**
 * Where DKIM keys live: files in data_dir/dkim for a store one node owns (SQLite), the store's shared
 * state when several nodes share it (PostgreSQL). Keys still in files when a node first runs on the
 * shared store are copied in, so a deployment moved to PostgreSQL keeps signing with its keys.
 */
import type { Logger } from '../core/log.ts';
import { FileDkimKeyStore, type ManagedDkimKeys } from '../dkim/file-key-store.ts';
import { SharedDkimKeyStore } from '../dkim/shared-key-store.ts';
import type { Store } from '../store/types.ts';

export function dkimKeysFor(store: Pick<Store, 'shared' | 'subscribe'>, dataDir: string): ManagedDkimKeys {
  return store.shared ? new SharedDkimKeyStore({ shared: store.shared, feed: store }) : new FileDkimKeyStore({ dataDir });
}

/** Copies file keys into the shared store when it has none yet (first start of a node on PostgreSQL). */
export async function importFileDkimKeys(store: Pick<Store, 'shared' | 'subscribe'>, dataDir: string, logger: Logger): Promise<void> {
  if (!store.shared) return;
  const files = await new FileDkimKeyStore({ dataDir }).listKeys();
  if (files.length === 0 || (await store.shared.listShared('dkim')).length > 0) return;
  const shared = new SharedDkimKeyStore({ shared: store.shared, feed: store });
  try {
    for (const key of [...files].reverse()) {
      await shared.addKey(key.domain, key.selector, key.algorithm, key.privateKeyPem, key.publicKeyB64, { pending: key.pending });
      if (!key.active) await shared.setActive(key.domain, key.selector, false);
    }
  } finally {
    shared.close();
  }
  logger.info({ event: 'dkim.imported', keys: files.length }, 'DKIM keys copied from data_dir/dkim into the shared store');
}
