/**
 * Parsers and formatters for the value syntaxes the configuration uses: sizes ("25MB"), durations ("5m"),
 * "host:port" addresses (with "[::1]:2525" for IPv6). They throw `ValueError`; the loader adds key and line.
 */
import { isIP } from 'node:net';

/** A bad value; the message says what was expected. The loader wraps it into a ConfigError naming the key. */
export class ValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValueError';
  }
}

export interface HostPort {
  /** Host name or IP address; IPv6 without brackets. */
  host: string;
  port: number;
}

export function describe(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value)) return 'an array';
  if (value instanceof Date) return 'a date';
  if (value !== null && typeof value === 'object') return 'a table';
  return String(value);
}

const SIZE_UNITS: Record<string, number> = {
  b: 1,
  k: 1024, kb: 1024, kib: 1024,
  m: 1024 ** 2, mb: 1024 ** 2, mib: 1024 ** 2,
  g: 1024 ** 3, gb: 1024 ** 3, gib: 1024 ** 3,
};

/** Sizes are integer bytes or a number with a binary unit: "512KB", "25MB", "1GB" (1KB = 1024 bytes). */
export function parseSize(value: unknown): number {
  if (typeof value === 'number' || typeof value === 'bigint') {
    const n = Number(value);
    if (Number.isSafeInteger(n) && n >= 0) return n;
    throw new ValueError(`expected a size (integer bytes >= 0, or "10MB", "512KB"), got ${describe(value)}`);
  }
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(value);
    const unit = m ? SIZE_UNITS[(m[2] || 'b').toLowerCase()] : undefined;
    if (m && unit !== undefined) {
      const n = Math.round(Number(m[1]) * unit);
      if (Number.isSafeInteger(n)) return n;
    }
  }
  throw new ValueError(`expected a size (integer bytes, or a number with unit B, KB, MB or GB such as "10MB"), got ${describe(value)}`);
}

export function formatSize(bytes: number): string {
  for (const [unit, factor] of [['GB', 1024 ** 3], ['MB', 1024 ** 2], ['KB', 1024]] as const) {
    if (bytes >= factor && bytes % factor === 0) return `${bytes / factor}${unit}`;
  }
  return String(bytes);
}

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** Durations are a number and a unit: "500ms", "30s", "5m", "1h", "5d"; the result is milliseconds. */
export function parseDuration(value: unknown): number {
  if (typeof value === 'string') {
    const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)\s*$/.exec(value);
    if (m) {
      const ms = Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
      if (Number.isSafeInteger(ms)) return ms;
    }
  }
  throw new ValueError(`expected a duration with a unit ("30s", "5m", "1h", "5d", "500ms"), got ${describe(value)}`);
}

export function formatDuration(ms: number): string {
  for (const [unit, factor] of [['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms >= factor && ms % factor === 0) return `${ms / factor}${unit}`;
  }
  return `${ms}ms`;
}

const HOSTNAME = /^(?=.{1,253}$)[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?(?:\.[a-zA-Z0-9_](?:[a-zA-Z0-9_-]{0,61}[a-zA-Z0-9_])?)*\.?$/;

export function isHostName(text: string): boolean {
  return HOSTNAME.test(text);
}

/**
 * "host:port", "[v6]:port"; with `defaultPort`, the port may be left out ("mx.example.org", "[::1]").
 */
export function parseHostPort(value: unknown, options: { defaultPort?: number } = {}): HostPort {
  const fail = (): never => {
    const form = options.defaultPort === undefined ? '"host:port" (IPv6 as "[::1]:2525")' : `"host" or "host:port" (IPv6 as "[::1]:25")`;
    throw new ValueError(`expected ${form}, got ${describe(value)}`);
  };
  if (typeof value !== 'string') return fail();
  let host: string;
  let portText: string | undefined;
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(value);
  if (v6) {
    host = v6[1]!;
    portText = v6[2];
    if (isIP(host) !== 6) return fail();
  } else {
    const m = /^([^:[\]\s]+)(?::(\d+))?$/.exec(value);
    if (!m) return fail();
    host = m[1]!;
    portText = m[2];
    if (isIP(host) === 0 && !isHostName(host)) return fail();
  }
  if (portText === undefined) {
    if (options.defaultPort === undefined) return fail();
    return { host, port: options.defaultPort };
  }
  const port = Number(portText);
  if (!Number.isInteger(port) || port < 0 || port > 65535) return fail();
  return { host, port };
}

export function formatHostPort(address: HostPort): string {
  return isIP(address.host) === 6 ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** Booleans from environment variables. */
export function parseBooleanText(text: string): boolean {
  const t = text.trim().toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(t)) return true;
  if (['false', '0', 'no', 'off'].includes(t)) return false;
  throw new ValueError(`expected true or false, got ${describe(text)}`);
}

/** Lists from environment variables: comma-separated, blanks dropped ("" is the empty list). */
export function splitList(text: string): string[] {
  return text.split(',').map((s) => s.trim()).filter((s) => s !== '');
}
