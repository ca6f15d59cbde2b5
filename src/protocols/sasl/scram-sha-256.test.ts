import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ScramClientError, ScramSha256Client } from './client.ts';
import { saltedPassword, scramKeys } from './scram-crypto.ts';
import { parseClientFirst, ScramSha256ServerExchange, type ScramCandidate, type ScramServerHooks } from './scram-sha-256.ts';
import type { SaslStep } from './types.ts';

// RFC 7677 §3 test vector
const CLIENT_NONCE = 'rOprNGfwEbeRWgbNEkqO';
const SERVER_NONCE = '%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0';
const SALT_B64 = 'W22ZaJ0SNY7soEsUEjb6gQ==';
const CLIENT_FIRST = 'n,,n=user,r=rOprNGfwEbeRWgbNEkqO';
const SERVER_FIRST = 'r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,s=W22ZaJ0SNY7soEsUEjb6gQ==,i=4096';
const CLIENT_FINAL = 'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=dHzbZapWIk4jUhN+Ute9ytag9zjfMHgsqmmiz7AndVQ=';
const SERVER_FINAL = 'v=6rriTRBi23WpRR/wtup+mMhUZUn/dB5nLTJRsjl95G4=';

const identity = { accountId: 1, address: 'user' };

async function pencilCandidate(): Promise<ScramCandidate> {
  const keys = scramKeys(await saltedPassword('pencil', Buffer.from(SALT_B64, 'base64'), 4096));
  return { storedKey: keys.storedKey, serverKey: keys.serverKey, identity };
}

function hooksFor(candidates: ScramCandidate[], seen: { lookups: string[]; matches: (ScramCandidate | null)[] } = { lookups: [], matches: [] }): ScramServerHooks {
  return {
    async lookup({ username }) {
      seen.lookups.push(username);
      return { kind: 'proceed', salt: Buffer.from(SALT_B64, 'base64'), iterations: 4096, candidates };
    },
    async complete(match): Promise<SaslStep> {
      seen.matches.push(match);
      return match ? { kind: 'success', identity: match.identity } : { kind: 'failure', reason: 'invalid-credentials' };
    },
  };
}

test('server reproduces the RFC 7677 §3 exchange byte for byte', async () => {
  const server = new ScramSha256ServerExchange({ hooks: hooksFor([await pencilCandidate()]), nonce: () => SERVER_NONCE });
  const first = await server.step(Buffer.from(CLIENT_FIRST));
  assert.equal(first.kind, 'challenge');
  assert.equal(first.kind === 'challenge' && first.data.toString(), SERVER_FIRST);
  const final = await server.step(Buffer.from(CLIENT_FINAL));
  assert.equal(final.kind, 'success');
  assert.equal(final.kind === 'success' && final.serverFinal?.toString(), SERVER_FINAL);
});

test('client reproduces the RFC 7677 §3 exchange byte for byte', async () => {
  const client = new ScramSha256Client({ username: 'user', password: 'pencil', nonce: CLIENT_NONCE });
  assert.equal(client.clientFirst().toString(), CLIENT_FIRST);
  assert.equal((await client.handleServerFirst(Buffer.from(SERVER_FIRST))).toString(), CLIENT_FINAL);
  assert.doesNotThrow(() => client.verifyServerFinal(Buffer.from(SERVER_FINAL)));
});

test('client rejects a forged server signature', async () => {
  const client = new ScramSha256Client({ username: 'user', password: 'pencil', nonce: CLIENT_NONCE });
  client.clientFirst();
  await client.handleServerFirst(Buffer.from(SERVER_FIRST));
  assert.throws(() => client.verifyServerFinal(Buffer.from('v=' + Buffer.alloc(32).toString('base64'))), ScramClientError);
});

test('client rejects a server nonce that does not extend its own, and absurd iteration counts', async () => {
  const a = new ScramSha256Client({ username: 'user', password: 'pencil', nonce: CLIENT_NONCE });
  a.clientFirst();
  await assert.rejects(a.handleServerFirst(Buffer.from(`r=other,s=${SALT_B64},i=4096`)), ScramClientError);
  const b = new ScramSha256Client({ username: 'user', password: 'pencil', nonce: CLIENT_NONCE });
  b.clientFirst();
  await assert.rejects(b.handleServerFirst(Buffer.from(`r=${CLIENT_NONCE}x,s=${SALT_B64},i=999999999`)), ScramClientError);
});

test('a wrong password fails with invalid-credentials and no server-final', async () => {
  const server = new ScramSha256ServerExchange({ hooks: hooksFor([await pencilCandidate()]) });
  const client = new ScramSha256Client({ username: 'user', password: 'crayon' });
  const first = await server.step(client.clientFirst());
  assert.equal(first.kind, 'challenge');
  const final = await server.step(await client.handleServerFirst(first.kind === 'challenge' ? first.data : Buffer.alloc(0)));
  assert.deepEqual(final, { kind: 'failure', reason: 'invalid-credentials' });
});

test('the proof selects which of several credential sets matched', async () => {
  const salt = Buffer.from(SALT_B64, 'base64');
  const other = scramKeys(await saltedPassword('app-secret', salt, 4096));
  const appCandidate = { storedKey: other.storedKey, serverKey: other.serverKey, identity: { ...identity, appPasswordId: 7 } };
  const seen = { lookups: [] as string[], matches: [] as (ScramCandidate | null)[] };
  const server = new ScramSha256ServerExchange({ hooks: hooksFor([await pencilCandidate(), appCandidate], seen) });
  const client = new ScramSha256Client({ username: 'user', password: 'app-secret' });
  const first = await server.step(client.clientFirst());
  const final = await server.step(await client.handleServerFirst(first.kind === 'challenge' ? first.data : Buffer.alloc(0)));
  assert.equal(final.kind, 'success');
  assert.equal(final.kind === 'success' && final.identity.appPasswordId, 7);
  client.verifyServerFinal(final.kind === 'success' ? final.serverFinal! : Buffer.alloc(0));
});

test('no initial response: empty challenge first, then the normal exchange', async () => {
  const server = new ScramSha256ServerExchange({ hooks: hooksFor([await pencilCandidate()]), nonce: () => SERVER_NONCE });
  assert.deepEqual(await server.step(null), { kind: 'challenge', data: Buffer.alloc(0) });
  const first = await server.step(Buffer.from(CLIENT_FIRST));
  assert.equal(first.kind === 'challenge' && first.data.toString(), SERVER_FIRST);
});

test('channel binding "p=" is refused; "y" is accepted', async () => {
  const server = new ScramSha256ServerExchange({ hooks: hooksFor([]) });
  assert.deepEqual(await server.step(Buffer.from('p=tls-unique,,n=user,r=abc')), { kind: 'failure', reason: 'malformed' });
  assert.ok(parseClientFirst('y,,n=user,r=abc'));
});

test('malformed client-first messages fail as malformed without a lookup', async () => {
  for (const bad of ['', 'n,,', 'n,,r=abc,n=user', 'n,,n=user', 'n,,n=us=41er,r=abc', 'n,,n=user,r=a,b', 'n,,m=ext,n=user,r=abc', 'n,,n=user,r=abc,m=x', 'x,,n=user,r=abc', 'n,b=x,n=user,r=abc']) {
    const seen = { lookups: [] as string[], matches: [] as (ScramCandidate | null)[] };
    const server = new ScramSha256ServerExchange({ hooks: hooksFor([], seen) });
    assert.deepEqual(await server.step(Buffer.from(bad)), { kind: 'failure', reason: 'malformed' }, bad);
    assert.equal(seen.lookups.length, 0, bad);
  }
});

test('saslname escapes are decoded and authzid is parsed', () => {
  assert.deepEqual(parseClientFirst('n,a=a=2Cb,n=x=3Dy,r=abc'), { gs2Header: 'n,a=a=2Cb,', authzid: 'a,b', username: 'x=y', clientNonce: 'abc', bare: 'n=x=3Dy,r=abc' });
});

test('client-final with a wrong nonce, wrong channel binding or short proof is malformed', async () => {
  const cases = [
    CLIENT_FINAL.replace('$k0', '$k1'),
    CLIENT_FINAL.replace('c=biws', 'c=eSws'),
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0,p=AAAA',
    'c=biws,r=rOprNGfwEbeRWgbNEkqO%hvYDpWUa2RaTCAfuxFIlj)hNlF$k0',
  ];
  for (const bad of cases) {
    const server = new ScramSha256ServerExchange({ hooks: hooksFor([await pencilCandidate()]), nonce: () => SERVER_NONCE });
    await server.step(Buffer.from(CLIENT_FIRST));
    assert.deepEqual(await server.step(Buffer.from(bad)), { kind: 'failure', reason: 'malformed' }, bad);
  }
});

test('a step after the exchange finished fails', async () => {
  const server = new ScramSha256ServerExchange({ hooks: hooksFor([await pencilCandidate()]), nonce: () => SERVER_NONCE });
  await server.step(Buffer.from(CLIENT_FIRST));
  await server.step(Buffer.from(CLIENT_FINAL));
  assert.deepEqual(await server.step(Buffer.from(CLIENT_FINAL)), { kind: 'failure', reason: 'malformed' });
});

test('fuzz: arbitrary bytes never make the SCRAM or PLAIN parsers throw', async () => {
  const fc = await import('fast-check');
  const { parsePlainMessage } = await import('./plain.ts');
  await fc.assert(
    fc.asyncProperty(fc.uint8Array({ maxLength: 200 }), fc.uint8Array({ maxLength: 200 }), async (a, b) => {
      parsePlainMessage(Buffer.from(a));
      parseClientFirst(Buffer.from(a).toString('latin1'));
      const server = new ScramSha256ServerExchange({ hooks: hooksFor([]) });
      const s1 = await server.step(Buffer.from(a));
      assert.ok(s1.kind === 'challenge' || s1.kind === 'failure');
      const s2 = await server.step(Buffer.from(b));
      assert.equal(s2.kind, 'failure');
    }),
    { numRuns: 300 },
  );
});
