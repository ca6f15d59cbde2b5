/**
 * Resolves an envelope recipient to where its mail goes: local mailboxes (accounts, `user+tag@`,
 * aliases, per-domain catch-all) or remote addresses (aliases that forward). Recursion is bounded.
 */
import type { AccountStore } from '../store/types.ts';

export type ResolvedTarget =
  | { kind: 'mailbox'; accountId: number; address: string }
  | { kind: 'remote'; address: string };

export type Resolution =
  | { kind: 'local'; targets: ResolvedTarget[] }
  | { kind: 'unknown-user' } // local domain, nobody there: 550 5.1.1
  | { kind: 'not-local' }; // another domain: relay rules apply

const MAX_ALIAS_DEPTH = 8;
const MAX_TARGETS = 1000;

export function splitAddress(address: string): { local: string; domain: string } {
  const at = address.lastIndexOf('@');
  if (at < 0) return { local: address, domain: '' };
  return { local: address.slice(0, at), domain: address.slice(at + 1).toLowerCase().replace(/\.$/, '') };
}

/** `user+tag` → `user` (plus-addressing); a local part that starts with '+' keeps it. */
export function stripTag(local: string): string {
  const plus = local.indexOf('+');
  return plus > 0 ? local.slice(0, plus) : local;
}

export class RecipientResolver {
  private readonly accounts: AccountStore;
  /** Local-domain answers are cached briefly: every RCPT asks, and domains change rarely. */
  private readonly domainCache = new Map<string, { local: boolean; at: number }>();
  private readonly domainCacheMs: number;
  private readonly resolutionCache = new Map<string, { resolution: Resolution; at: number }>();

  constructor(options: { accounts: AccountStore; domainCacheMs?: number }) {
    this.accounts = options.accounts;
    this.domainCacheMs = options.domainCacheMs ?? 2000;
  }

  async isLocalDomain(domain: string): Promise<boolean> {
    const name = domain.toLowerCase().replace(/\.$/, '');
    const hit = this.domainCache.get(name);
    const now = Date.now();
    if (hit && now - hit.at < this.domainCacheMs) return hit.local;
    const local = await this.accounts.hasDomain(name);
    if (this.domainCache.size > 10_000) this.domainCache.clear();
    this.domainCache.set(name, { local, at: now });
    return local;
  }

  /**
   * Resolutions are cached as briefly as domains: RCPT and the commit after it ask for the same address,
   * and a busy mailbox is asked for constantly. A new or removed account is seen within that time.
   */
  async resolve(address: string): Promise<Resolution> {
    const key = address.toLowerCase();
    const now = Date.now();
    const hit = this.resolutionCache.get(key);
    if (hit && now - hit.at < this.domainCacheMs) return hit.resolution;
    const resolution = await this.resolveUncached(address);
    if (this.resolutionCache.size > 10_000) this.resolutionCache.clear();
    this.resolutionCache.set(key, { resolution, at: now });
    return resolution;
  }

  private async resolveUncached(address: string): Promise<Resolution> {
    const { domain } = splitAddress(address);
    if (!domain || !(await this.isLocalDomain(domain))) return { kind: 'not-local' };
    const targets: ResolvedTarget[] = [];
    const seen = new Set<string>();
    const found = await this.expand(address, 0, targets, seen);
    if (!found) return { kind: 'unknown-user' };
    return { kind: 'local', targets: dedupe(targets) };
  }

  /** Adds the targets of one local address; false when nothing by that name exists. */
  private async expand(address: string, depth: number, out: ResolvedTarget[], seen: Set<string>): Promise<boolean> {
    const { local, domain } = splitAddress(address);
    const lowerLocal = local.toLowerCase();
    const key = `${lowerLocal}@${domain}`;
    if (seen.has(key)) return true; // alias loop: already expanded
    seen.add(key);
    if (depth > MAX_ALIAS_DEPTH || out.length >= MAX_TARGETS) return true;

    const baseKey = `${stripTag(lowerLocal)}@${domain}`;
    for (const candidate of key === baseKey ? [key] : [key, baseKey]) {
      const account = await this.accounts.getAccount(candidate);
      if (account) {
        if (!account.disabled) out.push({ kind: 'mailbox', accountId: account.id, address: account.address });
        return !account.disabled;
      }
      const alias = await this.accounts.getAlias(candidate);
      if (alias) {
        await this.expandTargets(alias.targets, depth, out, seen);
        return true;
      }
    }
    const catchAll = await this.accounts.getAlias(`@${domain}`);
    if (catchAll) {
      await this.expandTargets(catchAll.targets, depth, out, seen);
      return true;
    }
    return false;
  }

  private async expandTargets(targets: string[], depth: number, out: ResolvedTarget[], seen: Set<string>): Promise<void> {
    for (const target of targets) {
      const { domain } = splitAddress(target);
      if (await this.isLocalDomain(domain)) await this.expand(target, depth + 1, out, seen);
      else out.push({ kind: 'remote', address: target });
    }
  }
}

function dedupe(targets: ResolvedTarget[]): ResolvedTarget[] {
  const seen = new Set<string>();
  return targets.filter((t) => {
    const key = t.kind === 'mailbox' ? `m:${t.accountId}` : `r:${t.address.toLowerCase()}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}
