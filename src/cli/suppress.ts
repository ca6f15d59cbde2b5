/**
 * `postamt suppress list|remove`: addresses that bounced permanently (found by VERP bounce processing),
 * which later sends skip.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { formatTable, println, withStore, type CliDeps } from './context.ts';
import { parseAddress } from './validate.ts';

export function registerSuppress(program: Command, deps: CliDeps): void {
  const group = program.command('suppress').description('the suppression list (addresses that bounced permanently)');

  group.command('list').description('list suppressed addresses').option('--json', 'print JSON')
    .action(async (opts: { json?: boolean }, cmd: Command) => {
      await withStore(cmd, deps, async (store) => {
        const records = await store.listSuppressions();
        if (opts.json) return println(deps.io.stdout, JSON.stringify(records, null, 2));
        if (records.length === 0) return println(deps.io.stdout, 'the suppression list is empty');
        for (const line of formatTable(records.map((r) => [r.address, r.createdAt.toISOString(), r.reason ?? '']))) println(deps.io.stdout, line);
      });
    });

  group.command('remove').argument('<address>').description('allow sending to an address again')
    .action(async (text: string, _opts: unknown, cmd: Command) => {
      const { address } = parseAddress(text);
      await withStore(cmd, deps, async (store) => {
        if (!(await store.removeSuppression(address))) throw new UsageError(`${address} is not on the suppression list`);
        println(deps.io.stdout, `removed ${address} from the suppression list`);
      });
    });
}
