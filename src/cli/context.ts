/**
 * What every CLI command group receives: the config loader, the store opener, password functions and the
 * I/O streams, passed in so that tests run commands in-process. Also the shared action wrappers: commands
 * act through the administration service as the local operator (whoever can read data_dir may do anything).
 */
import type { Command } from 'commander';
import { existsSync } from 'node:fs';
import { resolve } from 'node:path';
import { UsageError, errorMessage } from '../core/errors.ts';
import { DEFAULT_CONFIG_FILE, type LoadConfigOptions } from '../config/load.ts';
import { CLI_PRINCIPAL, type Principal } from '../admin/access.ts';
import { adminSettings, type PasswordFunctions } from '../admin/context.ts';
import { configuredResolver } from '../admin/dns.ts';
import { createAdminService, type AdminService } from '../admin/service.ts';
import type { Config } from '../config/schema.ts';
import { dkimKeysFor } from '../app/dkim-keys.ts';
import { storeExists, type OpenedStore, type OpenStoreOptions } from '../store/open.ts';
import { StoreMailAccess } from '../mail/service.ts';

export interface OutputStream {
  write(chunk: string | Uint8Array): unknown;
}

export interface InputStream extends AsyncIterable<Buffer | string> {
  isTTY?: boolean;
  setRawMode?(mode: boolean): unknown;
  on?(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  removeListener?(event: 'data', listener: (chunk: Buffer | string) => void): unknown;
  pause?(): unknown;
  resume?(): unknown;
}

export interface CliIo {
  stdout: OutputStream;
  stderr: OutputStream;
  stdin: InputStream;
}

export interface CliDeps {
  loadConfig(options: LoadConfigOptions): Config;
  openStore(options: OpenStoreOptions): Promise<OpenedStore>;
  passwords: PasswordFunctions;
  io: CliIo;
  /** Environment for POSTAMT_* overrides. */
  env: NodeJS.ProcessEnv;
  /** Directory against which --config and relative paths resolve. */
  cwd: string;
}

export type CliStore = OpenedStore;

/** Global options as given on the command line (`postamt --config FILE --log-format pretty <command>`). */
export interface GlobalOptions {
  config?: string;
  logFormat?: 'json' | 'pretty';
}

export function globalOptions(command: Command): GlobalOptions {
  return command.optsWithGlobals<GlobalOptions>();
}

/** Loads the configuration named by --config (or ./postamt.toml, or the defaults). */
export function configFor(command: Command, deps: CliDeps): Config {
  return deps.loadConfig({ path: globalOptions(command).config, env: deps.env, cwd: deps.cwd });
}

/** Where the configuration came from, for messages: `--config FILE`, ./postamt.toml, or the built-in defaults. */
export function configSource(command: Command, deps: CliDeps): string {
  const given = globalOptions(command).config;
  if (given !== undefined) return `data_dir of --config ${given}`;
  return existsSync(resolve(deps.cwd, DEFAULT_CONFIG_FILE)) ? `data_dir of ./${DEFAULT_CONFIG_FILE}` : `the built-in data_dir: no --config given and no ./${DEFAULT_CONFIG_FILE} here`;
}

export interface WithStoreOptions {
  /**
   * Whether the command may make a new, empty store when data_dir has none (`domain add`: the first
   * step of a setup); it says so on stderr. Every other command refuses: a new empty store is almost
   * always the wrong data_dir (a forgotten --config), and would hide the real one.
   */
  create?: boolean;
}

/** The configuration, refusing (as withStore does) when its data dir holds no Postamt data. */
export function configWithStore(command: Command, deps: CliDeps): Config {
  const config = configFor(command, deps);
  if (!storeExists(config.dataDir, config.storage)) throw noStore(command, deps, config);
  return config;
}

function noStore(command: Command, deps: CliDeps, config: Config): UsageError {
  return new UsageError(`no Postamt data in ${config.dataDir} (${configSource(command, deps)}); give the server's configuration with --config FILE, or make a new one with: postamt domain add DOMAIN`);
}

/** Runs `fn` with the store of the configured data dir, closing it afterwards. */
export async function withStore<T>(command: Command, deps: CliDeps, fn: (store: CliStore, config: Config) => Promise<T>, options: WithStoreOptions = {}): Promise<T> {
  const config = configFor(command, deps);
  const isNew = !storeExists(config.dataDir, config.storage);
  if (isNew && !options.create) throw noStore(command, deps, config);
  let store: CliStore;
  try {
    store = await deps.openStore({ dataDir: config.dataDir, storage: config.storage });
  } catch (err) {
    throw new UsageError(`cannot open the data in ${config.dataDir}: ${errorMessage(err)}`);
  }
  if (isNew) println(deps.io.stderr, `postamt: made a new data directory ${config.dataDir} (${configSource(command, deps)})`);
  try {
    return await fn(store, config);
  } finally {
    await store.close();
  }
}

/** What an administrative command works with: the service, the principal to pass it, and the configuration. */
export interface AdminCall {
  admin: AdminService;
  as: Principal;
  config: Config;
}

/** Runs `fn` with the administration service on the configured data dir's store, as the local operator. */
export async function withAdmin<T>(command: Command, deps: CliDeps, fn: (call: AdminCall) => Promise<T>, options: WithStoreOptions = {}): Promise<T> {
  return withStore(command, deps, (store, config) => {
    const mail = new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: config.storage.quotaDefault });
    const admin = createAdminService({ store, dkimKeys: dkimKeysFor(store, config.dataDir), passwords: deps.passwords, settings: adminSettings(config), resolver: configuredResolver(config), mail });
    return fn({ admin, as: CLI_PRINCIPAL, config });
  }, options);
}

export function println(stream: OutputStream, line = ''): void {
  stream.write(`${line}\n`);
}

/** Left-aligned columns separated by two spaces (the last column is not padded). */
export function formatTable(rows: string[][]): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => { widths[i] = Math.max(widths[i] ?? 0, cell.length); });
  return rows.map((row) => row.map((cell, i) => (i === row.length - 1 ? cell : cell.padEnd(widths[i]!))).join('  ').trimEnd());
}
