/**
 * `postamt mailbox list EMAIL`: a user's mailboxes with their counts.
 */
import type { Command } from 'commander';
import { formatTable, println, withAdmin, type CliDeps } from './context.ts';

export function registerMailbox(program: Command, deps: CliDeps): void {
  const group = program.command('mailbox').description('inspect mailboxes');

  group.command('list').argument('<email>').description('list a user\'s mailboxes with message counts')
    .option('--json', 'print JSON')
    .action(async (email: string, opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const rows = await admin.users.mailboxes(as, email);
        if (opts.json) {
          println(deps.io.stdout, JSON.stringify(rows, null, 2));
          return;
        }
        const table = [['MAILBOX', 'MESSAGES', 'UNSEEN', 'SIZE', 'SPECIAL-USE'],
          ...rows.map((r) => [r.name, String(r.messages), String(r.unseen), String(r.sizeBytes), r.specialUse ?? ''])];
        for (const line of formatTable(table)) println(deps.io.stdout, line);
      });
    });
}
