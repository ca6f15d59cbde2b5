/**
 * Domains and who administers them: a server admin adds and removes domains and names domain admins; a
 * domain admin sees their own domains and their fellow admins.
 */
import { errorMessage } from '../core/errors.ts';
import type { DomainRecord } from '../store/types.ts';
import type { Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';
import { parseDomain, requireAccount, requireLocalDomain } from './validate.ts';

export interface DomainAdminEntry {
  address: string;
  serverAdmin: boolean;
  domains: string[];
}

export function domainService(ctx: AdminContext) {
  const { store, gate } = ctx;
  return {
    async add(principal: Principal, name: string): Promise<DomainRecord> {
      const domain = parseDomain(name);
      const actor = await gate.actor(principal);
      gate.requireServerAdmin(actor, `add domain ${domain}`);
      if (await store.hasDomain(domain)) throw new AdminError('conflict', `domain ${domain} already exists`);
      const record = await store.addDomain(domain);
      gate.done(actor, `add domain ${domain}`);
      return record;
    },

    /** Every domain for a server admin; a domain admin's own domains. */
    async list(principal: Principal): Promise<DomainRecord[]> {
      const actor = await gate.actor(principal);
      gate.requireAdmin(actor, 'list domains');
      return (await store.listDomains()).filter((d) => gate.mayManageDomain(actor, d.name));
    },

    /** Removes a domain with its aliases and admin grants; refused while it has users. */
    async remove(principal: Principal, name: string): Promise<string> {
      const domain = parseDomain(name);
      const actor = await gate.actor(principal);
      gate.requireServerAdmin(actor, `remove domain ${domain}`);
      if (!(await store.hasDomain(domain))) throw new AdminError('not-found', `no such domain: ${domain}`);
      const users = await store.listAccounts(domain);
      if (users.length > 0) throw new AdminError('conflict', `domain ${domain} still has ${users.length} user(s); remove them first (postamt user list ${domain})`);
      try {
        await store.removeDomain(domain);
      } catch (err) {
        throw new AdminError('conflict', `cannot remove domain ${domain}: ${errorMessage(err)}`);
      }
      gate.done(actor, `remove domain ${domain}`);
      return domain;
    },

    /** Makes an account (of any local domain) an admin of a domain. */
    async addAdmin(principal: Principal, name: string, email: string): Promise<{ address: string; domain: string }> {
      const domain = parseDomain(name);
      const actor = await gate.actor(principal);
      gate.requireServerAdmin(actor, `name admins of ${domain}`);
      await requireLocalDomain(store, domain);
      const account = await requireAccount(store, email);
      if (!(await store.addDomainAdmin(account.id, domain))) throw new AdminError('conflict', `${account.address} is already an admin of ${domain}`);
      gate.done(actor, `make ${account.address} an admin of ${domain}`);
      return { address: account.address, domain };
    },

    async removeAdmin(principal: Principal, name: string, email: string): Promise<{ address: string; domain: string }> {
      const domain = parseDomain(name);
      const actor = await gate.actor(principal);
      gate.requireServerAdmin(actor, `remove admins of ${domain}`);
      const account = await requireAccount(store, email);
      if (!(await store.removeDomainAdmin(account.id, domain))) throw new AdminError('not-found', `${account.address} is not an admin of ${domain}`);
      gate.done(actor, `take ${domain} from the admin rights of ${account.address}`);
      return { address: account.address, domain };
    },

    /**
     * Server admins and domain admins; with `domain`, those who administer it. A domain admin sees the admins
     * of their own domains (and of those only the domains they share).
     */
    async listAdmins(principal: Principal, name?: string): Promise<DomainAdminEntry[]> {
      const domain = name === undefined ? undefined : parseDomain(name);
      const actor = await gate.actor(principal);
      if (domain !== undefined) gate.requireDomain(actor, domain, `list the admins of ${domain}`);
      else gate.requireAdmin(actor, 'list admins');
      const entries: DomainAdminEntry[] = [];
      for (const a of await store.listAdmins()) {
        const domains = a.domains.filter((d) => gate.mayManageDomain(actor, d) && (domain === undefined || d === domain));
        const shown = actor.serverAdmin ? a.serverAdmin || domains.length > 0 : domains.length > 0;
        if (shown) entries.push({ address: a.address, serverAdmin: a.serverAdmin, domains });
      }
      return entries;
    },
  };
}

export type DomainService = ReturnType<typeof domainService>;
