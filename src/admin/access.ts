/**
 * Who acts and what they may administer. The local operator (`cli`: whoever can read data_dir) may do
 * everything; an account acts with the roles stored for it, read at every call so that a revoked role or a
 * disabled account stops at once. Every refusal is logged with who, what and why.
 */
import type { Logger } from '../core/log.ts';
import type { AccountStore, AdminRoles } from '../store/types.ts';
import { AdminError } from './errors.ts';

/** The caller of a service method, as the front end authenticated it. */
export type Principal = { kind: 'cli' } | { kind: 'account'; accountId: number };

export const CLI_PRINCIPAL: Principal = { kind: 'cli' };

/** A principal with its roles, resolved for one call. */
export interface Actor {
  /** For messages and logs: `the local operator` or the account's address. */
  name: string;
  /** The acting account's address; null for the local operator. */
  address: string | null;
  serverAdmin: boolean;
  /** Domains the actor administers (all of them for a server admin, whether listed or not). */
  domains: ReadonlySet<string>;
}

export function domainOf(address: string): string {
  return address.slice(address.lastIndexOf('@') + 1);
}

export class Gate {
  readonly #store: Pick<AccountStore, 'getAccountById' | 'getAdminRoles'>;
  readonly #logger: Logger;

  constructor(options: { store: Pick<AccountStore, 'getAccountById' | 'getAdminRoles'>; logger: Logger }) {
    this.#store = options.store;
    this.#logger = options.logger;
  }

  async actor(principal: Principal): Promise<Actor> {
    if (principal.kind === 'cli') return { name: 'the local operator', address: null, serverAdmin: true, domains: new Set() };
    const account = await this.#store.getAccountById(principal.accountId);
    const name = account?.address ?? `account ${principal.accountId}`;
    const none: Actor = { name, address: null, serverAdmin: false, domains: new Set() };
    if (!account) this.deny(none, 'administer anything', 'the account no longer exists');
    if (account.disabled) this.deny(none, 'administer anything', 'the account is disabled');
    const roles = await this.#store.getAdminRoles(account.id);
    return { name, address: account.address, serverAdmin: roles.serverAdmin, domains: new Set(roles.domains) };
  }

  deny(actor: Actor, action: string, reason: string): never {
    this.#logger.warn({ event: 'admin.denied', actor: actor.name, action, reason }, 'administration refused');
    throw new AdminError('forbidden', `${actor.name} may not ${action}: ${reason}`);
  }

  /** Records a change made (the audit trail of accounts acting through the web; the CLI passes a silent logger). */
  done(actor: Actor, action: string): void {
    this.#logger.info({ event: 'admin.action', actor: actor.name, action }, 'administration');
  }

  isAdmin(actor: Actor): boolean {
    return actor.serverAdmin || actor.domains.size > 0;
  }

  mayManageDomain(actor: Actor, domain: string): boolean {
    return actor.serverAdmin || actor.domains.has(domain);
  }

  requireServerAdmin(actor: Actor, action: string): void {
    if (!actor.serverAdmin) this.deny(actor, action, 'only a server admin may');
  }

  requireAdmin(actor: Actor, action: string): void {
    if (!this.isAdmin(actor)) this.deny(actor, action, 'not an admin');
  }

  requireDomain(actor: Actor, domain: string, action: string): void {
    if (!this.mayManageDomain(actor, domain)) this.deny(actor, action, this.isAdmin(actor) ? `not an admin of ${domain}` : 'not an admin');
  }

  /** For an account's own settings (password, app passwords): the account itself, or an admin of its domain. */
  requireSelfOrDomain(actor: Actor, address: string, action: string): void {
    if (actor.address !== address) this.requireDomain(actor, domainOf(address), action);
  }

  /**
   * A domain admin may not act on an account that holds more than they do (a server admin, or a domain admin
   * of a domain they do not hold): resetting its password would hand them its rights.
   */
  requireOutranks(actor: Actor, target: { address: string; roles: AdminRoles }, action: string): void {
    if (actor.serverAdmin || actor.address === target.address) return;
    if (target.roles.serverAdmin) this.deny(actor, action, `${target.address} is a server admin`);
    const beyond = target.roles.domains.filter((d) => !actor.domains.has(d));
    if (beyond.length > 0) this.deny(actor, action, `${target.address} is an admin of ${beyond.join(', ')}`);
  }
}
