/**
 * `postamt app-password add|list|remove`: extra passwords per account, one per device or application,
 * each with a label and revocable on its own. The generated password is shown once and never stored in clear.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { formatTable, println, withAdmin, type CliDeps } from './context.ts';

export function registerAppPassword(program: Command, deps: CliDeps): void {
  const group = program.command('app-password').description('manage app-specific passwords (one per device, revocable)');

  group.command('add').argument('<email>').argument('<label>', 'what it is for, e.g. "phone"').description('generate an app password (printed once)')
    .action(async (email: string, label: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const { address, record, password } = await admin.appPasswords.add(as, email, label);
        // The password alone on stdout (scripts can capture it); the explanation on stderr.
        println(deps.io.stdout, password);
        println(deps.io.stderr, `app password ${record.id} (${record.label}) added for ${address}; it is shown only this once`);
      });
    });

  group.command('list').argument('<email>').description('list app passwords (labels and ids, never the passwords)').option('--json', 'print JSON')
    .action(async (email: string, opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const { address, passwords } = await admin.appPasswords.list(as, email);
        if (opts.json) {
          const rows = passwords.map((p) => ({ id: p.id, label: p.label, createdAt: p.createdAt.toISOString(), lastUsedAt: p.lastUsedAt?.toISOString() ?? null }));
          return println(deps.io.stdout, JSON.stringify(rows, null, 2));
        }
        if (passwords.length === 0) return println(deps.io.stdout, `${address} has no app passwords; make one with: postamt app-password add ${address} LABEL`);
        const rows = passwords.map((p) => [
          String(p.id), p.label, `created ${p.createdAt.toISOString()}`, p.lastUsedAt ? `last used ${p.lastUsedAt.toISOString()}` : 'never used',
        ]);
        for (const line of formatTable(rows)) println(deps.io.stdout, line);
      });
    });

  group.command('remove').argument('<email>').argument('<id>').description('revoke an app password')
    .action(async (email: string, idText: string, _opts: unknown, cmd: Command) => {
      if (!/^\d+$/.test(idText)) throw new UsageError(`app password id must be a number (see postamt app-password list ${email}), got ${JSON.stringify(idText)}`);
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const address = await admin.appPasswords.remove(as, email, Number(idText));
        println(deps.io.stdout, `removed app password ${idText} of ${address}`);
      });
    });
}
