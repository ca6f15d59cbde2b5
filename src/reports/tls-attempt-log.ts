/**
 * TLS-RPT's raw material: every outbound TLS negotiation appended as one JSON line to a file per UTC day
 * (data_dir/reports/tls-YYYY-MM-DD.jsonl, 0600). One small append per connection, no fsync: a crash of the
 * process loses nothing written, a power loss at most the last lines of the day (the report is statistics).
 */
import { appendFile, mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/log.ts';
import type { TlsAttempt, TlsAttemptRecorder } from '../outbound-tls/attempt.ts';

export function utcDay(ms: number): string {
  return new Date(ms).toISOString().slice(0, 10);
}

export class TlsAttemptLog implements TlsAttemptRecorder {
  readonly #dir: string;
  readonly #logger: Logger;
  #chain: Promise<void> = Promise.resolve();
  #madeDir = false;

  constructor(options: { dir: string; logger: Logger }) {
    this.#dir = options.dir;
    this.#logger = options.logger;
  }

  record(attempt: TlsAttempt): void {
    const line = JSON.stringify(attempt) + '\n';
    const file = join(this.#dir, `tls-${utcDay(attempt.at)}.jsonl`);
    this.#chain = this.#chain.then(async () => {
      if (!this.#madeDir) {
        await mkdir(this.#dir, { recursive: true, mode: 0o700 });
        this.#madeDir = true;
      }
      await appendFile(file, line, { mode: 0o600 });
    }).catch((err: unknown) => this.#logger.error({ event: 'tlsrpt.record_failed', file, err }, 'could not record a TLS result'));
  }

  /** Resolves when every record() so far is written (tests, shutdown). */
  flush(): Promise<void> {
    return this.#chain;
  }

  /** Days with results not yet reported, oldest first, before `today`. */
  async pendingDays(today: string): Promise<string[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    return names.map((n) => /^tls-(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(n)?.[1]).filter((d): d is string => Boolean(d) && d! < today).sort();
  }

  async read(day: string): Promise<TlsAttempt[]> {
    const text = await readFile(join(this.#dir, `tls-${day}.jsonl`), 'utf8').catch(() => '');
    return text.split('\n').filter((l) => l.trim() !== '').flatMap((l) => {
      try {
        return [JSON.parse(l) as TlsAttempt];
      } catch {
        return []; // a line cut short by a power loss
      }
    });
  }

  /** Marks a day reported: its file is kept (renamed) for the operator, and never sent twice. */
  async markReported(day: string): Promise<void> {
    await rename(join(this.#dir, `tls-${day}.jsonl`), join(this.#dir, `tls-${day}.reported.jsonl`));
  }
}
