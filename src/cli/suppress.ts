/**
 * `postamt suppress list|remove`: addresses that bounced permanently (found by VERP bounce processing),
 * which later sends skip.
 */
import type { Command } from 'commander';
import { formatTable, println, withAdmin, type CliDeps } from './context.ts';

export function registerSuppress(program: Command, deps: CliDeps): void {
  const group = program.command('suppress').description('the suppression list (addresses that bounced permanently)');

  group.command('list').description('list suppressed addresses').option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        const records = await admin.suppressions.list(as);
        if (opts.json) return println(deps.io.stdout, JSON.stringify(records, null, 2));
        if (records.length === 0) return println(deps.io.stdout, 'the suppression list is empty');
        for (const line of formatTable(records.map((r) => [r.address, r.createdAt.toISOString(), r.reason ?? '']))) println(deps.io.stdout, line);
      });
    });

  group.command('remove').argument('<address>').description('allow sending to an address again')
    .action(async (text: string, _opts: unknown, cmd: Command) => {
      await withAdmin(cmd, deps, async ({ admin, as }) => {
        println(deps.io.stdout, `removed ${await admin.suppressions.remove(as, text)} from the suppression list`);
      });
    });
}
