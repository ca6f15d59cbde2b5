/**
 * DKIM keys on disk: `<dataDir>/dkim/<domain>/<selector>.key` (PKCS#8 PEM) and `<selector>.json` (metadata),
 * both mode 0600 in 0700 directories. The newest active key of each algorithm signs; older selectors stay
 * listed (and published) until retired, which is how keys are rotated. A key made by `dkim generate` is
 * pending: it signs only once activated, so no mail is signed with a key whose record is not published.
 */
import { mkdir, readdir, readFile, writeFile, rename } from 'node:fs/promises';
import { join } from 'node:path';
import { UsageError } from '../core/errors.ts';
import type { DkimAlgorithm, DkimKey, DkimKeyStore } from '../policy/types.ts';

interface KeyMeta {
  domain: string;
  selector: string;
  algorithm: DkimAlgorithm;
  publicKeyB64: string;
  createdAt: string;
  active: boolean;
  /** Absent in keys made before keys could be pending: those sign. */
  pending?: boolean;
}

const LABEL = /^[a-z0-9](?:[a-z0-9_-]{0,61}[a-z0-9])?$/;

/** Domain and selector become path components (and keys elsewhere): only DNS labels are allowed (no "..", no "/"). */
export function checkDkimName(kind: 'domain' | 'selector', value: string): string {
  const v = value.toLowerCase().replace(/\.$/, '');
  const labels = v.split('.');
  if (v.length === 0 || v.length > 253 || !labels.every((l) => LABEL.test(l)) || (kind === 'domain' && labels.length < 2)) {
    throw new UsageError(`invalid ${kind}: ${value}`);
  }
  return v;
}

/** What the server and the admin service use of a key store: the file store, or the shared one (PostgreSQL). */
export type ManagedDkimKeys = Pick<FileDkimKeyStore, 'addKey' | 'listKeys' | 'activeKeys' | 'setActive'>;

export class FileDkimKeyStore implements DkimKeyStore {
  readonly #root: string;
  readonly #now: () => Date;

  constructor(options: { dataDir: string; now?: () => Date }) {
    this.#root = join(options.dataDir, 'dkim');
    this.#now = options.now ?? (() => new Date());
  }

  async addKey(domain: string, selector: string, algorithm: DkimAlgorithm, privateKeyPem: string, publicKeyB64: string, options: { pending?: boolean } = {}): Promise<DkimKey> {
    const d = checkDkimName('domain', domain);
    const s = checkDkimName('selector', selector);
    const dir = join(this.#root, d);
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const existing = await this.#readMeta(d, s);
    if (existing) throw new UsageError(`selector ${s} already exists for ${d}`);
    const meta: KeyMeta = { domain: d, selector: s, algorithm, publicKeyB64, createdAt: this.#now().toISOString(), active: true, ...(options.pending ? { pending: true } : {}) };
    await writeAtomic(join(dir, `${s}.key`), privateKeyPem);
    await writeAtomic(join(dir, `${s}.json`), JSON.stringify(meta, null, 2) + '\n');
    return { ...this.#toKey(meta), privateKeyPem };
  }

  async listKeys(domain?: string): Promise<DkimKey[]> {
    const domains = domain ? [checkDkimName('domain', domain)] : await listDir(this.#root);
    const keys: DkimKey[] = [];
    for (const d of domains) {
      for (const file of await listDir(join(this.#root, d))) {
        if (!file.endsWith('.json')) continue;
        const meta = await this.#readMeta(d, file.slice(0, -5));
        if (!meta) continue;
        const pem = await readFile(join(this.#root, d, `${meta.selector}.key`), 'utf8').catch(() => null);
        if (pem) keys.push({ ...this.#toKey(meta), privateKeyPem: pem });
      }
    }
    return keys.sort((a, b) => b.createdAt.getTime() - a.createdAt.getTime() || b.selector.localeCompare(a.selector));
  }

  async activeKeys(domain: string): Promise<DkimKey[]> {
    const all = (await this.listKeys(domain)).filter((k) => k.active && !k.pending);
    const newest = new Map<DkimAlgorithm, DkimKey>();
    for (const key of all) if (!newest.has(key.algorithm)) newest.set(key.algorithm, key);
    return [...newest.values()];
  }

  /** Stops a selector from signing (it stays on disk so its DNS record can be kept until mail in flight is verified). */
  async setActive(domain: string, selector: string, active: boolean): Promise<boolean> {
    const d = checkDkimName('domain', domain);
    const s = checkDkimName('selector', selector);
    const meta = await this.#readMeta(d, s);
    if (!meta) return false;
    meta.active = active;
    // Activating a pending key, or retiring one, ends its pending state either way.
    delete meta.pending;
    await writeAtomic(join(this.#root, d, `${s}.json`), JSON.stringify(meta, null, 2) + '\n');
    return true;
  }

  async #readMeta(domain: string, selector: string): Promise<KeyMeta | null> {
    try {
      return JSON.parse(await readFile(join(this.#root, domain, `${selector}.json`), 'utf8')) as KeyMeta;
    } catch {
      return null;
    }
  }

  #toKey(meta: KeyMeta): Omit<DkimKey, 'privateKeyPem'> {
    return { domain: meta.domain, selector: meta.selector, algorithm: meta.algorithm, publicKeyB64: meta.publicKeyB64, createdAt: new Date(meta.createdAt), active: meta.active, pending: meta.pending === true };
  }
}

async function listDir(dir: string): Promise<string[]> {
  try {
    return (await readdir(dir)).sort();
  } catch {
    return [];
  }
}

async function writeAtomic(path: string, content: string): Promise<void> {
  const tmp = `${path}.tmp-${process.pid}`;
  await writeFile(tmp, content, { mode: 0o600 });
  await rename(tmp, path);
}
