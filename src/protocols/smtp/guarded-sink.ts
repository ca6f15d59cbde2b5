/**
 * Wraps the app's MessageSink so the engine never throws because of it: writes after a failure or an
 * abort are dropped, abort is idempotent, and a failed write is remembered (answered 451 4.3.0 at the end).
 */
import type { MessageSink, Verdict } from './hooks.ts';

export class GuardedSink implements MessageSink {
  private readonly inner: MessageSink;
  private readonly report: (where: string, err: unknown) => void;
  private done = false;
  /** A write threw: the message cannot be committed. */
  failed = false;

  constructor(inner: MessageSink, report: (where: string, err: unknown) => void) {
    this.inner = inner;
    this.report = report;
  }

  write(chunk: Buffer): void {
    if (this.done || this.failed) return;
    try {
      this.inner.write(chunk);
    } catch (err) {
      this.failed = true;
      this.report('sink.write', err);
    }
  }

  commit(): Promise<Verdict> {
    this.done = true;
    return this.inner.commit();
  }

  abort(): void {
    if (this.done) return;
    this.done = true;
    try {
      this.inner.abort();
    } catch (err) {
      this.report('sink.abort', err);
    }
  }
}
