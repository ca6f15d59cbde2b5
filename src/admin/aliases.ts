/**
 * Aliases, catch-alls (`@domain`) and forwarding (an alias with remote targets), managed by the admins of
 * the alias's domain. The rules an alias must meet live in accounts/aliases.ts.
 */
import { addAlias, type AddAliasResult } from '../accounts/aliases.ts';
import type { AliasRecord } from '../store/types.ts';
import { domainOf, type Principal } from './access.ts';
import type { AdminContext } from './context.ts';
import { AdminError } from './errors.ts';
import { parseAddress, parseDomain, requireLocalDomain } from './validate.ts';

export function aliasService(ctx: AdminContext) {
  const { store, gate, settings } = ctx;
  return {
    /** Adds an alias or replaces its targets. */
    async add(principal: Principal, input: { address: string; targets: string[] }): Promise<AddAliasResult> {
      const { address, domain } = parseAddress(input.address, { allowCatchAll: true });
      const targets = [...new Set(input.targets.map((t) => parseAddress(t).address))];
      const actor = await gate.actor(principal);
      gate.requireDomain(actor, domain, `add alias ${address}`);
      await requireLocalDomain(store, domain);
      const result = await addAlias(store, { address, targets, postmaster: settings.postmaster || null, hostname: settings.hostname });
      gate.done(actor, `set alias ${address} -> ${targets.join(', ')}`);
      return result;
    },

    /** Aliases of one domain, or of every domain the actor administers. */
    async list(principal: Principal, domainText?: string): Promise<AliasRecord[]> {
      const domain = domainText === undefined ? undefined : parseDomain(domainText);
      const actor = await gate.actor(principal);
      if (domain !== undefined) gate.requireDomain(actor, domain, `list the aliases of ${domain}`);
      else gate.requireAdmin(actor, 'list aliases');
      return (await store.listAliases(domain)).filter((a) => gate.mayManageDomain(actor, domainOf(a.address)));
    },

    async remove(principal: Principal, addressText: string): Promise<string> {
      const { address, domain } = parseAddress(addressText, { allowCatchAll: true });
      const actor = await gate.actor(principal);
      gate.requireDomain(actor, domain, `remove alias ${address}`);
      if (!(await store.removeAlias(address))) throw new AdminError('not-found', `no such alias: ${address}`);
      gate.done(actor, `remove alias ${address}`);
      return address;
    },
  };
}

export type AliasService = ReturnType<typeof aliasService>;
