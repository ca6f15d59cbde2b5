import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { srsSecretFile } from './secrets.ts';

test('the SRS secret is made once at first start (0600) and read back after', () => {
  const dir = mkdtempSync(join(tmpdir(), 'postamt-secrets-'));
  try {
    const first = srsSecretFile(dir);
    assert.match(first, /^[0-9a-f]{64}$/);
    assert.equal(srsSecretFile(dir), first);
    assert.equal(statSync(join(dir, 'srs-secret')).mode & 0o777, 0o600);
    assert.deepEqual(readdirSync(dir), ['srs-secret'], 'no temporary file left behind');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
