/**
 * An APPEND message counted against the server-wide budget for bytes in transit: its announced size is
 * taken when the literal is accepted and given back once, when the message is committed or dropped.
 */
import type { ImapAppendSink } from './backend.ts';

/** The budget as the engine sees it (the app's InflightBudget). */
export interface InflightBytes {
  take(bytes: number): boolean;
  give(bytes: number): void;
}

/**
 * Makes `sink` give `bytes` back to `budget` on its first commit or abort. The sink object itself is kept
 * (its methods are wrapped in place, not in a new object): MULTIAPPEND hands the backend's own sinks back
 * to it for one commit, and the backend finds them by identity.
 */
export function holdInflight(sink: ImapAppendSink, budget: InflightBytes, bytes: number): ImapAppendSink {
  let held = bytes;
  const release = (): void => {
    budget.give(held);
    held = 0;
  };
  const commit = sink.commit.bind(sink);
  const abort = sink.abort.bind(sink);
  sink.commit = async (target) => {
    try {
      return await commit(target);
    } finally {
      release();
    }
  };
  sink.abort = () => {
    try {
      abort();
    } finally {
      release();
    }
  };
  return sink;
}
