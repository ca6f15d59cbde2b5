/**
 * The composition root of the command line: real config loader, store, password hashing and process
 * streams, handed to the CLI. bin/postamt.js calls `main(process.argv)` and uses the result as exit code.
 */
import { deriveScram, hashPassword } from './accounts/passwords.ts';
import { loadConfig } from './config/load.ts';
import { openStore } from './store/open.ts';
import type { CliDeps } from './cli/context.ts';
import { runCli } from './cli/program.ts';
import { registerServe } from './cli/serve.ts';

export function defaultCliDeps(): CliDeps {
  return {
    loadConfig,
    openStore: (options) => openStore({ dataDir: options.dataDir }),
    passwords: { hashPassword: (p) => hashPassword(p), deriveScram: (p, o) => deriveScram(p, o) },
    io: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
    env: process.env,
    cwd: process.cwd(),
  };
}

/** `argv` as in process.argv: node, the script, then the user's arguments. */
export async function main(argv: string[]): Promise<number> {
  return runCli(argv.slice(2), defaultCliDeps(), { extraGroups: [registerServe] });
}
