import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { createLogger } from '../core/log.ts';
import { generateDkimKey } from '../policy/dkim-sign.ts';
import { dkimReportSigner, signingDomains } from './report-signer.ts';

test('the report sender\'s domain signs, else a parent up to the organizational domain (Public Suffix List)', () => {
  assert.deepEqual(signingDomains('postmaster@mx.example.org'), ['mx.example.org', 'example.org']);
  assert.deepEqual(signingDomains('reports@a.b.example.co.uk'), ['a.b.example.co.uk', 'b.example.co.uk', 'example.co.uk']);
  assert.deepEqual(signingDomains('reports@example.co.uk'), ['example.co.uk']);
});

test('a report goes unsigned when no domain has a key, and the log says which domains were tried', async () => {
  const lines: Record<string, unknown>[] = [];
  const logger = createLogger({ destination: new Writable({ write(c, _e, cb) { lines.push(JSON.parse(String(c)) as Record<string, unknown>); cb(); } }), level: 'info' });
  const message = Buffer.from('From: <postmaster@mx.nokey.test>\r\nSubject: x\r\n\r\nbody\r\n');
  const unsigned = await dkimReportSigner({ keys: { activeKeys: async () => [] }, logger }).sign(message, 'postmaster@mx.nokey.test');
  assert.equal(unsigned.toString(), message.toString());
  assert.deepEqual(lines.find((l) => l.event === 'reports.unsigned')?.tried, ['mx.nokey.test', 'nokey.test']);

  const k = generateDkimKey('ed25519');
  const key = { domain: 'nokey.test', selector: 'e1', algorithm: 'ed25519' as const, privateKeyPem: k.privateKeyPem, publicKeyB64: k.publicKeyB64, createdAt: new Date(), active: true };
  const signed = await dkimReportSigner({ keys: { activeKeys: async (d) => (d === 'nokey.test' ? [key] : []) }, logger }).sign(message, 'postmaster@mx.nokey.test');
  assert.match(signed.toString(), /^DKIM-Signature: v=1; a=ed25519-sha256; c=relaxed\/relaxed; d=nokey\.test;\r\n s=e1;/);
});
