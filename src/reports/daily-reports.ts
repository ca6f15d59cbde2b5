/**
 * The once-a-day sending of aggregate reports: every hour (and a minute after start) any finished UTC day not
 * yet reported is sent; a day's results are kept on disk until then, so a restart or a down hour loses nothing.
 */
import type { Logger } from '../core/log.ts';
import { utcDay } from './tls-attempt-log.ts';

export interface DailyReporter {
  readonly name: string;
  sendPending(today: string): Promise<void>;
  /** Writes what is held in memory (called before stop). */
  flush?(): Promise<void>;
  /** Background work of the reporter's own (retries), started and stopped with the daily timer. */
  start?(): void;
  stop?(): Promise<void>;
}

export class DailyReports {
  readonly #reporters: DailyReporter[];
  readonly #logger: Logger;
  readonly #intervalMs: number;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(options: { reporters: DailyReporter[]; logger: Logger; intervalMs?: number }) {
    this.#reporters = options.reporters;
    this.#logger = options.logger;
    this.#intervalMs = options.intervalMs ?? 3_600_000;
  }

  start(): void {
    if (this.#reporters.length === 0 || this.#timer) return;
    for (const r of this.#reporters) r.start?.();
    const tick = (delay: number): void => {
      this.#timer = setTimeout(() => {
        this.#running = this.runOnce(utcDay(Date.now())).finally(() => {
          this.#running = null;
          if (this.#timer) tick(this.#intervalMs);
        });
      }, delay);
      this.#timer.unref();
    };
    tick(60_000);
  }

  /** Sends what is pending before `today` (the timer calls it; tests and the CLI may too). */
  async runOnce(today: string): Promise<void> {
    for (const r of this.#reporters) {
      try {
        await r.flush?.();
        await r.sendPending(today);
      } catch (err) {
        this.#logger.error({ event: 'reports.failed', report: r.name, err }, 'sending aggregate reports failed');
      }
    }
  }

  async stop(): Promise<void> {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = null;
    await this.#running;
    for (const r of this.#reporters) {
      await r.flush?.().catch(() => undefined);
      await r.stop?.().catch(() => undefined);
    }
  }
}
