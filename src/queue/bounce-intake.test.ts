import { test } from 'node:test';
import assert from 'node:assert/strict';
import { silentLogger } from '../core/log.ts';
import { buildDsn } from './dsn.ts';
import { isVerpBounce, processInboundBounce } from './bounce-intake.ts';

function memorySuppression() {
  const entries = new Map<string, string>();
  return {
    entries,
    addSuppression: async (a: string, r: string) => void entries.set(a, r),
    isSuppressed: async (a: string) => entries.has(a),
    listSuppressions: async () => [...entries].map(([address, reason]) => ({ address, reason, createdAt: new Date() })),
    removeSuppression: async (a: string) => entries.delete(a),
  };
}

const dsn = (status: string) =>
  buildDsn({ reportingMta: 'mx.far.test', originalSender: 'x@y.test', arrivalDate: new Date(), now: new Date(), original: Buffer.from('Subject: s\r\n\r\n'), recipients: [{ address: 'bob@g.test', action: 'failed', status }] });

test('only null-sender mail to a VERP address is a VERP bounce', () => {
  assert.equal(isVerpBounce({ sender: '', recipients: ['lb+bob=g.test@l.test'] }), true);
  assert.equal(isVerpBounce({ sender: 'a@b.test', recipients: ['lb+bob=g.test@l.test'] }), false);
  assert.equal(isVerpBounce({ sender: '', recipients: ['lb@l.test'] }), false);
});

test('a hard VERP bounce suppresses the encoded recipient; a soft one or a non-bounce does not', async () => {
  const s = memorySuppression();
  assert.deepEqual(await processInboundBounce({ sender: '', recipients: ['lb+bob=g.test@l.test'], message: dsn('5.1.1') }, { suppression: s, logger: silentLogger() }), ['bob@g.test']);
  assert.deepEqual(await processInboundBounce({ sender: '', recipients: ['lb+carl=g.test@l.test'], message: Buffer.from(dsn('4.2.2').toString().replace('Action: failed', 'Action: delayed')) }, { suppression: s, logger: silentLogger() }), []);
  assert.deepEqual(await processInboundBounce({ sender: 'a@b.test', recipients: ['lb+dan=g.test@l.test'], message: dsn('5.1.1') }, { suppression: s, logger: silentLogger() }), []);
  assert.deepEqual([...s.entries.keys()], ['bob@g.test']);
});
