/**
 * `postamt domain add|list|remove` and `postamt domain admin add|remove|list`: the domains this server
 * receives mail for, and the accounts that administer them (domain admins).
 */
import type { Command } from 'commander';
import { formatTable, println, withAdmin, type CliDeps } from './context.ts';

export function registerDomain(program: Command, deps: CliDeps): void {
  const group = program.command('domain').description('manage local domains (mail for them is delivered here)');

  group.command('add').argument('<domain>').description('add a local domain')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const domain = await admin.domains.add(as, name);
        println(deps.io.stdout, `added domain ${domain.name}`);
      }, { create: true });
    });

  group.command('list').description('list local domains').option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const domains = await admin.domains.list(as);
        if (opts.json) return println(deps.io.stdout, JSON.stringify(domains.map((d) => ({ name: d.name, createdAt: d.createdAt.toISOString() })), null, 2));
        if (domains.length === 0) return println(deps.io.stdout, 'no domains yet; add one with: postamt domain add DOMAIN');
        for (const d of domains) println(deps.io.stdout, d.name);
      });
    });

  group.command('remove').argument('<domain>').description('remove a local domain and its aliases (it must have no users)')
    .action(async (name: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        println(deps.io.stdout, `removed domain ${await admin.domains.remove(as, name)}`);
      });
    });

  const admins = group.command('admin').description('domain admins: accounts that manage the users, aliases, DKIM keys and queued mail of a domain');

  admins.command('add').argument('<domain>').argument('<email>', 'an account of any local domain').description('make an account an admin of a domain')
    .action(async (name: string, email: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const { address, domain } = await admin.domains.addAdmin(as, name, email);
        println(deps.io.stdout, `${address} is now an admin of ${domain}`);
      });
    });

  admins.command('remove').argument('<domain>').argument('<email>').description('take a domain admin\'s rights for a domain back')
    .action(async (name: string, email: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const { address, domain } = await admin.domains.removeAdmin(as, name, email);
        println(deps.io.stdout, `${address} is no longer an admin of ${domain}`);
      });
    });

  admins.command('list').argument('[domain]').description('list server admins and domain admins (of one domain, or all)').option('--json', 'print JSON')
    .action(async (name: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const entries = await admin.domains.listAdmins(as, name);
        if (opts.json) return println(deps.io.stdout, JSON.stringify(entries, null, 2));
        if (entries.length === 0) return println(deps.io.stdout, 'no admins; make one with: postamt user admin grant EMAIL, or postamt domain admin add DOMAIN EMAIL');
        for (const line of formatTable(entries.map((e) => [e.address, rolesText(e)]))) println(deps.io.stdout, line);
      });
    });
}

/** `server admin`, `admin of a.org,b.org`, or both. */
export function rolesText(roles: { serverAdmin: boolean; domains: string[] }): string {
  return [roles.serverAdmin ? 'server admin' : '', roles.domains.length ? `admin of ${roles.domains.join(',')}` : ''].filter(Boolean).join(', ');
}
