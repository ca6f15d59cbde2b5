/**
 * Finds the mailbox ids mail is delivered into (INBOX, or the \Junk mailbox) without a query per
 * recipient: ids are cached per account; a miss (new account, Junk renamed) goes to the store.
 */
import type { MailStore } from '../store/types.ts';

export type DeliveryFolder = 'inbox' | 'junk';

export class DeliveryMailboxes {
  private readonly store: MailStore;
  private readonly cache = new Map<string, number>();
  private readonly maxEntries: number;

  constructor(options: { store: MailStore; maxEntries?: number }) {
    this.store = options.store;
    this.maxEntries = options.maxEntries ?? 100_000;
  }

  async mailboxFor(accountId: number, folder: DeliveryFolder): Promise<number | null> {
    const key = `${accountId}:${folder}`;
    const hit = this.cache.get(key);
    if (hit !== undefined) return hit;
    let id: number | null;
    if (folder === 'inbox') {
      id = (await this.store.getMailbox(accountId, 'INBOX'))?.id ?? null;
    } else {
      const boxes = await this.store.listMailboxes(accountId);
      id = (boxes.find((m) => m.specialUse === '\\Junk') ?? boxes.find((m) => m.name === 'INBOX'))?.id ?? null;
    }
    if (id !== null) {
      if (this.cache.size >= this.maxEntries) this.cache.clear();
      this.cache.set(key, id);
    }
    return id;
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
