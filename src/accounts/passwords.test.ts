import { test } from 'node:test';
import assert from 'node:assert/strict';
import { saltedPassword, scramKeys } from '../protocols/sasl/scram-crypto.ts';
import { deriveScram, DUMMY_HASH, hashPassword, verifyPassword } from './passwords.ts';

test('hashPassword produces a PHC scrypt string that verifies the right password only', async () => {
  const hash = await hashPassword('correct horse');
  assert.match(hash, /^\$scrypt\$ln=\d+,r=8,p=1\$[A-Za-z0-9+/]+\$[A-Za-z0-9+/]+$/);
  assert.equal(await verifyPassword(hash, 'correct horse'), true);
  assert.equal(await verifyPassword(hash, 'correct horsE'), false);
  assert.notEqual(await hashPassword('correct horse'), hash, 'fresh salt each time');
});

test('verifyPassword returns false for unknown or corrupt formats instead of throwing', async () => {
  for (const bad of ['', 'plain', '$2b$10$abcdefghijklmnopqrstuu', '$scrypt$ln=40,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA', '$scrypt$ln=14,r=8,p=1$!!$??']) {
    assert.equal(await verifyPassword(bad, 'x'), false, bad);
  }
});

test('DUMMY_HASH is a well-formed hash that matches nothing, at the default cost', async () => {
  assert.equal(await verifyPassword(DUMMY_HASH, ''), false);
  const real = await hashPassword('x');
  assert.equal(DUMMY_HASH.split('$')[2], real.split('$')[2], 'same parameters as a fresh hash');
});

/** CPU time of this process in ms: unlike the wall clock, not stretched by other processes on a loaded machine. */
const cpuMs = (): number => {
  const u = process.cpuUsage();
  return (u.user + u.system) / 1000;
};

test('one verify stays under 100 ms on this machine (loosely: 250 ms under load)', async () => {
  const hash = await hashPassword('pw');
  const samples: number[] = [];
  for (let i = 0; i < 3; i++) {
    // CPU time (the scrypt runs on a libuv thread of this process): what a verify costs, not how long it waited.
    const started = cpuMs();
    assert.equal(await verifyPassword(hash, 'pw'), true);
    samples.push(cpuMs() - started);
  }
  assert.ok(Math.min(...samples) < 250, `fastest verify took ${Math.min(...samples).toFixed(1)} ms`);
});

test('deriveScram yields RFC 5802 keys for the password; app passwords can share the account salt', async () => {
  const creds = await deriveScram('pencil', { iterations: 4096 });
  assert.equal(creds.iterations, 4096);
  assert.equal(Buffer.from(creds.salt, 'base64').length, 16);
  const keys = scramKeys(await saltedPassword('pencil', Buffer.from(creds.salt, 'base64'), 4096));
  assert.equal(creds.storedKey, keys.storedKey.toString('base64'));
  assert.equal(creds.serverKey, keys.serverKey.toString('base64'));
  const app = await deriveScram('other', { salt: creds.salt, iterations: creds.iterations });
  assert.equal(app.salt, creds.salt);
  assert.notEqual(app.storedKey, creds.storedKey);
});

test('new SCRAM keys get 600,000 PBKDF2 rounds unless told otherwise', async () => {
  assert.equal((await deriveScram('pencil')).iterations, 600_000);
});

test('SASLprep-lite: a no-break space and a soft hyphen do not change the SCRAM keys', async () => {
  const salt = 'W22ZaJ0SNY7soEsUEjb6gQ==';
  const a = await deriveScram('pass word', { salt, iterations: 4096 });
  const b = await deriveScram('pass\u00A0wo\u00ADrd', { salt, iterations: 4096 });
  assert.equal(a.storedKey, b.storedKey);
});
