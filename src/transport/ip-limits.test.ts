import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ConnectionCounter, type ConnectionSlot } from './ip-limits.ts';

const net24 = (ip: string): string => ip.split('.').slice(0, 3).join('.');

function take(counter: ConnectionCounter, ip: string, evictable = true, evicted: string[] = []): ConnectionSlot {
  const r = counter.acquire(ip);
  assert.ok(r.ok, `refused ${ip}: ${r.ok ? '' : r.reason}`);
  r.slot.holder = { isEvictable: () => evictable, evict: () => evicted.push(ip) };
  return r.slot;
}

test('refuses past the per-IP and per-network limits, and the network limit is never below the per-IP one', () => {
  const c = new ConnectionCounter({ maxConnections: 100, maxConnectionsPerIp: 2, maxConnectionsPerNetwork: 3, networkOf: net24 });
  take(c, '10.0.0.1');
  take(c, '10.0.0.1');
  assert.deepEqual(c.acquire('10.0.0.1'), { ok: false, reason: 'per-ip' });
  take(c, '10.0.0.2');
  assert.deepEqual(c.acquire('10.0.0.3'), { ok: false, reason: 'per-network' });
  take(c, '10.0.1.1');
  const loose = new ConnectionCounter({ maxConnections: 100, maxConnectionsPerIp: 5, maxConnectionsPerNetwork: 1, networkOf: net24 });
  for (let i = 0; i < 5; i++) take(loose, '10.0.0.1');
  assert.deepEqual(loose.acquire('10.0.0.2'), { ok: false, reason: 'per-network' });
});

test('a full counter closes the oldest evictable connection to make room, and refuses when none is', () => {
  const evicted: string[] = [];
  const c = new ConnectionCounter({ maxConnections: 3, maxConnectionsPerIp: 10 });
  take(c, '10.0.0.1', false, evicted);
  take(c, '10.0.0.2', true, evicted);
  take(c, '10.0.0.3', true, evicted);
  const r = c.acquire('10.0.0.4');
  assert.ok(r.ok);
  assert.deepEqual(evicted, ['10.0.0.2']);
  assert.equal(c.open, 3);
  r.slot.holder = { isEvictable: () => false, evict: () => evicted.push('10.0.0.4') };
  take(c, '10.0.0.5', false, evicted); // evicts 10.0.0.3
  assert.deepEqual(evicted, ['10.0.0.2', '10.0.0.3']);
  assert.deepEqual(c.acquire('10.0.0.6'), { ok: false, reason: 'total' });
});

test('release is idempotent and frees the per-IP and per-network counts', () => {
  const c = new ConnectionCounter({ maxConnections: 10, maxConnectionsPerIp: 1, maxConnectionsPerNetwork: 1, networkOf: net24 });
  const s = take(c, '10.0.0.1');
  s.release();
  s.release();
  assert.equal(c.open, 0);
  take(c, '10.0.0.2');
  assert.equal(c.open, 1);
});
