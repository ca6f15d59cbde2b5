import { test } from 'node:test';
import assert from 'node:assert/strict';
import { formatDuration, formatHostPort, formatSize, parseDuration, parseHostPort, parseSize } from './values.ts';

test('sizes: integer bytes or binary units', () => {
  assert.equal(parseSize(1234), 1234);
  assert.equal(parseSize('512KB'), 512 * 1024);
  assert.equal(parseSize('25MB'), 25 * 1024 * 1024);
  assert.equal(parseSize('1GiB'), 1024 ** 3);
  assert.equal(parseSize('1.5k'), 1536);
  assert.equal(parseSize('100'), 100);
  for (const bad of [-1, 1.5, '10 XB', '', 'MB', true]) assert.throws(() => parseSize(bad), /expected a size/);
  assert.equal(formatSize(25 * 1024 * 1024), '25MB');
  assert.equal(formatSize(1000), '1000');
});

test('durations need a unit', () => {
  assert.equal(parseDuration('30s'), 30_000);
  assert.equal(parseDuration('5m'), 300_000);
  assert.equal(parseDuration('1h'), 3_600_000);
  assert.equal(parseDuration('5d'), 432_000_000);
  assert.equal(parseDuration('250ms'), 250);
  for (const bad of [30, '30', '5 minutes', '', '-1s']) assert.throws(() => parseDuration(bad), /expected a duration/);
  assert.equal(formatDuration(90_000), '90s');
  assert.equal(formatDuration(432_000_000), '5d');
});

test('host:port, with IPv6 in brackets', () => {
  assert.deepEqual(parseHostPort('127.0.0.1:2525'), { host: '127.0.0.1', port: 2525 });
  assert.deepEqual(parseHostPort('[::1]:2525'), { host: '::1', port: 2525 });
  assert.deepEqual(parseHostPort('mx.example.org:25'), { host: 'mx.example.org', port: 25 });
  assert.deepEqual(parseHostPort('mx.example.org', { defaultPort: 25 }), { host: 'mx.example.org', port: 25 });
  for (const bad of ['127.0.0.1', '::1:25', '[::1]', '[nothost]:25', 'a b:25', 'h:65536', ':25', 25]) assert.throws(() => parseHostPort(bad), /expected "host:port"/, String(bad));
  assert.equal(formatHostPort({ host: '::1', port: 25 }), '[::1]:25');
  assert.equal(formatHostPort({ host: '127.0.0.1', port: 25 }), '127.0.0.1:25');
});
