/**
 * MTA-STS policies cached with their max_age (RFC 8461 §5.1), in memory and in one 0600 JSON file per domain
 * under data_dir/mta-sts, so a restart keeps them: an attacker who strips the TXT record later gains nothing.
 */
import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { StsPolicy } from './mta-sts-policy.ts';

export interface CachedPolicy {
  domain: string;
  /** The TXT record's id the policy was fetched for. */
  id: string;
  policy: StsPolicy;
  fetchedAt: number;
  /** fetchedAt + max_age. */
  expiresAt: number;
}

export class StsPolicyCache {
  readonly #dir: string;
  readonly #memory = new Map<string, CachedPolicy | null>();

  constructor(options: { dir: string }) {
    this.#dir = options.dir;
  }

  #file(domain: string): string {
    return join(this.#dir, `${domain.replace(/[^a-z0-9.-]/gi, '_')}.json`);
  }

  /** The cached policy unless it outlived max_age. */
  get(domain: string, now: number): CachedPolicy | null {
    let entry = this.#memory.get(domain);
    if (entry === undefined) {
      try {
        entry = JSON.parse(readFileSync(this.#file(domain), 'utf8')) as CachedPolicy;
      } catch {
        entry = null;
      }
      this.#memory.set(domain, entry);
    }
    return entry && entry.expiresAt > now ? entry : null;
  }

  put(entry: CachedPolicy): void {
    this.#memory.set(entry.domain, entry);
    mkdirSync(this.#dir, { recursive: true, mode: 0o700 });
    const file = this.#file(entry.domain);
    const tmp = `${file}.tmp`;
    writeFileSync(tmp, JSON.stringify(entry), { mode: 0o600 });
    renameSync(tmp, file);
  }
}
