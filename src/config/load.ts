/**
 * Loads the configuration: defaults, then the TOML file, then POSTAMT_* environment variables; validates
 * every value against the schema and returns a frozen Config. Errors name the key and the file line
 * (or the environment variable); unknown keys are refused.
 */
import { existsSync, readFileSync } from 'node:fs';
import { dirname, isAbsolute, relative, resolve } from 'node:path';
import { parse, TomlError } from 'smol-toml';
import { UsageError } from '../core/errors.ts';
import { NestedValueError, snakeCase, type Field, type SchemaEntry, type ValueContext } from './fields.ts';
import { ValueError } from './values.ts';
import { defaultConfig, isSection, schema, type Config } from './schema.ts';
import { findKeyLine } from './toml-lines.ts';

export const DEFAULT_CONFIG_FILE = 'postamt.toml';
export const ENV_PREFIX = 'POSTAMT_';

/** A configuration problem; the message is meant for the operator as is. */
export class ConfigError extends UsageError {
  constructor(message: string, readonly key?: string, readonly location?: { file: string; line: number | null }) {
    super(message, 1);
    this.name = 'ConfigError';
  }
}

export interface LoadConfigOptions {
  /** The TOML file; without it `./postamt.toml` is read when present, else the defaults apply. */
  path?: string;
  /** Environment for POSTAMT_* overrides (default: process.env; tests pass {}). */
  env?: NodeJS.ProcessEnv;
  /** Directory for the default file and for relative paths without a file (default: process.cwd()). */
  cwd?: string;
}

/** One settable key: where it lives in the schema, in TOML and in the environment. */
export interface KeyInfo {
  section: string | null; // camelCase section name, null at top level
  name: string; // camelCase field name
  tomlPath: string[]; // ['limits', 'message_size']
  envName: string; // POSTAMT_LIMITS_MESSAGE_SIZE
  field: Field<unknown>;
}

export function envNameFor(tomlPath: string[]): string {
  return ENV_PREFIX + tomlPath.join('_').toUpperCase();
}

/** Every key of the schema, in schema order. */
export function listKeys(): KeyInfo[] {
  const out: KeyInfo[] = [];
  for (const [name, entry] of Object.entries(schema)) {
    if (isSection(entry)) {
      for (const [key, field] of Object.entries(entry.fields)) {
        const tomlPath = [snakeCase(name), snakeCase(key)];
        out.push({ section: name, name: key, tomlPath, envName: envNameFor(tomlPath), field });
      }
    } else {
      const tomlPath = [snakeCase(name)];
      out.push({ section: null, name, tomlPath, envName: envNameFor(tomlPath), field: entry as Field<unknown> });
    }
  }
  return out;
}

function isTable(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value) && !(value instanceof Date);
}

const normalize = (s: string): string => s.toLowerCase().replace(/[_-]/g, '');

function editDistance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    for (let j = 1; j <= b.length; j++) row[j] = Math.min(prev[j]! + 1, row[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = row;
  }
  return prev[b.length]!;
}

function suggestion(unknown: string, candidates: string[]): string {
  const hit = candidates.find((c) => normalize(c) === normalize(unknown)) ?? candidates.find((c) => editDistance(c, unknown) <= 2);
  return hit ? ` (did you mean ${hit}?)` : '';
}

export function loadConfig(options: LoadConfigOptions = {}): Config {
  const cwd = options.cwd ?? process.cwd();
  const env = options.env ?? process.env;
  let file: string | null = null;
  if (options.path !== undefined) {
    file = resolve(cwd, options.path);
    if (!existsSync(file)) throw new ConfigError(`config file ${options.path} not found`);
  } else if (existsSync(resolve(cwd, DEFAULT_CONFIG_FILE))) {
    file = resolve(cwd, DEFAULT_CONFIG_FILE);
  }

  const values = defaultConfig({ cwd }) as unknown as Record<string, Record<string, unknown> | unknown>;
  const set = (info: KeyInfo, value: unknown): void => {
    if (info.section === null) values[info.name] = value;
    else (values[info.section] as Record<string, unknown>)[info.name] = value;
  };

  if (file !== null) applyFile(file, cwd, set);
  applyEnv(env, { baseDir: cwd }, set);

  const config = values as unknown as Config;
  checkConsistency(config, file === null ? null : displayPath(file, cwd));
  return deepFreeze(config);
}

function displayPath(file: string, cwd: string): string {
  const rel = relative(cwd, file);
  return rel.startsWith('..') || isAbsolute(rel) ? file : rel;
}

function applyFile(file: string, cwd: string, set: (info: KeyInfo, value: unknown) => void): void {
  const shown = displayPath(file, cwd);
  let source: string;
  try {
    source = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError(`cannot read config file ${shown}: ${(err as Error).message}`);
  }
  let doc: Record<string, unknown>;
  try {
    doc = parse(source) as Record<string, unknown>;
  } catch (err) {
    if (err instanceof TomlError) {
      const first = err.message.split('\n')[0];
      throw new ConfigError(`${shown}:${err.line}:${err.column}: invalid TOML: ${first}`, undefined, { file: shown, line: err.line });
    }
    throw err;
  }
  const ctx: ValueContext = { baseDir: dirname(file) };
  const keys = listKeys();
  const at = (path: string[]): string => {
    const line = findKeyLine(source, path);
    return line === null ? shown : `${shown}:${line}`;
  };
  const fail = (path: string[], problem: string): never => {
    const line = findKeyLine(source, path);
    throw new ConfigError(`${at(path)}: ${problem}`, path.join('.'), { file: shown, line });
  };

  for (const [topKey, topValue] of Object.entries(doc)) {
    const top = keys.find((k) => k.tomlPath[0] === topKey);
    if (!top) {
      const candidates = [...new Set(keys.map((k) => k.tomlPath[0]!))];
      fail([topKey], `unknown key ${topKey}${suggestion(topKey, candidates)}`);
    }
    if (top!.section === null) {
      readValue(top!, topValue);
      continue;
    }
    if (!isTable(topValue)) fail([topKey], `${topKey} must be a table ([${topKey}]), got a value`);
    for (const [key, value] of Object.entries(topValue as Record<string, unknown>)) {
      const info = keys.find((k) => k.tomlPath[0] === topKey && k.tomlPath[1] === key);
      if (!info) {
        const siblings = keys.filter((k) => k.tomlPath[0] === topKey).map((k) => k.tomlPath[1]!);
        fail([topKey, key], `unknown key ${topKey}.${key}${suggestion(key, siblings)}`);
      }
      readValue(info!, value);
    }
  }

  function readValue(info: KeyInfo, value: unknown): void {
    try {
      set(info, info.field.fromToml(value, ctx));
    } catch (err) {
      if (err instanceof NestedValueError) {
        const path = [...info.tomlPath, ...err.subPath];
        fail(path, `${path.map((p) => (/^[A-Za-z0-9_-]+$/.test(p) ? p : JSON.stringify(p))).join('.')}: ${err.message}`);
      }
      if (err instanceof ValueError) fail(info.tomlPath, `${info.tomlPath.join('.')}: ${err.message}`);
      throw err;
    }
  }
}

function applyEnv(env: NodeJS.ProcessEnv, ctx: ValueContext, set: (info: KeyInfo, value: unknown) => void): void {
  const keys = listKeys();
  const sectionPrefixes = Object.keys(schema)
    .filter((name) => isSection((schema as Record<string, SchemaEntry>)[name]!))
    .map((name) => `${ENV_PREFIX}${snakeCase(name).toUpperCase()}_`);
  for (const [variable, text] of Object.entries(env)) {
    if (!variable.startsWith(ENV_PREFIX) || text === undefined) continue;
    const info = keys.find((k) => k.envName === variable);
    if (!info) {
      // Only names inside a known section are ours for sure; other POSTAMT_* variables are left alone.
      if (sectionPrefixes.some((p) => variable.startsWith(p))) {
        throw new ConfigError(`${variable}: unknown setting (no key ${variable.slice(ENV_PREFIX.length).toLowerCase()} in the configuration)`, variable);
      }
      continue;
    }
    if (!info.field.envSettable) throw new ConfigError(`${variable}: ${info.tomlPath.join('.')} can only be set in the config file`, variable);
    try {
      set(info, info.field.fromEnv(text, ctx));
    } catch (err) {
      if (err instanceof ValueError) throw new ConfigError(`${variable}: ${err.message}`, variable);
      throw err;
    }
  }
}

function checkConsistency(config: Config, file: string | null): void {
  const where = file ?? 'configuration';
  if ((config.tls.cert === null) !== (config.tls.key === null)) {
    throw new ConfigError(`${where}: tls.cert and tls.key must be set together`, 'tls.cert');
  }
  if (config.queue.relayhostUsername !== '' && config.queue.relayhostPassword === '') {
    throw new ConfigError(`${where}: queue.relayhost_username is set but queue.relayhost_password is empty`, 'queue.relayhost_password');
  }
  if (config.storage.backend === 'postgres' && config.storage.url === '') {
    throw new ConfigError(`${where}: storage.backend is "postgres" but storage.url is empty`, 'storage.url');
  }
}

function deepFreeze<T>(value: T): T {
  if (value !== null && typeof value === 'object' && !Object.isFrozen(value)) {
    Object.freeze(value);
    for (const inner of Object.values(value as object)) deepFreeze(inner);
  }
  return value;
}
