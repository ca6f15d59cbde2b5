/**
 * `postamt user add|list|remove|passwd|disable|enable|grant-domain|revoke-domain`: accounts (mailboxes
 * plus login), with passwords hashed (scrypt) and SCRAM-SHA-256 credentials derived at once.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { formatSize, parseSize } from '../config/values.ts';
import { formatTable, println, withStore, type CliDeps } from './context.ts';
import { readNewPassword } from './password-input.ts';
import { parseAddress, parseDomain, requireAccount, requireLocalDomain } from './validate.ts';

function parseQuota(text: string): number {
  try {
    return parseSize(/^\d+$/.test(text) ? Number(text) : text);
  } catch {
    throw new UsageError(`--quota ${JSON.stringify(text)}: expected a size such as 2GB, 500MB or integer bytes (0 = unlimited)`, 2);
  }
}

export function registerUser(program: Command, deps: CliDeps): void {
  const group = program.command('user').description('manage users (accounts with a mailbox and a login)');

  group.command('add').argument('<email>').description('add a user; the password is asked for, or read from stdin')
    .option('--password-stdin', 'read the password from stdin')
    .option('--quota <size>', 'mailbox quota (e.g. 2GB; 0 = unlimited; default: storage.quota_default)')
    .action(async (email: string, opts: { passwordStdin?: boolean; quota?: string }, cmd: Command) => {
      const { address, domain } = parseAddress(email);
      const quotaBytes = opts.quota === undefined ? null : parseQuota(opts.quota);
      await withStore(cmd, deps, async (store, config) => {
        await requireLocalDomain(store, domain);
        if (await store.getAccount(address)) throw new UsageError(`user ${address} already exists`);
        if (await store.getAlias(address)) throw new UsageError(`${address} is an alias; remove it first (postamt alias remove ${address})`);
        const password = await readNewPassword(deps.io, { fromStdin: opts.passwordStdin === true, minLength: config.auth.minPasswordLength });
        const [passwordHash, scram] = await Promise.all([deps.passwords.hashPassword(password), deps.passwords.deriveScram(password, { iterations: config.auth.scramIterations })]);
        await store.addAccount({ address, passwordHash, scram, quotaBytes });
        println(deps.io.stdout, `added user ${address}`);
      });
    });

  group.command('list').argument('[domain]').description('list users, of one domain or all')
    .option('--json', 'print JSON')
    .action(async (domainText: string | undefined, opts: { json?: boolean }, cmd: Command) => {
      const domain = domainText === undefined ? undefined : parseDomain(domainText);
      await withStore(cmd, deps, async (store, config) => {
        if (domain !== undefined) await requireLocalDomain(store, domain);
        const accounts = await store.listAccounts(domain);
        if (opts.json) {
          const rows = accounts.map((a) => ({ address: a.address, disabled: a.disabled, quotaBytes: a.quotaBytes ?? config.storage.quotaDefault, sendAsDomains: a.sendAsDomains, createdAt: a.createdAt.toISOString() }));
          println(deps.io.stdout, JSON.stringify(rows, null, 2));
          return;
        }
        if (accounts.length === 0) return println(deps.io.stdout, domain === undefined ? 'no users yet; add one with: postamt user add EMAIL' : `no users in ${domain}`);
        const rows = accounts.map((a) => {
          const quota = a.quotaBytes ?? config.storage.quotaDefault;
          return [a.address, a.disabled ? 'disabled' : 'enabled', `quota ${quota === 0 ? 'unlimited' : formatSize(quota)}${a.quotaBytes === null ? ' (default)' : ''}`,
            a.sendAsDomains.length ? `send-as ${a.sendAsDomains.join(',')}` : ''];
        });
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
      });
    });

  group.command('remove').argument('<email>').description('remove a user with all their mail')
    .action(async (email: string, _opts: unknown, cmd: Command) => {
      await withStore(cmd, deps, async (store) => {
        const account = await requireAccount(store, email);
        await store.removeAccount(account.address);
        println(deps.io.stdout, `removed user ${account.address}`);
      });
    });

  group.command('passwd').argument('<email>').description('set a new password')
    .option('--password-stdin', 'read the password from stdin')
    .action(async (email: string, opts: { passwordStdin?: boolean }, cmd: Command) => {
      await withStore(cmd, deps, async (store, config) => {
        const account = await requireAccount(store, email);
        const password = await readNewPassword(deps.io, { fromStdin: opts.passwordStdin === true, minLength: config.auth.minPasswordLength });
        // Keep the account's SCRAM salt and count: its app passwords were derived with them and must stay usable.
        const scramOptions = account.scram ? { salt: account.scram.salt, iterations: account.scram.iterations } : { iterations: config.auth.scramIterations };
        const [passwordHash, scram] = await Promise.all([deps.passwords.hashPassword(password), deps.passwords.deriveScram(password, scramOptions)]);
        await store.updateAccount(account.address, { passwordHash, scram });
        println(deps.io.stdout, `password changed for ${account.address}`);
      });
    });

  for (const [name, disabled] of [['disable', true], ['enable', false]] as const) {
    group.command(name).argument('<email>').description(disabled ? 'refuse logins (mail is still received)' : 'allow logins again')
      .action(async (email: string, _opts: unknown, cmd: Command) => {
        await withStore(cmd, deps, async (store) => {
          const account = await requireAccount(store, email);
          await store.updateAccount(account.address, { disabled });
          println(deps.io.stdout, `${disabled ? 'disabled' : 'enabled'} user ${account.address}`);
        });
      });
  }

  group.command('grant-domain').argument('<email>').argument('<domain>').description('allow the user to send as any address of a domain')
    .action(async (email: string, domainText: string, _opts: unknown, cmd: Command) => {
      const domain = parseDomain(domainText);
      await withStore(cmd, deps, async (store) => {
        const account = await requireAccount(store, email);
        await requireLocalDomain(store, domain);
        const sendAsDomains = [...new Set([...account.sendAsDomains, domain])].sort();
        await store.updateAccount(account.address, { sendAsDomains });
        println(deps.io.stdout, `${account.address} may send as any address @${domain}`);
      });
    });

  group.command('revoke-domain').argument('<email>').argument('<domain>').description('take back a grant-domain')
    .action(async (email: string, domainText: string, _opts: unknown, cmd: Command) => {
      const domain = parseDomain(domainText);
      await withStore(cmd, deps, async (store) => {
        const account = await requireAccount(store, email);
        if (!account.sendAsDomains.includes(domain)) throw new UsageError(`${account.address} has no grant for ${domain}`);
        await store.updateAccount(account.address, { sendAsDomains: account.sendAsDomains.filter((d) => d !== domain) });
        println(deps.io.stdout, `${account.address} may no longer send as @${domain}`);
      });
    });
}
