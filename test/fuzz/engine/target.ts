/**
 * What a fuzz target is: a name, seeds and dictionary tokens for the mutator, and a `run` that feeds
 * one input to the code under test and throws when a property is broken. Shared by the coverage-guided
 * long run (`npm run fuzz`) and the short corpus replay inside `npm test`.
 */
export interface FuzzTarget {
  name: string;
  /** Protocol tokens the mutator inserts (commands, boundaries, header names, CRLF.CRLF...). */
  dictionary: readonly string[];
  /** Starting inputs besides the committed corpus (test/fuzz/corpus/<name>/). */
  seeds: readonly string[];
  /** Longest input the mutator produces. */
  maxLength?: number;
  /** One execution. Throwing (an exception escaping the code, or a failed assertion) is a crash. */
  run(data: Buffer): void | Promise<void>;
}

/** Loads a target lazily; resolves to null while the module it needs has not landed yet. */
export type TargetLoader = () => Promise<FuzzTarget | null>;
