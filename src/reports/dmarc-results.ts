/**
 * DMARC results of the mail we receive, for the aggregate reports of RFC 7489 §7.2: counted in memory per
 * (day, From domain, source IP, results) and appended to data_dir/reports/dmarc-YYYY-MM-DD.jsonl once a
 * minute, so a message costs a map update and no write of its own (a crash loses at most that minute).
 */
import { appendFile, mkdir, readFile, readdir, rename } from 'node:fs/promises';
import { join } from 'node:path';
import type { Logger } from '../core/log.ts';
import { isRelaxedAligned } from '../policy/org-domain.ts';
import type { InboundAuthResult } from '../policy/inbound-auth.ts';
import type { DmarcRow } from './dmarc-format.ts';
import { utcDay } from './tls-attempt-log.ts';

export interface DmarcResultRow extends DmarcRow {
  /** The RFC5322.From domain whose policy applied. */
  domain: string;
}

export class DmarcResults {
  readonly #dir: string;
  readonly #logger: Logger;
  readonly #pending = new Map<string, { day: string; row: DmarcResultRow }>();
  #timer: NodeJS.Timeout | null = null;
  #chain: Promise<void> = Promise.resolve();

  constructor(options: { dir: string; logger: Logger; flushIntervalMs?: number }) {
    this.#dir = options.dir;
    this.#logger = options.logger;
    this.#timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? 60_000);
    this.#timer.unref();
  }

  /** One received message whose From domain publishes DMARC; `disposition` is what we did with it. */
  record(input: { ip: string; sender: string; auth: InboundAuthResult; disposition: 'none' | 'quarantine' | 'reject'; at?: number }): void {
    const { auth } = input;
    if (!auth.dmarc.domain || auth.dmarc.published === null) return;
    const aligned = (ok: boolean): string => (ok ? 'pass' : 'fail');
    const headerFrom = (auth.dmarc.fromDomain || auth.dmarc.domain).toLowerCase();
    const row: DmarcResultRow = {
      domain: headerFrom,
      sourceIp: input.ip,
      count: 1,
      disposition: input.disposition,
      // RFC 7489 §7.2.1.1 policy_evaluated: the DMARC-aligned outcome of each mechanism.
      dkim: aligned(auth.dkim.some((d) => d.result === 'pass' && d.aligned)),
      spf: aligned(auth.spf.result === 'pass' && isAlignedSpf(auth)),
      headerFrom,
      envelopeFrom: input.sender.includes('@') ? input.sender.slice(input.sender.lastIndexOf('@') + 1).toLowerCase() : '',
      authDkim: auth.dkim.map((d) => ({ domain: d.domain, selector: d.selector, result: d.result })),
      authSpf: [{ domain: auth.spf.domain, result: auth.spf.result }],
    };
    const day = utcDay(input.at ?? Date.now());
    const key = JSON.stringify([day, row.domain, row.sourceIp, row.disposition, row.dkim, row.spf, row.envelopeFrom, row.authDkim, row.authSpf]);
    const hit = this.#pending.get(key);
    if (hit) hit.row.count++;
    else this.#pending.set(key, { day, row });
  }

  /** Appends what was counted since the last flush. */
  flush(): Promise<void> {
    if (this.#pending.size === 0) return this.#chain;
    const byDay = new Map<string, string>();
    for (const { day, row } of this.#pending.values()) byDay.set(day, (byDay.get(day) ?? '') + JSON.stringify(row) + '\n');
    this.#pending.clear();
    this.#chain = this.#chain.then(async () => {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      for (const [day, lines] of byDay) await appendFile(join(this.#dir, `dmarc-${day}.jsonl`), lines, { mode: 0o600 });
    }).catch((err: unknown) => this.#logger.error({ event: 'dmarc.record_failed', err }, 'could not record DMARC results'));
    return this.#chain;
  }

  async pendingDays(today: string): Promise<string[]> {
    const names = await readdir(this.#dir).catch(() => [] as string[]);
    return names.map((n) => /^dmarc-(\d{4}-\d{2}-\d{2})\.jsonl$/.exec(n)?.[1]).filter((d): d is string => Boolean(d) && d! < today).sort();
  }

  /** The day's rows with equal keys summed. */
  async read(day: string): Promise<DmarcResultRow[]> {
    const text = await readFile(join(this.#dir, `dmarc-${day}.jsonl`), 'utf8').catch(() => '');
    const merged = new Map<string, DmarcResultRow>();
    for (const line of text.split('\n')) {
      if (!line.trim()) continue;
      let row: DmarcResultRow;
      try {
        row = JSON.parse(line) as DmarcResultRow;
      } catch {
        continue;
      }
      const { count, ...rest } = row;
      const key = JSON.stringify(rest);
      const hit = merged.get(key);
      if (hit) hit.count += count;
      else merged.set(key, row);
    }
    return [...merged.values()];
  }

  async markReported(day: string): Promise<void> {
    await rename(join(this.#dir, `dmarc-${day}.jsonl`), join(this.#dir, `dmarc-${day}.reported.jsonl`));
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = null;
  }
}

/** SPF is DMARC-aligned when the SPF domain shares the From domain's organizational domain (relaxed, RFC 7489 §3.1.2). */
function isAlignedSpf(auth: InboundAuthResult): boolean {
  return isRelaxedAligned(auth.spf.domain, auth.dmarc.fromDomain || auth.dmarc.domain);
}
