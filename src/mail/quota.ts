/**
 * The quota rule, the one place that says what an account may store: its own limit or the server's
 * default, where 0 means unlimited for both, and whether adding bytes would pass it.
 */

/** The account's limit in bytes, null when unlimited (`user add --quota 0`, or `storage.quota_default = 0`). */
export function quotaLimit(accountQuotaBytes: number | null, defaultQuotaBytes: number | null): number | null {
  const limit = accountQuotaBytes ?? defaultQuotaBytes ?? 0;
  return limit > 0 ? limit : null;
}

/**
 * Whether storing `addBytes` more would pass the limit (usage may reach the limit, not pass it). Where the
 * size is not known yet (SMTP RCPT), at least one byte is coming: an account at its limit refuses.
 */
export function exceedsQuota(usage: { usedBytes: number; limitBytes: number | null }, addBytes: number): boolean {
  return usage.limitBytes !== null && usage.usedBytes + addBytes > usage.limitBytes;
}
