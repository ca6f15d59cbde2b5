/**
 * Per-installation secrets kept in data_dir (created at first start, mode 0600): `secret` keys the fake
 * SCRAM salts of unknown users (so they stay stable across restarts) and other HMACs that must outlive a
 * restart; `srs-secret` signs SRS addresses when the config sets none.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, linkSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
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

/**
 * The SRS signing secret used when `policy.srs_secret` is empty: 32 random bytes as hex text in
 * data_dir/srs-secret, made at first start. Text, so an operator can copy it into the config of other MX
 * hosts that must accept the same bounces.
 */
export function srsSecretFile(dataDir: string): string {
  const path = join(dataDir, 'srs-secret');
  const existing = readSecretText(path);
  if (existing) return existing;
  mkdirSync(dataDir, { recursive: true, mode: 0o700 });
  // Written whole to a private temporary name, then linked into place, which fails if another process
  // starting at the same moment got there first: every process ends up with the one secret on disk.
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}`;
  writeFileSync(temp, `${randomBytes(32).toString('hex')}\n`, { mode: 0o600 });
  try {
    linkSync(temp, path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
  } finally {
    rmSync(temp, { force: true });
  }
  const secret = readSecretText(path);
  if (!secret) throw new Error(`${path}: no usable SRS secret (at least 32 characters expected)`);
  return secret;
}

function readSecretText(path: string): string | null {
  if (!existsSync(path)) return null;
  const text = readFileSync(path, 'utf8').trim();
  return text.length >= 32 ? text : null;
}
