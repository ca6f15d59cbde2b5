/**
 * The `postamt` command line: builds the commander program from the command groups and runs it, turning
 * user errors into a one-line message and an exit code (2: usage, 1: bad input or not found), never a stack trace.
 */
import { readFileSync } from 'node:fs';
import { Command, CommanderError, Option } from 'commander';
import { StartupError, StorageError, UsageError, errorMessage } from '../core/errors.ts';
import type { CliDeps } from './context.ts';
import { registerAlias } from './alias.ts';
import { registerAppPassword } from './app-password.ts';
import { registerDkim } from './dkim.ts';
import { registerDns } from './dns.ts';
import { registerDoctor } from './doctor.ts';
import { registerDomain } from './domain.ts';
import { registerMailbox } from './mailbox.ts';
import { registerMessage } from './message.ts';
import { registerMigrate } from './migrate.ts';
import { registerQueue } from './queue.ts';
import { registerReports } from './reports.ts';
import { registerSuppress } from './suppress.ts';
import { registerStatus } from './status.ts';
import { registerTrace } from './trace.ts';
import { registerUser } from './user.ts';

const VERSION = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string }).version;

export const EXIT_OK = 0;
export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

/** A command group: adds its commands to the program. */
export type RegisterGroup = (program: Command, deps: CliDeps) => void;

export interface ProgramOptions {
  /** Groups registered before the built-in ones; main.ts passes `serve` here (tests leave it out). */
  extraGroups?: RegisterGroup[];
}

export function buildProgram(deps: CliDeps, options: ProgramOptions = {}): Command {
  const program = new Command('postamt')
    .description('Postamt: a complete mail server (SMTP, submission, IMAP, POP3) in one program')
    .addOption(new Option('-c, --config <file>', 'configuration file (default: ./postamt.toml if present)'))
    .addOption(new Option('--log-format <format>', 'log format').choices(['json', 'pretty']))
    .version(`postamt ${VERSION}`, '-V, --version', 'print the version and exit')
    .exitOverride()
    .configureOutput({
      writeOut: (text) => void deps.io.stdout.write(text),
      writeErr: (text) => void deps.io.stderr.write(text),
      outputError: (text, write) => write(formatUsageError(text)),
    });
  // Settings above are inherited by the commands the groups create.
  for (const register of options.extraGroups ?? []) register(program, deps);
  registerDomain(program, deps);
  registerUser(program, deps);
  registerAppPassword(program, deps);
  registerAlias(program, deps);
  registerMailbox(program, deps);
  registerMessage(program, deps);
  registerQueue(program, deps);
  registerSuppress(program, deps);
  registerDkim(program, deps);
  registerDns(program, deps);
  registerDoctor(program, deps);
  registerTrace(program, deps);
  registerStatus(program, deps);
  registerMigrate(program, deps);
  registerReports(program, deps);
  return program;
}

/**
 * Commander's messages ("error: unknown command 'domian'" and a "(Did you mean domain?)" line) in the
 * documented form: one line starting with `postamt:`, ending with where to find the usage.
 */
export function formatUsageError(text: string): string {
  const parts = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const first = (parts.shift() ?? 'usage error').replace(/^error:\s*/, '').replace(/\.$/, '');
  const hint = parts.map((p) => p.replace(/^\((.*)\)$/, '$1')).join(' ');
  return `postamt: ${first}${hint ? ` (${hint})` : ''}; see postamt --help\n`;
}

/** Runs the CLI with user arguments (without node and script path); resolves to the exit code. */
export async function runCli(args: string[], deps: CliDeps, options: ProgramOptions = {}): Promise<number> {
  const program = buildProgram(deps, options);
  try {
    await program.parseAsync(args, { from: 'user' });
    return EXIT_OK;
  } catch (err) {
    if (err instanceof CommanderError) {
      // Commander has printed the message or the help already.
      return err.exitCode === 0 ? EXIT_OK : EXIT_USAGE;
    }
    if (err instanceof UsageError) {
      deps.io.stderr.write(`postamt: ${err.message}\n`);
      return err.exitCode;
    }
    if (err instanceof StartupError) {
      deps.io.stderr.write(`postamt: cannot start: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    if (err instanceof StorageError) {
      deps.io.stderr.write(`postamt: storage error: ${err.message}\n`);
      return EXIT_FAILURE;
    }
    // A bug, not a user error: show the stack so it can be reported.
    deps.io.stderr.write(`postamt: internal error: ${errorMessage(err)}\n${err instanceof Error && err.stack ? `${err.stack}\n` : ''}`);
    return EXIT_FAILURE;
  }
}
