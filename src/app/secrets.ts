/**
 * A per-installation secret kept in data_dir (created at first start, mode 0600): keys the fake SCRAM
 * salts of unknown users (so they stay stable across restarts) and other HMACs that must outlive a restart.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export function installationSecret(dataDir: string): Buffer {
  const path = join(dataDir, 'secret');
  if (existsSync(path)) {
    const data = readFileSync(path);
    if (data.length >= 32) return data;
  }
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  const secret = randomBytes(32);
  writeFileSync(path, secret, { mode: 0o600 });
  return secret;
}
