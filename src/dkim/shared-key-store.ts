/**
 * DKIM keys in the store's shared state (PostgreSQL), so every node signs with the same keys and a key
 * made, activated or retired on one node signs (or stops) on all. Same rules as the file store; each
 * node caches the keys per domain until the change feed says they changed.
 */
import { UsageError } from '../core/errors.ts';
import type { DkimAlgorithm, DkimKey, DkimKeyStore } from '../policy/types.ts';
import type { ChangeFeed, SharedStateStore } from '../store/types.ts';
import { checkDkimName } from './file-key-store.ts';

const NS = 'dkim';

interface StoredKey {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  publicKeyB64: string;
  privateKeyPem: string;
  createdAt: string;
  active: boolean;
  pending?: boolean;
}

function toKey(s: StoredKey): DkimKey {
  return { domain: s.domain, selector: s.selector, algorithm: s.algorithm, publicKeyB64: s.publicKeyB64, privateKeyPem: s.privateKeyPem, createdAt: new Date(s.createdAt), active: s.active, pending: s.pending === true };
}

export class SharedDkimKeyStore implements DkimKeyStore {
  readonly #shared: SharedStateStore;
  readonly #now: () => Date;
  #cache: Promise<StoredKey[]> | null = null;
  readonly #unsubscribe: () => void;

  constructor(options: { shared: SharedStateStore; feed: ChangeFeed; now?: () => Date }) {
    this.#shared = options.shared;
    this.#now = options.now ?? (() => new Date());
    this.#unsubscribe = options.feed.subscribe((change) => {
      if (change.kind === 'reset' || (change.kind === 'shared' && change.namespace === NS)) this.#cache = null;
    });
  }

  close(): void {
    this.#unsubscribe();
  }

  #all(): Promise<StoredKey[]> {
    if (!this.#cache) {
      const loading = this.#shared.listShared(NS).then((rows) => rows.map((r) => r.value as StoredKey));
      loading.catch(() => {
        if (this.#cache === loading) this.#cache = null;
      });
      this.#cache = loading;
    }
    return this.#cache;
  }

  async addKey(domain: string, selector: string, algorithm: DkimAlgorithm, privateKeyPem: string, publicKeyB64: string, options: { pending?: boolean } = {}): Promise<DkimKey> {
    const d = checkDkimName('domain', domain);
    const s = checkDkimName('selector', selector);
    if ((await this.#shared.getShared(NS, `${d}/${s}`)) !== undefined) throw new UsageError(`selector ${s} already exists for ${d}`);
    const stored: StoredKey = { domain: d, selector: s, algorithm, publicKeyB64, privateKeyPem, createdAt: this.#now().toISOString(), active: true, ...(options.pending ? { pending: true } : {}) };
    await this.#shared.putShared(NS, `${d}/${s}`, stored, { announce: true });
    this.#cache = null;
    return toKey(stored);
  }

  async listKeys(domain?: string): Promise<DkimKey[]> {
    const d = domain ? checkDkimName('domain', domain) : null;
    return (await this.#all()).filter((k) => d === null || k.domain === d).map(toKey)
      .sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.selector.localeCompare(a.selector));
  }

  async activeKeys(domain: string): Promise<DkimKey[]> {
    const newest = new Map<DkimAlgorithm, DkimKey>();
    for (const key of (await this.listKeys(domain)).filter((k) => k.active && !k.pending)) if (!newest.has(key.algorithm)) newest.set(key.algorithm, key);
    return [...newest.values()];
  }

  async setActive(domain: string, selector: string, active: boolean): Promise<boolean> {
    const d = checkDkimName('domain', domain);
    const s = checkDkimName('selector', selector);
    const stored = (await this.#shared.getShared(NS, `${d}/${s}`)) as StoredKey | undefined;
    if (!stored) return false;
    const { pending: _ended, ...rest } = stored;
    await this.#shared.putShared(NS, `${d}/${s}`, { ...rest, active }, { announce: true });
    this.#cache = null;
    return true;
  }
}
