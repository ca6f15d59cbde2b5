/**
 * Block coverage for the in-process fuzzer, from V8's precise coverage through node:inspector
 * (Profiler.startPreciseCoverage with callCount + detailed). A "feature" is a source range of a
 * file under one of the watched roots, with its hit count bucketed as AFL does (1, 2, 3, 4-7, 8-15, ...).
 */
import { Session } from 'node:inspector';

interface CoverageRange {
  startOffset: number;
  endOffset: number;
  count: number;
}
interface ScriptCoverage {
  scriptId: string;
  url: string;
  functions: { functionName: string; ranges: CoverageRange[]; isBlockCoverage: boolean }[];
}

function bucket(count: number): number {
  if (count <= 3) return count;
  return 32 - Math.clz32(count); // 4-7 → 3+… distinct buckets per power of two
}

export class CoverageTracker {
  private readonly session = new Session();
  private readonly watched: (url: string) => boolean;

  constructor(options: { watch: (url: string) => boolean }) {
    this.watched = options.watch;
    this.session.connect();
    this.post('Profiler.enable');
    // callCount: true makes takePreciseCoverage reset the counters, so each take covers one execution.
    this.post('Profiler.startPreciseCoverage', { callCount: true, detailed: true });
  }

  private post(method: string, params?: object): unknown {
    // Same-thread inspector sessions answer synchronously: the callback runs before post() returns.
    let result: unknown;
    let failure: Error | null = null;
    this.session.post(method, params ?? {}, (error, value) => {
      failure = error;
      result = value;
    });
    if (failure) throw failure;
    return result;
  }

  /** Clears the counters (call before running an input). */
  reset(): void {
    this.post('Profiler.takePreciseCoverage');
  }

  /** The features hit since the last take, as compact strings. */
  take(): string[] {
    const { result } = this.post('Profiler.takePreciseCoverage') as { result: ScriptCoverage[] };
    const features: string[] = [];
    for (const script of result) {
      if (!this.watched(script.url)) continue;
      for (const fn of script.functions) {
        for (const range of fn.ranges) {
          if (range.count > 0) features.push(`${script.scriptId}:${range.startOffset}:${range.endOffset}:${bucket(range.count)}`);
        }
      }
    }
    return features;
  }

  close(): void {
    this.post('Profiler.stopPreciseCoverage');
    this.session.disconnect();
  }
}
