/**
 * `postamt alias add|list|remove`: addresses that forward to one or more targets (local or remote);
 * `@domain` is the catch-all of a domain.
 */
import type { Command } from 'commander';
import { parseDomain } from '../admin/validate.ts';
import { println, withAdmin, type CliDeps } from './context.ts';

export function registerAlias(program: Command, deps: CliDeps): void {
  const group = program.command('alias').description('manage aliases (address → targets; @domain is a catch-all)');

  group.command('add').argument('<address>', 'local@domain, or @domain for a catch-all').argument('<target...>', 'addresses to deliver to')
    .description('add an alias or replace its targets')
    .action(async (addressText: string, targetTexts: string[], _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const { alias, deadTargets } = await admin.aliases.add(as, { address: addressText, targets: targetTexts });
        println(deps.io.stdout, `${alias.address} -> ${alias.targets.join(', ')}`);
        for (const dead of deadTargets) println(deps.io.stderr, `postamt: warning: ${dead} is not a user or an alias; its copy goes nowhere until it exists`);
      });
    });

  group.command('list').argument('[domain]').description('list aliases, of one domain or all').option('--json', 'print JSON')
    .action(async (domainText: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const aliases = await admin.aliases.list(as, domainText);
        if (opts.json) return println(deps.io.stdout, JSON.stringify(aliases.map((a) => ({ address: a.address, targets: a.targets })), null, 2));
        if (aliases.length === 0) return println(deps.io.stdout, domainText === undefined ? 'no aliases' : `no aliases in ${parseDomain(domainText)}`);
        for (const alias of aliases) println(deps.io.stdout, `${alias.address} -> ${alias.targets.join(', ')}`);
      });
    });

  group.command('remove').argument('<address>').description('remove an alias')
    .action(async (addressText: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        println(deps.io.stdout, `removed alias ${await admin.aliases.remove(as, addressText)}`);
      });
    });
}
