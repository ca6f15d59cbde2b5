/**
 * PLACEHOLDER for `postamt serve` (the lead replaces this file): it only validates the configuration,
 * so that main.ts and the rest of the CLI work before the composition root lands.
 */
import type { Command } from 'commander';
import { UsageError } from '../core/errors.ts';
import { configFor, type CliDeps } from './context.ts';

export function registerServe(program: Command, deps: CliDeps): void {
  program.command('serve').description('start the mail server')
    .action(async (_opts: unknown, cmd: Command) => {
      configFor(cmd, deps);
      throw new UsageError('serve is not wired yet (src/cli/serve.ts is a placeholder)');
    });
}
