/**
 * `postamt app-password add|list|remove`: extra passwords per account, one per device or application,
 * each with a label and revocable on its own. The generated password is shown once and never stored in clear.
 */
import type { Command } from 'commander';
import { appPasswordTag, generateAppPassword } from '../accounts/app-passwords.ts';
import { UsageError } from '../core/errors.ts';
import { formatTable, println, withStore, type CliDeps } from './context.ts';
import { requireAccount } from './validate.ts';

export function registerAppPassword(program: Command, deps: CliDeps): void {
  const group = program.command('app-password').description('manage app-specific passwords (one per device, revocable)');

  group.command('add').argument('<email>').argument('<label>', 'what it is for, e.g. "phone"').description('generate an app password (printed once)')
    .action(async (email: string, label: string, _opts: unknown, cmd: Command) => {
      if (label.trim() === '' || label.length > 100) throw new UsageError('the label must be 1 to 100 characters');
      await withStore(cmd, deps, async (store, config) => {
        const account = await requireAccount(store, email);
        const password = generateAppPassword();
        // SCRAM sends one salt per user: an app password works with SCRAM only with the account's salt and count.
        const scramOptions = account.scram ? { salt: account.scram.salt, iterations: account.scram.iterations } : { iterations: config.auth.scramIterations };
        const [passwordHash, scram] = await Promise.all([deps.passwords.hashPassword(password), deps.passwords.deriveScram(password, scramOptions)]);
        const record = await store.addAppPassword({ accountId: account.id, label: label.trim(), passwordHash, scram, lookupTag: appPasswordTag(password) });
        // The password alone on stdout (scripts can capture it); the explanation on stderr.
        println(deps.io.stdout, password);
        println(deps.io.stderr, `app password ${record.id} (${record.label}) added for ${account.address}; it is shown only this once`);
      });
    });

  group.command('list').argument('<email>').description('list app passwords (labels and ids, never the passwords)').option('--json', 'print JSON')
    .action(async (email: string, opts: { json?: boolean }, cmd: Command) => {
      await withStore(cmd, deps, async (store) => {
        const account = await requireAccount(store, email);
        const passwords = await store.listAppPasswords(account.id);
        if (opts.json) {
          const rows = passwords.map((p) => ({ id: p.id, label: p.label, createdAt: p.createdAt.toISOString(), lastUsedAt: p.lastUsedAt?.toISOString() ?? null }));
          return println(deps.io.stdout, JSON.stringify(rows, null, 2));
        }
        if (passwords.length === 0) return println(deps.io.stdout, `${account.address} has no app passwords; make one with: postamt app-password add ${account.address} LABEL`);
        const rows = passwords.map((p) => [
          String(p.id), p.label, `created ${p.createdAt.toISOString()}`, p.lastUsedAt ? `last used ${p.lastUsedAt.toISOString()}` : 'never used',
        ]);
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
      });
    });

  group.command('remove').argument('<email>').argument('<id>').description('revoke an app password')
    .action(async (email: string, idText: string, _opts: unknown, cmd: Command) => {
      if (!/^\d+$/.test(idText)) throw new UsageError(`app password id must be a number (see postamt app-password list ${email}), got ${JSON.stringify(idText)}`);
      await withStore(cmd, deps, async (store) => {
        const account = await requireAccount(store, email);
        if (!(await store.removeAppPassword(account.id, Number(idText)))) throw new UsageError(`${account.address} has no app password ${idText}`);
        println(deps.io.stdout, `removed app password ${idText} of ${account.address}`);
      });
    });
}
