/**
 * TLS-RPT reports waiting for their `https:` rua (RFC 8460 §5.4): each kept as a file in
 * data_dir/reports/https-outbox (0600) until a POST is answered 2xx, retried on the queue's retry schedule and
 * dropped (logged) after queue.max_age, as mail would bounce. Posting runs off the delivery path, once per report.
 */
import { randomBytes } from 'node:crypto';
import { mkdir, readFile, readdir, rename, unlink, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/log.ts';
import type { PostResult } from './https-report-post.ts';

interface OutboxEntry {
  id: string;
  url: string;
  domain: string;
  reportId: string;
  attempts: number;
  firstAt: number;
  nextAt: number;
  lastError: string | null;
  body: string;
}

export interface HttpsReportOutboxOptions {
  dir: string;
  logger: Logger;
  post: (url: string, body: Buffer) => Promise<PostResult>;
  /** Delays between attempts; the last repeats (queue.retry_schedule). */
  retryScheduleMs: number[];
  /** Given up after this long (queue.max_age). */
  maxAgeMs: number;
  /** How often due reports are looked for. */
  intervalMs?: number;
}

export class HttpsReportOutbox {
  readonly #o: HttpsReportOutboxOptions;
  #timer: NodeJS.Timeout | null = null;
  #running: Promise<void> | null = null;

  constructor(options: HttpsReportOutboxOptions) {
    this.#o = options;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.runDue(Date.now()), this.#o.intervalMs ?? 60_000);
    this.#timer.unref();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
    await this.#running;
  }

  /** Keeps the report durably, then makes the first attempt; resolves once that attempt is over. */
  async add(input: { url: string; domain: string; reportId: string; body: Buffer; now?: number }): Promise<string> {
    const now = input.now ?? Date.now();
    const entry: OutboxEntry = { id: `${now}-${randomBytes(6).toString('hex')}`, url: input.url, domain: input.domain, reportId: input.reportId, attempts: 0, firstAt: now, nextAt: now, lastError: null, body: input.body.toString('base64') };
    await this.#write(entry);
    await this.#attempt(entry, now);
    return entry.id;
  }

  /** Reports still waiting (the operator and tests). */
  async pending(): Promise<{ id: string; url: string; domain: string; attempts: number; nextAt: number; lastError: string | null }[]> {
    return (await this.#entries()).map(({ id, url, domain, attempts, nextAt, lastError }) => ({ id, url, domain, attempts, nextAt, lastError }));
  }

  /** Tries every report whose next attempt is due at `now`. */
  runDue(now: number): Promise<void> {
    this.#running ??= (async () => {
      try {
        for (const entry of await this.#entries()) if (entry.nextAt <= now) await this.#attempt(entry, now);
      } catch (err) {
        this.#o.logger.error({ event: 'reports.failed', report: 'tlsrpt-https', err }, 'retrying TLS reports over https failed');
      } finally {
        this.#running = null;
      }
    })();
    return this.#running;
  }

  async #attempt(entry: OutboxEntry, now: number): Promise<void> {
    const result = await this.#o.post(entry.url, Buffer.from(entry.body, 'base64'));
    entry.attempts++;
    const log = { domain: entry.domain, url: entry.url, reportId: entry.reportId, attempts: entry.attempts };
    if (result.ok) {
      await unlink(this.#file(entry.id)).catch(() => undefined);
      this.#o.logger.info({ event: 'tlsrpt.posted', ...log, status: result.status }, 'TLS-RPT report posted');
      return;
    }
    entry.lastError = result.reason;
    if (now - entry.firstAt >= this.#o.maxAgeMs) {
      await unlink(this.#file(entry.id)).catch(() => undefined);
      this.#o.logger.warn({ event: 'tlsrpt.post_expired', ...log, reason: result.reason }, 'TLS-RPT report dropped: not accepted within queue.max_age');
      return;
    }
    const schedule = this.#o.retryScheduleMs.length ? this.#o.retryScheduleMs : [60_000];
    entry.nextAt = now + schedule[Math.min(entry.attempts - 1, schedule.length - 1)]!;
    await this.#write(entry);
    this.#o.logger.warn({ event: 'tlsrpt.post_failed', ...log, reason: result.reason, nextAt: new Date(entry.nextAt).toISOString() }, 'TLS-RPT report not accepted; will retry');
  }

  #file(id: string): string {
    return join(this.#o.dir, `${id}.json`);
  }

  async #write(entry: OutboxEntry): Promise<void> {
    await mkdir(this.#o.dir, { recursive: true, mode: 0o700 });
    // Written aside and renamed: a crash leaves the old entry or the new one, never half of one.
    const tmp = `${this.#file(entry.id)}.tmp`;
    await writeFile(tmp, JSON.stringify(entry), { mode: 0o600 });
    await rename(tmp, this.#file(entry.id));
  }

  async #entries(): Promise<OutboxEntry[]> {
    const names = (await readdir(this.#o.dir).catch(() => [] as string[])).filter((n) => n.endsWith('.json')).sort();
    const out: OutboxEntry[] = [];
    for (const name of names) {
      try {
        out.push(JSON.parse(await readFile(join(this.#o.dir, name), 'utf8')) as OutboxEntry);
      } catch {
        continue; // removed meanwhile, or damaged: skipped
      }
    }
    return out;
  }
}
