/**
 * `postamt domain add|list|remove`: the domains this server receives mail for.
 */
import type { Command } from 'commander';
import { UsageError, errorMessage } from '../core/errors.ts';
import { println, withStore, type CliDeps } from './context.ts';
import { parseDomain } from './validate.ts';

export function registerDomain(program: Command, deps: CliDeps): void {
  const group = program.command('domain').description('manage local domains (mail for them is delivered here)');

  group.command('add').argument('<domain>').description('add a local domain')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const domain = parseDomain(name);
      await withStore(cmd, deps, async (store) => {
        if (await store.hasDomain(domain)) throw new UsageError(`domain ${domain} already exists`);
        await store.addDomain(domain);
        println(deps.io.stdout, `added domain ${domain}`);
      }, { create: true });
    });

  group.command('list').description('list local domains').option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withStore(cmd, deps, async (store) => {
        const domains = await store.listDomains();
        if (opts.json) return println(deps.io.stdout, JSON.stringify(domains.map((d) => ({ name: d.name, createdAt: d.createdAt.toISOString() })), null, 2));
        if (domains.length === 0) return println(deps.io.stdout, 'no domains yet; add one with: postamt domain add DOMAIN');
        for (const d of domains) println(deps.io.stdout, d.name);
      });
    });

  group.command('remove').argument('<domain>').description('remove a local domain and its aliases (it must have no users)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      const domain = parseDomain(name);
      await withStore(cmd, deps, async (store) => {
        if (!(await store.hasDomain(domain))) throw new UsageError(`no such domain: ${domain}`);
        const users = await store.listAccounts(domain);
        if (users.length > 0) {
          throw new UsageError(`domain ${domain} still has ${users.length} user(s); remove them first (postamt user list ${domain})`);
        }
        try {
          await store.removeDomain(domain);
        } catch (err) {
          throw new UsageError(`cannot remove domain ${domain}: ${errorMessage(err)}`);
        }
        println(deps.io.stdout, `removed domain ${domain}`);
      });
    });
}
