/**
 * The worker pool for message checks: results and DNS questions cross the thread boundary intact (Buffers
 * stay Buffers, resolver errors keep their code), and a task past the time limit fails while the pool goes on.
 */
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { createLogger } from '../core/log.ts';
import { splitParts } from './message-parts.ts';
import { signMessage, generateDkimKey } from './dkim-sign.ts';
import { CheckPool } from './check-pool.ts';

const logger = createLogger({ level: 'silent' });
const message = Buffer.from('Authentication-Results: mx.test; dkim=pass\r\nFrom: <a@sender.test>\r\nSubject: hi\r\n\r\nbody\r\n');

describe('CheckPool', () => {
  const pool = new CheckPool({ size: 2, timeoutMs: 30_000, logger });
  after(() => pool.close());

  it('authenticates on a worker, asking the main thread every DNS question', async () => {
    const asked: string[] = [];
    const resolver = {
      async resolve(name: string, rrtype: string): Promise<unknown> {
        asked.push(`${rrtype} ${name}`);
        if (rrtype === 'TXT' && name === 'sender.test') return [['v=spf1 ip4:192.0.2.1 -all']];
        throw Object.assign(new Error('no such name'), { code: 'ENOTFOUND' });
      },
    };
    const r = await pool.authenticate({ parts: splitParts(message), ip: '192.0.2.1', helo: 'mail.sender.test', sender: 'a@sender.test', hostname: 'mx.test', minRsaBits: 1024 }, resolver);
    assert.equal(r.spf.result, 'pass');
    assert.ok(asked.includes('TXT sender.test'), asked.join(', '));
    assert.ok(Buffer.isBuffer(r.header));
    assert.doesNotMatch(r.header.toString(), /Authentication-Results: mx\.test/, 'the forged field is removed');
    assert.equal(r.dmarc.result, 'none');
  });

  it('signs on a worker exactly as in-process', async () => {
    const k = generateDkimKey('ed25519');
    const key = { domain: 'sender.test', selector: 's', algorithm: k.algorithm, privateKeyPem: k.privateKeyPem, publicKeyB64: k.publicKeyB64, createdAt: new Date(), active: true };
    const now = new Date('2024-01-01T00:00:00Z');
    const parts = splitParts(message);
    const onWorker = await pool.sign({ header: parts.header, body: parts.body, domain: 'sender.test', keys: [key], now } as never);
    assert.ok(Buffer.isBuffer(onWorker));
    assert.match(onWorker.toString(), /^DKIM-Signature: .*d=sender\.test/s);
    const local = await signMessage({ message, domain: 'sender.test', keys: [key], now });
    // Ed25519 signatures are deterministic: the same input gives the same field, except the time tag.
    assert.equal(onWorker.toString().replace(/t=\d+/, ''), local.toString().replace(/t=\d+/, ''));
  });

  it('fails a task past the time limit, and every task once closed', async () => {
    const hasty = new CheckPool({ size: 1, timeoutMs: 1, logger });
    try {
      const parts = splitParts(message);
      await assert.rejects(hasty.authenticate({ parts, ip: '192.0.2.1', helo: 'x.test', sender: '', hostname: 'mx.test', minRsaBits: 1024 }, { resolve: async () => [] }), /timed out/);
    } finally {
      await hasty.close();
    }
    await assert.rejects(hasty.sign({ header: Buffer.alloc(0), body: { data: Buffer.alloc(0) }, domain: 'x', keys: [] }), /stopped/);
  });
});
