/**
 * The composition root of the command line: real config loader, store, password hashing and process
 * streams, handed to the CLI. bin/postamt.js calls `main(process.argv)` and uses the result as exit code.
 */
import { HashPool } from './accounts/hash-pool.ts';
import { passwordFunctions } from './accounts/passwords.ts';
import { loadConfig } from './config/load.ts';
import { openStore } from './store/open.ts';
import { makeDataDirPrivate } from './store/data-dir-modes.ts';
import type { CliDeps } from './cli/context.ts';
import { runCli } from './cli/program.ts';
import { registerServe } from './cli/serve.ts';

export function defaultCliDeps(): CliDeps {
  return {
    loadConfig,
    openStore: (options) => {
      for (const f of makeDataDirPrivate(options.dataDir)) {
        process.stderr.write(`postamt: ${f.path} ${f.fixed ? `was mode ${f.was}, readable or writable by other users; now ${f.now}` : `has mode ${f.was}, readable or writable by other users, and could not be changed`}\n`);
      }
      return openStore(options);
    },
    // The server's way to hash: a thread of its own (one: a command hashes one password at a time), which
    // keeps the process alive only while it hashes.
    passwords: passwordFunctions({ pool: new HashPool({ threads: 1, nice: 0 }) }),
    io: { stdout: process.stdout, stderr: process.stderr, stdin: process.stdin },
    env: process.env,
    cwd: process.cwd(),
  };
}

/** `argv` as in process.argv: node, the script, then the user's arguments. */
export async function main(argv: string[]): Promise<number> {
  // Everything Postamt writes (database, WAL, spool files, keys, certificates) is for its own user only.
  process.umask(0o077);
  return runCli(argv.slice(2), defaultCliDeps(), { extraGroups: [registerServe] });
}
