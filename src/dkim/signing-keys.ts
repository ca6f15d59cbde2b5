/**
 * The DKIM keys the server signs with. A pending key (made by `postamt dkim generate`) starts signing once
 * its TXT record is seen in DNS: when a domain is about to sign, its pending keys are looked up in the
 * background (each at most once per interval) and a key whose published p= matches is activated.
 */
import type { Logger } from '../core/log.ts';
import type { ManagedDkimKeys } from './file-key-store.ts';
import type { Resolver } from '../dns/resolver.ts';
import type { DkimKey } from '../policy/types.ts';

export interface SigningKeysOptions {
  keys: ManagedDkimKeys;
  resolver: Pick<Resolver, 'txt'>;
  logger: Logger;
  /** How long after a look-up that did not find the record a pending key is looked up again. */
  recheckMs?: number;
  now?: () => number;
}

/** The p= value of a DKIM key record (RFC 6376 §3.6.1), without the white space it may be folded with. */
export function publishedKey(record: string): string | null {
  for (const part of record.split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === 'p') return part.slice(eq + 1).replace(/\s+/g, '');
  }
  return null;
}

/** Whether DNS publishes this key at selector._domainkey.domain. */
export async function isPublished(resolver: Pick<Resolver, 'txt'>, key: Pick<DkimKey, 'domain' | 'selector' | 'publicKeyB64'>): Promise<boolean> {
  const records = await resolver.txt(`${key.selector}._domainkey.${key.domain}`).catch(() => [] as string[][]);
  return records.some((strings) => publishedKey(strings.join('')) === key.publicKeyB64);
}

export class SigningKeys {
  readonly #o: SigningKeysOptions;
  readonly #checked = new Map<string, number>();
  readonly #running = new Set<string>();

  constructor(options: SigningKeysOptions) {
    this.#o = options;
  }

  /** The keys that sign for `domain` now; pending keys of the domain are looked up for next time. */
  async activeKeys(domain: string): Promise<DkimKey[]> {
    const all = await this.#o.keys.listKeys(domain);
    if (all.some((k) => k.pending)) void this.#activatePublished(domain, all.filter((k) => k.pending));
    return this.#o.keys.activeKeys(domain);
  }

  /** Looks up the pending keys of a domain and activates those whose record is published. */
  async #activatePublished(domain: string, pending: DkimKey[]): Promise<void> {
    if (this.#running.has(domain)) return;
    this.#running.add(domain);
    const now = (this.#o.now ?? Date.now)();
    try {
      for (const key of pending) {
        const id = `${key.domain}/${key.selector}`;
        if (now - (this.#checked.get(id) ?? -Infinity) < (this.#o.recheckMs ?? 300_000)) continue;
        this.#checked.set(id, now);
        if (!(await isPublished(this.#o.resolver, key))) continue;
        await this.#o.keys.setActive(key.domain, key.selector, true);
        this.#checked.delete(id);
        this.#o.logger.info({ event: 'dkim.activated', domain: key.domain, selector: key.selector, algorithm: key.algorithm, via: 'dns' }, 'DKIM key record found in DNS: the key signs from now on');
      }
    } catch (err) {
      this.#o.logger.warn({ event: 'dkim.activation_failed', domain, err }, 'checking pending DKIM keys failed');
    } finally {
      this.#running.delete(domain);
    }
  }
}
