/**
 * `postamt alias add|list|remove`: addresses that forward to one or more targets (local or remote);
 * `@domain` is the catch-all of a domain.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { println, withStore, type CliDeps } from './context.ts';
import { parseAddress, parseDomain, requireLocalDomain } from './validate.ts';

export function registerAlias(program: Command, deps: CliDeps): void {
  const group = program.command('alias').description('manage aliases (address → targets; @domain is a catch-all)');

  group.command('add').argument('<address>', 'local@domain, or @domain for a catch-all').argument('<target...>', 'addresses to deliver to')
    .description('add an alias or replace its targets')
    .action(async (addressText: string, targetTexts: string[], _opts: unknown, cmd: Command) => {
      const { address, domain } = parseAddress(addressText, { allowCatchAll: true });
      const targets = [...new Set(targetTexts.map((t) => parseAddress(t).address))];
      if (targets.includes(address)) throw new UsageError(`alias ${address} may not point to itself`);
      await withStore(cmd, deps, async (store) => {
        await requireLocalDomain(store, domain);
        if (await store.getAccount(address)) throw new UsageError(`${address} is a user; an alias cannot have the same address`);
        await store.addAlias(address, targets);
        println(deps.io.stdout, `${address} -> ${targets.join(', ')}`);
      });
    });

  group.command('list').argument('[domain]').description('list aliases, of one domain or all')
    .action(async (domainText: string | undefined, _opts: unknown, cmd: Command) => {
      const domain = domainText === undefined ? undefined : parseDomain(domainText);
      await withStore(cmd, deps, async (store) => {
        for (const alias of await store.listAliases(domain)) println(deps.io.stdout, `${alias.address} -> ${alias.targets.join(', ')}`);
      });
    });

  group.command('remove').argument('<address>').description('remove an alias')
    .action(async (addressText: string, _opts: unknown, cmd: Command) => {
      const { address } = parseAddress(addressText, { allowCatchAll: true });
      await withStore(cmd, deps, async (store) => {
        if (!(await store.removeAlias(address))) throw new UsageError(`no such alias: ${address}`);
        println(deps.io.stdout, `removed alias ${address}`);
      });
    });
}
