/**
 * Finds the mailboxes mail is delivered into (INBOX, or the \Junk mailbox) without a query per
 * recipient: ids and names are cached per account; a miss (new account, Junk renamed) goes to the store.
 */
import type { MailStore } from '../store/types.ts';

export type DeliveryFolder = 'inbox' | 'junk';

export interface DeliveryMailbox {
  id: number;
  /** As the mailbox is named now (log lines say where mail went). */
  name: string;
}

/** The mailbox a delivery folder ('inbox' or 'junk') means for each account, by id and current name. */
export class FolderMailboxCache {
  private readonly store: MailStore;
  private readonly cache = new Map<string, DeliveryMailbox>();
  private readonly maxEntries: number;

  constructor(options: { store: MailStore; maxEntries?: number }) {
    this.store = options.store;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  async mailboxFor(accountId: number, folder: DeliveryFolder): Promise<DeliveryMailbox | null> {
    const key = `${accountId}:${folder}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let found: { id: number; name: string } | null;
    if (folder === 'inbox') {
      found = await this.store.getMailbox(accountId, 'INBOX');
    } else {
      const boxes = await this.store.listMailboxes(accountId);
      found = boxes.find((m) => m.specialUse === '\\Junk') ?? boxes.find((m) => m.name === 'INBOX') ?? null;
    }
    if (found === null) return null;
    const mailbox = { id: found.id, name: found.name };
    if (this.cache.size >= this.maxEntries) this.cache.clear();
    this.cache.set(key, mailbox);
    return mailbox;
  }

  /** Forget an account's ids: its mailboxes were created, deleted or renamed, or it was removed. */
  forget(accountId: number): void {
    this.cache.delete(`${accountId}:inbox`);
    this.cache.delete(`${accountId}:junk`);
  }

  clear(): void {
    this.cache.clear();
  }
}
