/**
 * `postamt user add|list|show|remove|passwd|disable|enable|quota|grant-domain|revoke-domain|admin`: accounts
 * (mailboxes plus login), with passwords hashed (scrypt) and SCRAM-SHA-256 credentials derived at once.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { formatSize, parseSize } from '../config/values.ts';
import { formatTable, println, withAdmin, type CliDeps } from './context.ts';
import { rolesText } from './domain.ts';
import { readNewPassword } from './password-input.ts';
import { parseDomain } from '../admin/validate.ts';

function parseQuota(text: string): number {
  try {
    return parseSize(/^\d+$/.test(text) ? Number(text) : text);
  } catch {
    throw new UsageError(`--quota ${JSON.stringify(text)}: expected a size such as 2GB, 500MB or integer bytes (0 = unlimited)`, 2);
  }
}

const quotaText = (quota: number): string => (quota === 0 ? 'unlimited' : formatSize(quota));

export function registerUser(program: Command, deps: CliDeps): void {
  const group = program.command('user').description('manage users (accounts with a mailbox and a login)');
  const out = deps.io.stdout;

  group.command('add').argument('<email>').description('add a user; the password is asked for, or read from stdin')
    .option('--password-stdin', 'read the password from stdin')
    .option('--quota <size>', 'mailbox quota (e.g. 2GB; 0 = unlimited; default: storage.quota_default)')
    .option('--admin', 'make the user a server admin (may administer everything, e.g. in the admin web UI)')
    .action(async (email: string, opts: { passwordStdin?: boolean; quota?: string; admin?: boolean }, cmd: Command) => {
      const quotaBytes = opts.quota === undefined ? null : parseQuota(opts.quota);
      await withAdmin(cmd, deps, async ({ admin, as, config }) => {
        // The password is asked for only once the address was accepted.
        const password = () => readNewPassword(deps.io, { fromStdin: opts.passwordStdin === true, minLength: config.auth.minPasswordLength });
        const user = await admin.users.add(as, { address: email, password, quotaBytes, serverAdmin: opts.admin === true });
        println(out, `added user ${user.address}${opts.admin ? ' (server admin)' : ''}`);
      });
    });

  group.command('list').argument('[domain]').description('list users, of one domain or all')
    .option('--json', 'print JSON')
    .action(async (domainText: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const users = await admin.users.list(as, domainText);
        if (opts.json) {
          const rows = users.map((u) => ({ address: u.address, disabled: u.disabled, quotaBytes: u.effectiveQuotaBytes, sendAsDomains: u.sendAsDomains, serverAdmin: u.roles.serverAdmin, adminDomains: u.roles.domains, createdAt: u.createdAt.toISOString() }));
          return println(out, JSON.stringify(rows, null, 2));
        }
        if (users.length === 0) return println(out, domainText === undefined ? 'no users yet; add one with: postamt user add EMAIL' : `no users in ${parseDomain(domainText)}`);
        const rows = users.map((u) => [u.address, u.disabled ? 'disabled' : 'enabled', `quota ${quotaText(u.effectiveQuotaBytes)}${u.quotaBytes === null ? ' (default)' : ''}`,
          u.sendAsDomains.length ? `send-as ${u.sendAsDomains.join(',')}` : '', rolesText(u.roles)]);
        for (const line of formatTable(rows)) println(out, line);
      });
    });

  group.command('show').argument('<email>').description('show a user: state, quota and usage, grants and roles').option('--json', 'print JSON')
    .action(async (email: string, opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const u = await admin.users.show(as, email);
        if (opts.json) return println(out, JSON.stringify(u, null, 2));
        println(out, `${u.address}  ${u.disabled ? 'disabled' : 'enabled'}  created ${u.createdAt.toISOString()}`);
        println(out, `quota ${quotaText(u.effectiveQuotaBytes)}${u.quotaBytes === null ? ' (default)' : ''}, used ${u.usage.bytes} bytes in ${u.usage.messages} message(s)`);
        if (u.sendAsDomains.length) println(out, `send-as ${u.sendAsDomains.join(',')}`);
        const roles = rolesText(u.roles);
        if (roles) println(out, roles);
      });
    });

  group.command('remove').argument('<email>').description('remove a user with all their mail')
    .action(async (email: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        println(out, `removed user ${await admin.users.remove(as, email)}`);
      });
    });

  group.command('passwd').argument('<email>').description('set a new password')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (email: string, opts: { passwordStdin?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as, config }) => {
        const password = () => readNewPassword(deps.io, { fromStdin: opts.passwordStdin === true, minLength: config.auth.minPasswordLength });
        println(out, `password changed for ${await admin.users.setPassword(as, email, password)}`);
      });
    });

  for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
    group.command(name).argument('<email>').description(disabled ? 'refuse logins (mail is still received)' : 'allow logins again')
      .action(async (email: string, _opts: unknown, cmd: Command) => {
        await withAdmin(cmd, deps, async ({ admin, as }) => {
          println(out, `${disabled ? 'disabled' : 'enabled'} user ${await admin.users.setDisabled(as, email, disabled)}`);
        });
      });
  }

  group.command('quota').argument('<email>').argument('<size>', 'e.g. 2GB, 500MB, integer bytes; 0 = unlimited; "default" = storage.quota_default')
    .description('set a user\'s mailbox quota')
    .action(async (email: string, size: string, _opts: unknown, cmd: Command) => {
      const quotaBytes = size === 'default' ? null : parseQuota(size);
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const u = await admin.users.setQuota(as, email, quotaBytes);
        println(out, `quota of ${u.address}: ${quotaText(u.effectiveQuotaBytes)}${u.quotaBytes === null ? ' (default)' : ''}`);
      });
    });

  group.command('grant-domain').argument('<email>').argument('<domain>').description('allow the user to send as any address of a domain')
    .action(async (email: string, domainText: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const { address, domain } = await admin.users.grantSendAs(as, email, domainText);
        println(out, `${address} may send as any address @${domain}`);
      });
    });

  group.command('revoke-domain').argument('<email>').argument('<domain>').description('take back a grant-domain')
    .action(async (email: string, domainText: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const { address, domain } = await admin.users.revokeSendAs(as, email, domainText);
        println(out, `${address} may no longer send as @${domain}`);
      });
    });

  const roles = group.command('admin').description('the server admin role (may administer everything; domain admins: postamt domain admin)');
  for (const [name, serverAdmin] of [['grant', true], ['revoke', false]] as const) {
    roles.command(name).argument('<email>').description(serverAdmin ? 'make a user a server admin' : 'take the server admin role back')
      .action(async (email: string, _opts: unknown, cmd: Command) => {
        await withAdmin(cmd, deps, async ({ admin, as }) => {
          const address = await admin.users.setServerAdmin(as, email, serverAdmin);
          println(out, serverAdmin ? `${address} is now a server admin` : `${address} is no longer a server admin`);
        });
      });
  }
}
