/**
 * Runs CLI commands in-process for tests: a temp data dir with a config file, the real store and password
 * hashing, captured stdout/stderr and a given stdin.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { passwordFunctions } from '../accounts/passwords.ts';
import { loadConfig } from '../config/load.ts';
import { openStore } from '../store/open.ts';
import type { CliDeps, OutputStream } from './context.ts';
import { runCli } from './program.ts';

export interface CliResult {
  code: number;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

function capture(): OutputStream & { bytes(): Buffer } {
  const chunks: Buffer[] = [];
  return {
    write(chunk: string | Uint8Array) {
      chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
      return true;
    },
    bytes: () => Buffer.concat(chunks),
  };
}

export interface CliHarness {
  dir: string;
  configPath: string;
  run(args: string[], options?: { stdin?: string | Buffer }): Promise<CliResult>;
  cleanup(): void;
}

/** With `existingStore` (the default) data_dir already holds a store, as on an installed server. */
export function cliHarness(options: { existingStore?: boolean } = {}): CliHarness {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-cli-'));
  let prepared = options.existingStore === false;
  const configPath = join(dir, 'postamt.toml');
  // 4096 SCRAM rounds (the RFC minimum) keep the many `user add` runs of the tests fast.
  writeFileSync(configPath, 'hostname = "mx.example.test"\ndata_dir = "data"\n\n[auth]\nscram_iterations = 4096\n');
  return {
    dir,
    configPath,
    async run(args, runOptions = {}) {
      if (!prepared) {
        prepared = true;
        await (await openStore({ dataDir: join(dir, 'data') })).close();
      }
      const stdout = capture();
      const stderr = capture();
      const deps: CliDeps = {
        loadConfig,
        openStore: (o) => openStore({ dataDir: o.dataDir }),
        passwords: passwordFunctions({ logN: 10 }),
        io: { stdout, stderr, stdin: Readable.from(runOptions.stdin === undefined ? [] : [Buffer.from(runOptions.stdin)]) },
        env: {},
        cwd: dir,
      };
      const code = await runCli(['--config', configPath, ...args], deps);
      return { code, stdout: stdout.bytes().toString('utf8'), stdoutBytes: stdout.bytes(), stderr: stderr.bytes().toString('utf8') };
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
