/**
 * Mailbox usage per account for quota checks at RCPT, cached for a short time so a busy MX does not
 * sum a large mailbox for every recipient; accepted messages are added to the cached figure at once.
 */
import type { AccountStore, MailStore } from '../store/types.ts';
import { quotaLimit } from '../mail/quota.ts';

export class UsageCache {
  private readonly store: MailStore & Pick<AccountStore, 'getAccountById'>;
  private readonly ttlMs: number;
  private readonly entries = new Map<number, { bytes: number; at: number }>();
  private readonly quotas = new Map<number, { quotaBytes: number | null; at: number }>();

  private readonly defaultQuotaBytes: number;

  constructor(options: { store: MailStore & Pick<AccountStore, 'getAccountById'>; defaultQuotaBytes: number; ttlMs?: number }) {
    this.store = options.store;
    this.defaultQuotaBytes = options.defaultQuotaBytes;
    this.ttlMs = options.ttlMs ?? 30_000;
  }

  /** The account's limit by the quota rule (mail/quota.ts) and, when it has one, its usage. */
  async quotaUsage(accountId: number): Promise<{ usedBytes: number; limitBytes: number | null }> {
    const limitBytes = quotaLimit(await this.quota(accountId), this.defaultQuotaBytes);
    return { usedBytes: limitBytes === null ? 0 : await this.bytes(accountId), limitBytes };
  }

  /** The account's own quota (null: the server default), cached like the usage. */
  async quota(accountId: number): Promise<number | null> {
    const hit = this.quotas.get(accountId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.quotaBytes;
    const account = await this.store.getAccountById(accountId);
    if (this.quotas.size > 100_000) this.quotas.clear();
    this.quotas.set(accountId, { quotaBytes: account?.quotaBytes ?? null, at: Date.now() });
    return account?.quotaBytes ?? null;
  }

  async bytes(accountId: number): Promise<number> {
    const hit = this.entries.get(accountId);
    if (hit && Date.now() - hit.at < this.ttlMs) return hit.bytes;
    const usage = await this.store.accountUsage(accountId);
    if (this.entries.size > 100_000) this.entries.clear();
    this.entries.set(accountId, { bytes: usage.bytes, at: Date.now() });
    return usage.bytes;
  }

  /** Forget an account's figures (its quota changed or it was removed); all of them when no id is given. */
  forget(accountId?: number): void {
    if (accountId === undefined) {
      this.entries.clear();
      this.quotas.clear();
      return;
    }
    this.entries.delete(accountId);
    this.quotas.delete(accountId);
  }

  add(accountId: number, bytes: number): void {
    const hit = this.entries.get(accountId);
    if (hit) hit.bytes += bytes;
  }
}
