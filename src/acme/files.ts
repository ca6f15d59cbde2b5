/**
 * What ACME keeps in data_dir/acme (directory 0700, files 0600, written whole through a rename so a crash
 * leaves the old file or the new one): the account key, and per certificate its key and chain, the order
 * under way (so a restart resumes it) and the failure count that sets the backoff.
 */
import { mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface PendingOrder {
  url: string;
  names: string[];
  createdAt: string;
}

export interface OrderStatus {
  names: string[];
  failures: number;
  /** ISO time before which no new order is tried (backoff, or the least time between orders). */
  notBefore: string | null;
  lastError: string | null;
}

export interface StoredCertificate {
  cert: string;
  key: string;
}

const PRIVATE_DIR = 0o700;
const PRIVATE_FILE = 0o600;

export class AcmeFiles {
  readonly dir: string;

  constructor(dataDir: string) {
    this.dir = join(dataDir, 'acme');
  }

  private ensure(dir: string): string {
    mkdirSync(dir, { recursive: true, mode: PRIVATE_DIR });
    return dir;
  }

  private write(path: string, data: string): void {
    const tmp = `${path}.tmp`;
    writeFileSync(tmp, data, { mode: PRIVATE_FILE });
    renameSync(tmp, path);
  }

  private read(path: string): string | null {
    try {
      return readFileSync(path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw err;
    }
  }

  private readJson<T>(path: string): T | null {
    const text = this.read(path);
    if (text === null) return null;
    try {
      return JSON.parse(text) as T;
    } catch {
      return null; // a damaged state file is as good as none: the order starts over
    }
  }

  private certDir(id: string): string {
    // Ids are host names (or "host"): nothing that could leave the directory.
    return join(this.dir, 'certs', id.replace(/[^a-z0-9.-]/gi, '_'));
  }

  accountKey(): string | null {
    return this.read(join(this.dir, 'account.key'));
  }

  saveAccountKey(pem: string): void {
    this.write(join(this.ensure(this.dir), 'account.key'), pem);
  }

  saveAccount(info: { url: string; directoryUrl: string; contact: string }): void {
    this.write(join(this.ensure(this.dir), 'account.json'), JSON.stringify(info, null, 2) + '\n');
  }

  certificate(id: string): StoredCertificate | null {
    const cert = this.read(join(this.certDir(id), 'cert.pem'));
    const key = this.read(join(this.certDir(id), 'key.pem'));
    return cert && key ? { cert, key } : null;
  }

  /** The key of the order under way: made before the CSR and kept, so a restart finalizes with the same one. */
  orderKey(id: string): string | null {
    return this.read(join(this.certDir(id), 'order-key.pem'));
  }

  saveOrderKey(id: string, pem: string): void {
    this.write(join(this.ensure(this.certDir(id)), 'order-key.pem'), pem);
  }

  /**
   * The new chain and its key replace the old pair. A crash between the two renames leaves a key and chain
   * that do not match: loading them fails at start, which counts as no certificate and orders a new one.
   */
  saveCertificate(id: string, pair: StoredCertificate): void {
    const dir = this.ensure(this.certDir(id));
    this.write(join(dir, 'key.pem.new'), pair.key);
    this.write(join(dir, 'cert.pem.new'), pair.cert);
    renameSync(join(dir, 'key.pem.new'), join(dir, 'key.pem'));
    renameSync(join(dir, 'cert.pem.new'), join(dir, 'cert.pem'));
    rmSync(join(dir, 'order-key.pem'), { force: true });
    rmSync(join(dir, 'order.json'), { force: true });
  }

  pendingOrder(id: string): PendingOrder | null {
    return this.readJson<PendingOrder>(join(this.certDir(id), 'order.json'));
  }

  savePendingOrder(id: string, order: PendingOrder): void {
    this.write(join(this.ensure(this.certDir(id)), 'order.json'), JSON.stringify(order, null, 2) + '\n');
  }

  dropPendingOrder(id: string): void {
    rmSync(join(this.certDir(id), 'order.json'), { force: true });
    rmSync(join(this.certDir(id), 'order-key.pem'), { force: true });
  }

  status(id: string): OrderStatus | null {
    return this.readJson<OrderStatus>(join(this.certDir(id), 'status.json'));
  }

  saveStatus(id: string, status: OrderStatus): void {
    this.write(join(this.ensure(this.certDir(id)), 'status.json'), JSON.stringify(status, null, 2) + '\n');
  }
}
