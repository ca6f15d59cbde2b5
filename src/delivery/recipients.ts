/**
 * Resolves an envelope recipient to where its mail goes: local mailboxes (accounts, `user+tag@`,
 * aliases, per-domain catch-all, the postmaster and abuse role addresses) or remote addresses (aliases
 * that forward). Expansion is bounded; a loop or a cut-off expansion is reported, never silently dropped.
 */
import type { AccountStore } from '../store/types.ts';

export type ResolvedTarget =
  | { kind: 'mailbox'; accountId: number; address: string }
  | { kind: 'remote'; address: string };

/** Why a local address cannot take mail although its name exists (an alias, a catch-all, postmaster). */
export type ExpansionProblem = 'loop' | 'too-deep' | 'too-many-targets' | 'no-target';

export type Resolution =
  /** `deadTargets` (only when there are some): alias targets in our domains that name nobody; they get no copy. */
  | { kind: 'local'; targets: ResolvedTarget[]; deadTargets?: string[] }
  | { kind: 'undeliverable'; problem: ExpansionProblem } // local name, but its expansion reaches no mailbox
  | { kind: 'unknown-user' } // local domain, nobody there: 550 5.1.1
  | { kind: 'not-local' }; // another domain: relay rules apply

export const MAX_ALIAS_DEPTH = 8;
export const MAX_TARGETS = 1000;

/** RFC 5321 §4.5.1 (postmaster) and RFC 2142 §2 (abuse): role addresses every domain of ours must accept. */
const ROLE_LOCAL_PARTS = new Set(['postmaster', 'abuse']);

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

export function isRoleAddress(address: string): boolean {
  return ROLE_LOCAL_PARTS.has(stripTag(splitAddress(address).local.toLowerCase()));
}

/** What resolving needs from the account store. */
export type RecipientDirectory = Pick<AccountStore, 'hasDomain' | 'getAccount' | 'getAlias' | 'listAccounts'>;

export interface RecipientResolverOptions {
  accounts: RecipientDirectory;
  domainCacheMs?: number;
  /** Our host name: `postmaster@<hostname>` (and `<postmaster>`) is accepted even when it is no mail domain. */
  hostname?: string;
  /**
   * Where postmaster@ and abuse@ of every local domain go when no account or alias of that name exists:
   * an address (local or remote); null: the oldest account on the server.
   */
  postmaster?: string | null;
}

/** What one expansion found, including what went wrong on the way. */
interface Expansion {
  targets: ResolvedTarget[];
  loop: boolean;
  truncated: 'too-deep' | 'too-many-targets' | null;
  /** Local targets that name nobody (no user, alias or catch-all): their copies go nowhere. */
  dead: string[];
  /** Addresses on the current path (a repeat is a loop). */
  path: Set<string>;
  /** Addresses already expanded (a repeat off the path is a diamond, not a loop). */
  done: Set<string>;
}

export class RecipientResolver {
  private readonly accounts: RecipientDirectory;
  /** Local-domain answers are cached briefly: every RCPT asks, and domains change rarely. */
  private readonly domainCache = new Map<string, { local: boolean; at: number }>();
  private readonly domainCacheMs: number;
  private readonly resolutionCache = new Map<string, { resolution: Resolution; at: number }>();
  private readonly hostname: string;
  private readonly postmaster: string | null;

  constructor(options: RecipientResolverOptions) {
    this.accounts = options.accounts;
    this.domainCacheMs = options.domainCacheMs ?? 2000;
    this.hostname = (options.hostname ?? '').toLowerCase().replace(/\.$/, '');
    this.postmaster = options.postmaster ? options.postmaster.toLowerCase() : null;
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

  /** Drops every cached answer (after accounts, aliases or domains changed). */
  forget(): void {
    this.domainCache.clear();
    this.resolutionCache.clear();
  }

  /**
   * What would go wrong if `address` → `targets` (an alias or, for `@domain`, a catch-all, replacing any of
   * that name) were stored: walks the targets as delivery would, with `address` on the path. `problem` null:
   * mail to it can be delivered; `deadTargets`: local targets that name nobody (their copies would go nowhere).
   */
  async checkAlias(address: string, targets: string[]): Promise<{ problem: 'loop' | 'too-deep' | 'too-many-targets' | null; deadTargets: string[] }> {
    const overlay = overlayAlias(this.accounts, address.toLowerCase(), targets);
    const probe = new RecipientResolver({ accounts: overlay, domainCacheMs: 0, hostname: this.hostname, postmaster: this.postmaster });
    const x = newExpansion();
    x.path.add(address.toLowerCase());
    await probe.expandTargets(targets, 0, x);
    return { problem: x.loop ? 'loop' : x.truncated, deadTargets: [...new Set(x.dead)] };
  }

  private async resolveUncached(address: string): Promise<Resolution> {
    const { domain } = splitAddress(address);
    if (!domain) return { kind: 'not-local' };
    // RFC 5321 §4.5.1: postmaster@ our own host name is accepted even when the host name is no mail domain.
    const isLocal = (await this.isLocalDomain(domain)) || (domain === this.hostname && isRoleAddress(address));
    if (!isLocal) return { kind: 'not-local' };
    const x = newExpansion();
    if (!(await this.expand(address, 0, x))) return { kind: 'unknown-user' };
    // A cut-off expansion would lose some targets unseen: refuse the recipient instead.
    if (x.truncated) return { kind: 'undeliverable', problem: x.truncated };
    if (x.targets.length === 0) return { kind: 'undeliverable', problem: x.loop ? 'loop' : 'no-target' };
    return x.dead.length > 0 ? { kind: 'local', targets: dedupe(x.targets), deadTargets: [...new Set(x.dead)] } : { kind: 'local', targets: dedupe(x.targets) };
  }

  /** Adds the targets of one local address; false when nothing by that name exists. */
  private async expand(address: string, depth: number, x: Expansion): Promise<boolean> {
    const { local, domain } = splitAddress(address);
    const lowerLocal = local.toLowerCase();
    const key = `${lowerLocal}@${domain}`;
    if (x.path.has(key)) {
      x.loop = true;
      return true;
    }
    if (x.done.has(key)) return true;
    if (depth > MAX_ALIAS_DEPTH) {
      x.truncated ??= 'too-deep';
      return true;
    }
    x.path.add(key);
    try {
      const baseKey = `${stripTag(lowerLocal)}@${domain}`;
      for (const candidate of key === baseKey ? [key] : [key, baseKey]) {
        // A disabled account still receives: disabling stops logins and sending, not mail (docs/cli.md).
        const account = await this.accounts.getAccount(candidate);
        if (account) {
          this.push(x, { kind: 'mailbox', accountId: account.id, address: account.address });
          return true;
        }
        const alias = await this.accounts.getAlias(candidate);
        if (alias) {
          await this.expandTargets(alias.targets, depth, x);
          return true;
        }
      }
      // RFC 5321 §4.5.1, RFC 2142 §2: postmaster@ and abuse@ exist in every domain of ours; an account or
      // alias of that name (above) takes precedence, the catch-all does not.
      if (ROLE_LOCAL_PARTS.has(stripTag(lowerLocal))) {
        await this.expandPostmaster(depth, x);
        return true;
      }
      const catchAll = await this.accounts.getAlias(`@${domain}`);
      if (catchAll) {
        await this.expandTargets(catchAll.targets, depth, x);
        return true;
      }
      return false;
    } finally {
      x.path.delete(key);
      x.done.add(key);
    }
  }

  private async expandTargets(targets: string[], depth: number, x: Expansion): Promise<void> {
    for (const target of targets) {
      const { domain } = splitAddress(target);
      if (await this.isLocalDomain(domain)) {
        if (!(await this.expand(target, depth + 1, x))) x.dead.push(target);
      } else this.push(x, { kind: 'remote', address: target });
    }
  }

  /** The configured postmaster address, or else the oldest account (the one made when the server was set up). */
  private async expandPostmaster(depth: number, x: Expansion): Promise<void> {
    if (this.postmaster) {
      await this.expandTargets([this.postmaster], depth, x);
      return;
    }
    const accounts = await this.accounts.listAccounts();
    let first = accounts[0];
    for (const a of accounts) if (a.createdAt.getTime() < first!.createdAt.getTime() || (a.createdAt.getTime() === first!.createdAt.getTime() && a.id < first!.id)) first = a;
    if (first) this.push(x, { kind: 'mailbox', accountId: first.id, address: first.address });
  }

  private push(x: Expansion, target: ResolvedTarget): void {
    if (x.targets.length >= MAX_TARGETS) {
      x.truncated ??= 'too-many-targets';
      return;
    }
    x.targets.push(target);
  }
}

function newExpansion(): Expansion {
  return { targets: [], loop: false, truncated: null, dead: [], path: new Set(), done: new Set() };
}

/** The account store as it would be with `address` → `targets` added (for checking before the write). */
function overlayAlias(accounts: RecipientDirectory, address: string, targets: string[]): RecipientDirectory {
  return {
    hasDomain: (name) => accounts.hasDomain(name),
    getAccount: (name) => accounts.getAccount(name),
    listAccounts: (domain) => accounts.listAccounts(domain),
    getAlias: async (name) => (name.toLowerCase() === address ? { address, targets, createdAt: new Date() } : accounts.getAlias(name)),
  };
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
