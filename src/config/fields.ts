/**
 * The building blocks of the configuration schema: each field knows its type, default, doc text and how to
 * read itself from TOML and from an environment variable. `Infer` turns a schema into the Config type.
 */
import { isIP } from 'node:net';
import { resolve } from 'node:path';
import {
  ValueError, describe, formatDuration, formatHostPort, formatSize, parseBooleanText, parseDuration,
  isHostName, parseHostPort, parseSize, splitList, type HostPort,
} from './values.ts';

export interface ValueContext {
  /** Relative paths are resolved against this directory (the config file's, or the cwd). */
  baseDir: string;
}

export interface Field<T> {
  readonly kind: 'field';
  /** Type as shown in docs/configuration.md. */
  readonly type: string;
  readonly doc: string;
  /** The default as written in TOML, for the docs. */
  readonly defaultText: string;
  /** False for tables (tls.sni, queue.routes), which only the file can set. */
  readonly envSettable: boolean;
  defaultValue(ctx: ValueContext): T;
  fromToml(value: unknown, ctx: ValueContext): T;
  fromEnv(text: string, ctx: ValueContext): T;
}

export interface Section<F extends Record<string, Field<unknown>>> {
  readonly kind: 'section';
  readonly doc: string;
  readonly fields: F;
}

export type SchemaEntry = Field<unknown> | Section<Record<string, Field<unknown>>>;

type InferEntry<E> = E extends Field<infer T> ? T : E extends Section<infer F> ? { readonly [K in keyof F]: InferEntry<F[K]> } : never;
export type Infer<S extends Record<string, SchemaEntry>> = { readonly [K in keyof S]: InferEntry<S[K]> };

export function section<F extends Record<string, Field<unknown>>>(doc: string, fields: F): Section<F> {
  return { kind: 'section', doc, fields };
}

/** `messageSize` → `message_size`: config keys equal code paths. */
export function snakeCase(name: string): string {
  return name.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`);
}

function field<T>(spec: Omit<Field<T>, 'kind' | 'envSettable' | 'fromEnv'> & { envSettable?: boolean; fromEnv?: Field<T>['fromEnv'] }): Field<T> {
  return {
    kind: 'field',
    envSettable: spec.envSettable ?? true,
    fromEnv: spec.fromEnv ?? ((text, ctx) => spec.fromToml(text, ctx)),
    ...spec,
  };
}

const q = (s: string): string => JSON.stringify(s);

export function stringField(opts: { default: string | (() => string); doc: string; defaultText?: string; check?: (s: string) => string | null }): Field<string> {
  const read = (value: unknown): string => {
    if (typeof value !== 'string') throw new ValueError(`expected a string, got ${describe(value)}`);
    const problem = opts.check?.(value);
    if (problem) throw new ValueError(problem);
    return value;
  };
  return field({
    type: 'string',
    doc: opts.doc,
    defaultText: opts.defaultText ?? (typeof opts.default === 'string' ? q(opts.default) : ''),
    defaultValue: () => (typeof opts.default === 'string' ? opts.default : opts.default()),
    fromToml: read,
  });
}

export function enumField<const V extends readonly string[]>(values: V, opts: { default: V[number]; doc: string }): Field<V[number]> {
  const read = (value: unknown): V[number] => {
    if (typeof value === 'string' && (values as readonly string[]).includes(value)) return value;
    throw new ValueError(`expected one of ${values.map(q).join(', ')}, got ${describe(value)}`);
  };
  return field({ type: values.map(q).join(' | '), doc: opts.doc, defaultText: q(opts.default), defaultValue: () => opts.default, fromToml: read });
}

export function integerField(opts: { default: number; doc: string; min?: number; max?: number }): Field<number> {
  const min = opts.min ?? 0;
  const max = opts.max ?? Number.MAX_SAFE_INTEGER;
  const read = (value: unknown): number => {
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n === 'number' && Number.isSafeInteger(n) && n >= min && n <= max) return n;
    throw new ValueError(`expected an integer from ${min} to ${max}, got ${describe(value)}`);
  };
  return field({
    type: 'integer', doc: opts.doc, defaultText: String(opts.default), defaultValue: () => opts.default, fromToml: read,
    fromEnv: (text) => read(/^\s*-?\d+\s*$/.test(text) ? Number(text) : text),
  });
}

/** A float; TOML's `inf` is allowed (used to switch a threshold off). */
export function numberField(opts: { default: number; doc: string }): Field<number> {
  const read = (value: unknown): number => {
    const n = typeof value === 'bigint' ? Number(value) : value;
    if (typeof n === 'number' && !Number.isNaN(n)) return n;
    throw new ValueError(`expected a number, got ${describe(value)}`);
  };
  return field({
    type: 'number', doc: opts.doc, defaultText: String(opts.default), defaultValue: () => opts.default, fromToml: read,
    fromEnv: (text) => read(/^\s*inf\s*$/i.test(text) ? Infinity : text.trim() === '' ? text : Number(text)),
  });
}

export function booleanField(opts: { default: boolean; doc: string }): Field<boolean> {
  const read = (value: unknown): boolean => {
    if (typeof value === 'boolean') return value;
    throw new ValueError(`expected true or false, got ${describe(value)}`);
  };
  return field({ type: 'boolean', doc: opts.doc, defaultText: String(opts.default), defaultValue: () => opts.default, fromToml: read, fromEnv: parseBooleanText });
}

export function sizeField(opts: { default: number; doc: string }): Field<number> {
  return field({
    type: 'size', doc: opts.doc, defaultText: q(formatSize(opts.default)), defaultValue: () => opts.default, fromToml: parseSize,
    fromEnv: (text) => parseSize(/^\s*\d+\s*$/.test(text) ? Number(text) : text),
  });
}

/** A duration in milliseconds, at most `max` when given. With `canDisable`, "" gives null (switched off). */
export function durationField(opts: { default: string; doc: string; max?: string }): Field<number>;
export function durationField(opts: { default: string; doc: string; max?: string; canDisable: true }): Field<number | null>;
export function durationField(opts: { default: string; doc: string; max?: string; canDisable?: boolean }): Field<number | null> {
  const max = opts.max === undefined ? null : parseDuration(opts.max);
  const read = (value: unknown): number | null => {
    if (opts.canDisable && value === '') return null;
    const ms = parseDuration(value);
    if (max !== null && ms > max) throw new ValueError(`expected a duration of at most ${opts.max}, got ${describe(value)}`);
    return ms;
  };
  return field({
    type: opts.canDisable ? 'duration or ""' : 'duration', doc: opts.doc, defaultText: q(opts.default),
    defaultValue: () => read(opts.default), fromToml: read,
  });
}

export function durationListField(opts: { default: string[]; doc: string }): Field<number[]> {
  const read = (value: unknown): number[] => {
    if (!Array.isArray(value) || value.length === 0) throw new ValueError(`expected a non-empty array of durations such as ["1m", "5m"], got ${describe(value)}`);
    return value.map(parseDuration);
  };
  return field({
    type: 'array of durations', doc: opts.doc, defaultText: `[${opts.default.map(q).join(', ')}]`,
    defaultValue: () => read(opts.default), fromToml: read, fromEnv: (text) => read(splitList(text)),
  });
}

export function stringListField(opts: { default: string[]; doc: string; check?: (s: string) => string | null }): Field<string[]> {
  const read = (value: unknown): string[] => {
    if (!Array.isArray(value)) throw new ValueError(`expected an array of strings, got ${describe(value)}`);
    return value.map((item) => {
      if (typeof item !== 'string') throw new ValueError(`expected an array of strings, got an element ${describe(item)}`);
      const problem = opts.check?.(item);
      if (problem) throw new ValueError(problem);
      return item;
    });
  };
  return field({
    type: 'array of strings', doc: opts.doc, defaultText: `[${opts.default.map(q).join(', ')}]`,
    defaultValue: () => [...opts.default], fromToml: read, fromEnv: (text) => read(splitList(text)),
  });
}

/** A listener address; "" or false switches the listener off (null). */
export function listenField(opts: { default: string; doc: string }): Field<HostPort | null> {
  const read = (value: unknown): HostPort | null => (value === '' || value === false ? null : parseHostPort(value));
  return field({
    type: '"host:port" or "" / false', doc: opts.doc, defaultText: q(opts.default), defaultValue: () => read(opts.default), fromToml: read,
    fromEnv: (text) => read(text.trim().toLowerCase() === 'false' ? '' : text),
  });
}

/** "host" or "host:port" (port defaults to `defaultPort`), or "" for none (null). */
export function hostPortField(opts: { default: string; doc: string; defaultPort: number }): Field<HostPort | null> {
  const read = (value: unknown): HostPort | null => (value === '' ? null : parseHostPort(value, { defaultPort: opts.defaultPort }));
  return field({ type: '"host[:port]" or ""', doc: opts.doc, defaultText: q(opts.default), defaultValue: () => read(opts.default), fromToml: read });
}

function readPath(value: unknown, ctx: ValueContext): string {
  if (typeof value !== 'string' || value === '') throw new ValueError(`expected a file or directory path, got ${describe(value)}`);
  return resolve(ctx.baseDir, value);
}

/** A path, resolved against the config file's directory (or the cwd when there is no file). */
export function pathField(opts: { default: string; doc: string }): Field<string> {
  return field({ type: 'path', doc: opts.doc, defaultText: q(opts.default), defaultValue: (ctx) => readPath(opts.default, ctx), fromToml: readPath });
}

/** An optional path: "" or absent gives null. */
export function optionalPathField(opts: { doc: string }): Field<string | null> {
  const read = (value: unknown, ctx: ValueContext): string | null => (value === '' ? null : readPath(value, ctx));
  return field({ type: 'path or ""', doc: opts.doc, defaultText: '""', defaultValue: () => null, fromToml: read });
}

function readTable(value: unknown): Record<string, unknown> {
  if (value === null || typeof value !== 'object' || Array.isArray(value) || value instanceof Date) {
    throw new ValueError(`expected a table, got ${describe(value)}`);
  }
  return value as Record<string, unknown>;
}

function readDomainKey(key: string): string {
  const domain = key.toLowerCase().replace(/\.$/, '');
  if (!/^[a-z0-9_-]+(\.[a-z0-9_-]+)+$/.test(domain)) throw new ValueError(`expected a domain name as key, got ${q(key)}`);
  return domain;
}

/**
 * Table of domain → value. Errors inside an entry are thrown as `NestedValueError` so that the loader can
 * name the full key path.
 */
export class NestedValueError extends ValueError {
  constructor(readonly subPath: string[], message: string) {
    super(message);
  }
}

function domainTable<T>(value: unknown, readEntry: (v: unknown) => T): Record<string, T> {
  const table = readTable(value);
  const out: Record<string, T> = {};
  for (const [key, entry] of Object.entries(table)) {
    try {
      out[readDomainKey(key)] = readEntry(entry);
    } catch (err) {
      if (err instanceof NestedValueError) throw new NestedValueError([key, ...err.subPath], err.message);
      if (err instanceof ValueError) throw new NestedValueError([key], err.message);
      throw err;
    }
  }
  return out;
}

export interface CertificatePaths {
  cert: string;
  key: string;
}

/** `[tls.sni."example.org"] cert = ..., key = ...`: per-domain certificates chosen by SNI. */
export function sniTableField(opts: { doc: string }): Field<Record<string, CertificatePaths>> {
  const read = (value: unknown, ctx: ValueContext): Record<string, CertificatePaths> =>
    domainTable(value, (entry) => {
      const t = readTable(entry);
      for (const k of Object.keys(t)) if (k !== 'cert' && k !== 'key') throw new NestedValueError([k], 'unknown key (expected cert and key)');
      if (t.cert === undefined) throw new NestedValueError(['cert'], 'missing (both cert and key are required)');
      if (t.key === undefined) throw new NestedValueError(['key'], 'missing (both cert and key are required)');
      let cert: string;
      try { cert = readPath(t.cert, ctx); } catch (err) { throw new NestedValueError(['cert'], (err as Error).message); }
      try { return { cert, key: readPath(t.key, ctx) }; } catch (err) { throw new NestedValueError(['key'], (err as Error).message); }
    });
  return field({
    type: 'table: domain → { cert, key }', doc: opts.doc, defaultText: '{}', envSettable: false, defaultValue: () => ({}), fromToml: read,
    fromEnv: () => { throw new ValueError('cannot be set from the environment'); },
  });
}

/** `[queue.routes] "example.org" = "mx.example.org:2525"`: per-domain next hops (like Postfix transport_maps). */
export function routeTableField(opts: { doc: string; defaultPort: number }): Field<Record<string, HostPort>> {
  const read = (value: unknown): Record<string, HostPort> => domainTable(value, (entry) => parseHostPort(entry, { defaultPort: opts.defaultPort }));
  return field({
    type: 'table: domain → "host[:port]"', doc: opts.doc, defaultText: '{}', envSettable: false, defaultValue: () => ({}), fromToml: read,
    fromEnv: () => { throw new ValueError('cannot be set from the environment'); },
  });
}

/** Flags a domain may override: code name (camelCase) → doc text. TOML keys are their snake_case forms. */
export type DomainFlagSpec = Record<string, string>;

/**
 * `[policy.domains."example.org"] spam_filter = false`: per-domain boolean overrides. Every flag is optional
 * (a missing one keeps the section's setting); unknown keys are refused with their path.
 */
export function domainFlagsTableField<const S extends DomainFlagSpec>(flags: S, opts: { doc: string }): Field<Record<string, { readonly [K in keyof S]?: boolean }>> {
  const byToml = new Map(Object.keys(flags).map((name) => [snakeCase(name), name]));
  const expected = [...byToml.keys()].join(', ');
  const read = (value: unknown): Record<string, { [K in keyof S]?: boolean }> =>
    domainTable(value, (entry) => {
      const t = readTable(entry);
      const out: Record<string, boolean> = {};
      for (const [k, v] of Object.entries(t)) {
        const name = byToml.get(k);
        if (name === undefined) throw new NestedValueError([k], `unknown key (expected ${expected})`);
        if (typeof v !== 'boolean') throw new NestedValueError([k], `expected true or false, got ${describe(v)}`);
        out[name] = v;
      }
      return out as { [K in keyof S]?: boolean };
    });
  return field({
    type: `table: domain → { ${expected} }`,
    doc: [opts.doc, ...Object.entries(flags).map(([name, doc]) => `\`${snakeCase(name)}\`: ${doc}`)].join(' '), defaultText: '{}', envSettable: false, defaultValue: () => ({}), fromToml: read,
    fromEnv: () => { throw new ValueError('cannot be set from the environment'); },
  });
}

/** An IP address or a CIDR block ("192.0.2.0/24", "2001:db8::/32"). */
export function checkIpOrCidr(text: string): string | null {
  const slash = text.indexOf('/');
  const ip = slash < 0 ? text : text.slice(0, slash);
  const family = isIP(ip);
  if (family !== 0) {
    if (slash < 0) return null;
    const bits = text.slice(slash + 1);
    if (/^\d{1,3}$/.test(bits) && Number(bits) <= (family === 4 ? 32 : 128)) return null;
  }
  return `expected an IP address or CIDR block ("192.0.2.1", "198.51.100.0/24", "2001:db8::/32"), got ${q(text)}`;
}

/** An IP address, a CIDR block or a domain name (".example.org" too: the leading dot is allowed). */
export function checkIpCidrOrDomain(text: string): string | null {
  if (checkIpOrCidr(text) === null) return null;
  const domain = text.replace(/^\./, '').replace(/\.$/, '');
  if (!text.includes('/') && isIP(domain) === 0 && domain.includes('.') && !/\.\d+$/.test(domain) && isHostName(domain)) return null;
  return `expected an IP address, CIDR block or domain name ("192.0.2.1", "198.51.100.0/24", "example.org"), got ${q(text)}`;
}

/** A DNS zone name such as a block list's ("zen.spamhaus.org"). */
export function checkZoneName(text: string): string | null {
  const zone = text.replace(/\.$/, '');
  if (zone.includes('.') && isIP(zone) === 0 && isHostName(zone)) return null;
  return `expected a DNS zone name such as "list.dnswl.org", got ${q(text)}`;
}

/** DNS server: an IP address with an optional port ("127.0.0.1:5353", "[::1]:53"). */
export function checkDnsServer(text: string): string | null {
  if (isIP(text) !== 0) return null;
  try {
    const hp = parseHostPort(text);
    if (isIP(hp.host) !== 0) return null;
  } catch { /* fall through */ }
  return `expected an IP address with optional port ("192.0.2.53", "127.0.0.1:5353", "[::1]:53"), got ${q(text)}`;
}

export { formatHostPort, formatDuration, formatSize };
