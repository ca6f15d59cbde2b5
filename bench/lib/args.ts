/**
 * The command line of a bench script: `--name value` options and `--name` switches, read the same way by every
 * bench file (an option without a value, or not given, takes its default).
 */
export interface BenchArgs {
  /** The arguments after the script's name, for helpers that read their own options (e.g. imaptest's). */
  readonly list: readonly string[];
  text(name: string, fallback: string): string;
  number(name: string, fallback: number): number;
  /** Whether `--name` was given. */
  flag(name: string): boolean;
}

export function benchArgs(list: readonly string[] = process.argv.slice(2)): BenchArgs {
  const value = (name: string): string | undefined => {
    const i = list.indexOf(`--${name}`);
    return i >= 0 && list[i + 1] ? list[i + 1] : undefined;
  };
  return {
    list,
    text: (name, fallback) => value(name) ?? fallback,
    number: (name, fallback) => {
      const given = value(name);
      return given === undefined ? fallback : Number(given);
    },
    flag: (name) => list.includes(`--${name}`),
  };
}
