/**
 * `postamt alias add|list|remove`: addresses that forward to one or more targets (local or remote);
 * `@domain` is the catch-all of a domain.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { addAlias } from '../accounts/aliases.ts';
import { println, withStore, type CliDeps } from './context.ts';
import { parseAddress, parseDomain, requireLocalDomain } from './validate.ts';

export function registerAlias(program: Command, deps: CliDeps): void {
  const group = program.command('alias').description('manage aliases (address → targets; @domain is a catch-all)');

  group.command('add').argument('<address>', 'local@domain, or @domain for a catch-all').argument('<target...>', 'addresses to deliver to')
    .description('add an alias or replace its targets')
    .action(async (addressText: string, targetTexts: string[], _opts: unknown, cmd: Command) => {
      const { address, domain } = parseAddress(addressText, { allowCatchAll: true });
      const targets = [...new Set(targetTexts.map((t) => parseAddress(t).address))];
      await withStore(cmd, deps, async (store, config) => {
        await requireLocalDomain(store, domain);
        // The rules (no self-target, no user of that name, no loop) live in the alias service.
        const { deadTargets } = await addAlias(store, { address, targets, postmaster: config.postmaster || null, hostname: config.hostname });
        println(deps.io.stdout, `${address} -> ${targets.join(', ')}`);
        for (const dead of deadTargets) println(deps.io.stderr, `postamt: warning: ${dead} is not a user or an alias; its copy goes nowhere until it exists`);
      });
    });

  group.command('list').argument('[domain]').description('list aliases, of one domain or all').option('--json', 'print JSON')
    .action(async (domainText: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const domain = domainText === undefined ? undefined : parseDomain(domainText);
      await withStore(cmd, deps, async (store) => {
        const aliases = await store.listAliases(domain);
        if (opts.json) return println(deps.io.stdout, JSON.stringify(aliases.map((a) => ({ address: a.address, targets: a.targets })), null, 2));
        if (aliases.length === 0) return println(deps.io.stdout, domain === undefined ? 'no aliases' : `no aliases in ${domain}`);
        for (const alias of aliases) println(deps.io.stdout, `${alias.address} -> ${alias.targets.join(', ')}`);
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
