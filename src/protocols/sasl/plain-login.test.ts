import { test } from 'node:test';
import assert from 'node:assert/strict';
import { loginClient, plainClientResponse } from './client.ts';
import { LoginServerExchange } from './login.ts';
import { parsePlainMessage, PlainServerExchange, type PlainCredentials } from './plain.ts';
import type { SaslStep } from './types.ts';

function recordingVerifier(): { seen: PlainCredentials[]; verify: (c: PlainCredentials) => Promise<SaslStep> } {
  const seen: PlainCredentials[] = [];
  return {
    seen,
    async verify(c) {
      seen.push(c);
      return c.password === 'secret' ? { kind: 'success', identity: { accountId: 1, address: c.authcid } } : { kind: 'failure', reason: 'invalid-credentials' };
    },
  };
}

test('PLAIN parses authzid, authcid and password (RFC 4616 §2)', () => {
  assert.deepEqual(parsePlainMessage(Buffer.from('\0tim\0tanstaaftanstaaf')), { authzid: '', authcid: 'tim', password: 'tanstaaftanstaaf' });
  assert.deepEqual(parsePlainMessage(Buffer.from('Ursel\0Kurt\0xipj3plmq')), { authzid: 'Ursel', authcid: 'Kurt', password: 'xipj3plmq' });
  assert.deepEqual(parsePlainMessage(plainClientResponse('jörg@example.org', 'pässword')), { authzid: '', authcid: 'jörg@example.org', password: 'pässword' });
});

test('PLAIN rejects missing fields, extra NULs, invalid UTF-8 and oversized fields', () => {
  for (const bad of [Buffer.from('tim'), Buffer.from('\0tim'), Buffer.from('\0\0pw'), Buffer.from('\0tim\0'), Buffer.from('\0tim\0pw\0x'), Buffer.from([0, 0x74, 0, 0xff, 0xfe]), Buffer.from(`\0tim\0${'x'.repeat(1025)}`)]) {
    assert.equal(parsePlainMessage(bad), null, JSON.stringify(bad.toString()));
  }
});

test('PLAIN with an initial response verifies at once', async () => {
  const v = recordingVerifier();
  const exchange = new PlainServerExchange({ verify: v.verify });
  const step = await exchange.step(plainClientResponse('tim@example.org', 'secret'));
  assert.equal(step.kind, 'success');
  assert.deepEqual(v.seen, [{ authzid: '', authcid: 'tim@example.org', password: 'secret' }]);
});

test('PLAIN without an initial response sends an empty challenge first', async () => {
  const v = recordingVerifier();
  const exchange = new PlainServerExchange({ verify: v.verify });
  assert.deepEqual(await exchange.step(null), { kind: 'challenge', data: Buffer.alloc(0) });
  assert.deepEqual(await exchange.step(plainClientResponse('tim@example.org', 'wrong')), { kind: 'failure', reason: 'invalid-credentials' });
  assert.deepEqual(await exchange.step(plainClientResponse('tim@example.org', 'secret')), { kind: 'failure', reason: 'malformed' });
  assert.equal(v.seen.length, 1);
});

test('PLAIN malformed message never reaches the verifier', async () => {
  const v = recordingVerifier();
  const exchange = new PlainServerExchange({ verify: v.verify });
  assert.deepEqual(await exchange.step(Buffer.alloc(0)), { kind: 'failure', reason: 'malformed' });
  assert.equal(v.seen.length, 0);
});

test('LOGIN asks Username: then Password:, and the client answers them', async () => {
  const v = recordingVerifier();
  const exchange = new LoginServerExchange({ verify: v.verify });
  const client = loginClient('tim@example.org', 'secret');
  const c1 = await exchange.step(null);
  assert.deepEqual(c1, { kind: 'challenge', data: Buffer.from('Username:') });
  const c2 = await exchange.step(client.respond(c1.kind === 'challenge' ? c1.data : Buffer.alloc(0)));
  assert.deepEqual(c2, { kind: 'challenge', data: Buffer.from('Password:') });
  const done = await exchange.step(client.respond(c2.kind === 'challenge' ? c2.data : Buffer.alloc(0)));
  assert.equal(done.kind, 'success');
  assert.deepEqual(v.seen, [{ authzid: '', authcid: 'tim@example.org', password: 'secret' }]);
});

test('LOGIN takes an initial response as the user name (SMTP "AUTH LOGIN dGlt")', async () => {
  const v = recordingVerifier();
  const exchange = new LoginServerExchange({ verify: v.verify });
  assert.deepEqual(await exchange.step(Buffer.from('tim@example.org')), { kind: 'challenge', data: Buffer.from('Password:') });
  assert.equal((await exchange.step(Buffer.from('secret'))).kind, 'success');
});

test('LOGIN with an empty user name or password is malformed', async () => {
  const v = recordingVerifier();
  const a = new LoginServerExchange({ verify: v.verify });
  await a.step(null);
  assert.deepEqual(await a.step(Buffer.alloc(0)), { kind: 'failure', reason: 'malformed' });
  const b = new LoginServerExchange({ verify: v.verify });
  await b.step(Buffer.from('tim'));
  assert.deepEqual(await b.step(Buffer.alloc(0)), { kind: 'failure', reason: 'malformed' });
  assert.equal(v.seen.length, 0);
});

test('LOGIN client answers unknown prompts by position', () => {
  const client = loginClient('u', 'p');
  assert.equal(client.respond(Buffer.from('VXNlcm5hbWU6')).toString(), 'u');
  assert.equal(client.respond(Buffer.from('???')).toString(), 'p');
});
