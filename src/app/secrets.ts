/**
 * Per-installation secrets kept in data_dir (created at first start, mode 0600): `secret` keys the fake
 * SCRAM salts of unknown users (so they stay stable across restarts) and other HMACs that must outlive a
 * restart; `srs-secret` signs SRS addresses when the config sets none.
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

/**
 * The SRS signing secret used when `policy.srs_secret` is empty: 32 random bytes as hex text in
 * data_dir/srs-secret, made at first start. Text, so an operator can copy it into the config of other MX
 * hosts that must accept the same bounces.
 */
export function srsSecretFile(dataDir: string): string {
  const path = join(dataDir, 'srs-secret');
  if (existsSync(path)) {
    const text = readFileSync(path, 'utf8').trim();
    if (text.length >= 32) return text;
  }
  mkdirSync(dataDir, { recursive: true });
  const secret = randomBytes(32).toString('hex');
  writeFileSync(path, `${secret}\n`, { mode: 0o600 });
  return secret;
}
