import { credentialStamp } from './credential-stamp.ts';
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { AuthLimiter } from '../policy/auth-limiter.ts';
import { plainClientResponse, ScramSha256Client } from '../protocols/sasl/client.ts';
import type { SaslContext, SaslExchange, SaslStep } from '../protocols/sasl/types.ts';
import type { AccountRecord, AccountStore, AppPasswordRecord } from '../store/types.ts';
import { appPasswordTag } from './app-passwords.ts';
import { AuthService } from './auth-service.ts';
import { VerifiedCredentialCache } from './verified-cache.ts';
import { deriveScram, DUMMY_HASH, hashPassword, verifyPassword } from './passwords.ts';

/** Only what AuthService uses. */
class FakeAccounts {
  accounts = new Map<string, AccountRecord>();
  apps: AppPasswordRecord[] = [];
  touched: number[] = [];
  failing = false;
  #nextId = 1;

  async addUser(address: string, password: string): Promise<AccountRecord> {
    const record: AccountRecord = {
      id: this.#nextId++, address, passwordHash: await hashPassword(password, { logN: 10 }), scram: await deriveScram(password, { iterations: 4096 }),
      disabled: false, quotaBytes: null, sendAsDomains: [], createdAt: new Date(),
    };
    this.accounts.set(address, record);
    return record;
  }
  /** `legacy`: made before lookup tags existed (no tag until its next use). */
  async addApp(account: AccountRecord, password: string, options: { legacy?: boolean } = {}): Promise<AppPasswordRecord> {
    const scram = await deriveScram(password, { salt: account.scram!.salt, iterations: account.scram!.iterations });
    const app: AppPasswordRecord = { id: 100 + this.apps.length, accountId: account.id, label: 'phone', passwordHash: await hashPassword(password, { logN: 10 }), scram, lookupTag: options.legacy ? null : appPasswordTag(password), createdAt: new Date(), lastUsedAt: null };
    this.apps.push(app);
    return app;
  }
  async getAccount(address: string): Promise<AccountRecord | null> {
    if (this.failing) throw new Error('database is locked');
    return this.accounts.get(address) ?? null;
  }
  async listAppPasswords(accountId: number): Promise<AppPasswordRecord[]> {
    return this.apps.filter((a) => a.accountId === accountId);
  }
  async findAppPassword(accountId: number, lookupTag: string): Promise<AppPasswordRecord | null> {
    return this.apps.find((a) => a.accountId === accountId && a.lookupTag === lookupTag) ?? null;
  }
  async removeAppPassword(accountId: number, id: number): Promise<boolean> {
    const before = this.apps.length;
    this.apps = this.apps.filter((a) => !(a.accountId === accountId && a.id === id));
    return this.apps.length < before;
  }
  async touchAppPassword(id: number, lookupTag?: string): Promise<void> {
    this.touched.push(id);
    const app = this.apps.find((a) => a.id === id);
    if (app && app.lookupTag === null && lookupTag) app.lookupTag = lookupTag;
  }
}

const TLS: SaslContext = { protocol: 'smtp', remoteAddress: '192.0.2.10', isTls: true };

async function setup(options: { maxFailuresPerIp?: number; allowPlaintextAuth?: (c: SaslContext) => boolean; scramIterations?: number; verifiedCache?: VerifiedCredentialCache } = {}) {
  const store = new FakeAccounts();
  const alice = await store.addUser('alice@example.org', 'alice-pw');
  const verified: string[] = [];
  const sleeps: number[] = [];
  const logLines: Record<string, unknown>[] = [];
  const sink = new Writable({ write(chunk, _enc, cb) { logLines.push(JSON.parse(chunk.toString())); cb(); } });
  const limiter = new AuthLimiter({ maxFailuresPerIp: options.maxFailuresPerIp ?? 10, penaltyDelayMs: 2000 });
  const auth = new AuthService({
    accounts: store as unknown as AccountStore,
    limiter,
    logger: pino({ level: 'info' }, sink),
    allowPlaintextAuth: options.allowPlaintextAuth,
    scramSecret: Buffer.from('test-secret'),
    scramIterations: options.scramIterations ?? 4096,
    sleep: async (ms) => { sleeps.push(ms); },
    verifyPassword: async (hash, password) => { verified.push(hash); return verifyPassword(hash, password); },
    verifiedCache: options.verifiedCache,
  });
  return { store, alice, auth, verified, sleeps, logLines };
}

async function plain(auth: AuthService, user: string, pass: string, context = TLS, authzid = ''): Promise<SaslStep> {
  const exchange = auth.start('PLAIN', context);
  assert.ok(exchange);
  return exchange.step(plainClientResponse(user, pass, authzid));
}

async function scram(auth: AuthService, user: string, pass: string, context = TLS): Promise<{ step: SaslStep; serverFirst: string }> {
  const exchange = auth.start('SCRAM-SHA-256', context) as SaslExchange;
  const client = new ScramSha256Client({ username: user, password: pass });
  const first = await exchange.step(client.clientFirst());
  if (first.kind !== 'challenge') return { step: first, serverFirst: '' };
  const step = await exchange.step(await client.handleServerFirst(first.data));
  if (step.kind === 'success') client.verifyServerFinal(step.serverFinal!);
  return { step, serverFirst: first.data.toString() };
}

const FAIL = { kind: 'failure', reason: 'invalid-credentials' };

test('advertises SCRAM-SHA-256 first under TLS and nothing in clear text unless allowed', async () => {
  const { auth } = await setup({ allowPlaintextAuth: (c) => c.remoteAddress === '127.0.0.1' });
  assert.deepEqual(auth.mechanisms(TLS), ['SCRAM-SHA-256', 'PLAIN', 'LOGIN']);
  assert.deepEqual(auth.mechanisms({ ...TLS, isTls: false }), []);
  assert.equal(auth.start('PLAIN', { ...TLS, isTls: false }), null);
  assert.deepEqual(auth.mechanisms({ ...TLS, isTls: false, remoteAddress: '127.0.0.1' }), ['SCRAM-SHA-256', 'PLAIN', 'LOGIN']);
  assert.equal(auth.start('CRAM-MD5', TLS), null);
  assert.ok(auth.start('plain', TLS), 'mechanism names are case-insensitive');
  assert.deepEqual(await auth.checkPassword('alice@example.org', 'alice-pw', { ...TLS, isTls: false }), FAIL);
});

test('PLAIN logs in with the full address in any case and logs auth.success without the password', async () => {
  const { auth, alice, logLines, sleeps } = await setup();
  assert.deepEqual(await plain(auth, 'Alice@Example.ORG', 'alice-pw'), { kind: 'success', identity: { accountId: alice.id, address: 'alice@example.org', credential: credentialStamp(alice) } });
  const line = logLines.find((l) => l.event === 'auth.success');
  assert.ok(line);
  assert.equal(line.protocol, 'smtp');
  assert.equal(line.ip, '192.0.2.10');
  assert.equal(line.username, 'alice@example.org');
  assert.equal(line.mechanism, 'PLAIN');
  assert.ok(!JSON.stringify(logLines).includes('alice-pw'));
  assert.deepEqual(sleeps, [], 'successes are never delayed');
});

test('LOGIN and checkPassword follow the same rules', async () => {
  const { auth, alice } = await setup();
  const exchange = auth.start('LOGIN', TLS)!;
  await exchange.step(null);
  await exchange.step(Buffer.from('alice@example.org'));
  assert.equal((await exchange.step(Buffer.from('alice-pw'))).kind, 'success');
  assert.deepEqual(await auth.checkPassword('alice@example.org', 'alice-pw', { ...TLS, protocol: 'imap' }), { kind: 'success', identity: { accountId: alice.id, address: 'alice@example.org', credential: credentialStamp(alice) } });
  assert.deepEqual(await auth.checkPassword('alice@example.org', 'nope', { ...TLS, protocol: 'pop3' }), FAIL);
});

test('unknown user, wrong password and disabled account give the identical answer after one verify each', async () => {
  const { auth, store, verified, sleeps, logLines } = await setup();
  const bob = await store.addUser('bob@example.org', 'bob-pw');
  bob.disabled = true;
  verified.length = 0;
  assert.deepEqual(await plain(auth, 'nobody@example.org', 'x'), FAIL);
  assert.deepEqual(verified, [DUMMY_HASH], 'unknown user still pays for a verify');
  verified.length = 0;
  assert.deepEqual(await plain(auth, 'alice@example.org', 'x'), FAIL);
  assert.equal(verified.length, 1);
  verified.length = 0;
  assert.deepEqual(await plain(auth, 'bob@example.org', 'bob-pw'), FAIL, 'disabled, even with the right password');
  assert.equal(verified.length, 1);
  assert.deepEqual(sleeps, [2000, 2000, 2000]);
  assert.deepEqual(logLines.filter((l) => l.event === 'auth.failed').map((l) => l.reason), ['unknown-user', 'wrong-password', 'disabled']);
});

test('unknown user and wrong password take similar time (real scrypt)', async () => {
  // the fixture's hashes are cheap (logN 10); give alice a default-cost hash like a real account
  const { auth, store } = await setup({ maxFailuresPerIp: 100 });
  store.accounts.get('alice@example.org')!.passwordHash = await hashPassword('alice-pw');
  const timeOf = async (user: string) => {
    const t = performance.now();
    await plain(auth, user, 'wrong');
    return performance.now() - t;
  };
  // interleaved minimum of several samples: the machine may be busy with other work
  const known: number[] = [];
  const unknown: number[] = [];
  for (let i = 0; i < 4; i++) {
    known.push(await timeOf('alice@example.org'));
    unknown.push(await timeOf('ghost@example.org'));
  }
  const [k, u] = [Math.min(...known), Math.min(...unknown)];
  assert.ok(u > k / 3 && u < k * 3, `known ${k.toFixed(1)} ms vs unknown ${u.toFixed(1)} ms`);
});

test('PLAIN authzid must be empty or the same user', async () => {
  const { auth } = await setup();
  assert.equal((await plain(auth, 'alice@example.org', 'alice-pw', TLS, 'ALICE@example.org')).kind, 'success');
  assert.deepEqual(await plain(auth, 'alice@example.org', 'alice-pw', TLS, 'boss@example.org'), FAIL);
});

test('an app password works over PLAIN, IMAP LOGIN and SCRAM, is recorded as used, and stops working when revoked', async () => {
  const { auth, store, alice } = await setup();
  const app = await store.addApp(alice, 'app-secret-123');
  const expected = { kind: 'success', identity: { accountId: alice.id, address: 'alice@example.org', appPasswordId: app.id, credential: credentialStamp(alice) } };
  assert.deepEqual(await plain(auth, 'alice@example.org', 'app-secret-123'), expected);
  assert.deepEqual(await auth.checkPassword('alice@example.org', 'app-secret-123', { ...TLS, protocol: 'imap' }), expected);
  const viaScram = await scram(auth, 'alice@example.org', 'app-secret-123');
  assert.equal(viaScram.step.kind === 'success' && viaScram.step.identity.appPasswordId, app.id);
  assert.deepEqual(store.touched, [app.id, app.id, app.id]);
  await store.removeAppPassword(alice.id, app.id);
  assert.deepEqual(await plain(auth, 'alice@example.org', 'app-secret-123'), FAIL);
  assert.deepEqual((await scram(auth, 'alice@example.org', 'app-secret-123')).step, FAIL);
  assert.equal((await plain(auth, 'alice@example.org', 'alice-pw')).kind, 'success', 'the account password is untouched');
});

test('SCRAM-SHA-256 round trip with derived credentials, server signature verified by the client', async () => {
  const { auth, alice, logLines } = await setup();
  const { step } = await scram(auth, 'alice@example.org', 'alice-pw');
  assert.equal(step.kind, 'success');
  assert.deepEqual(step.kind === 'success' && step.identity, { accountId: alice.id, address: 'alice@example.org', credential: credentialStamp(alice) });
  assert.equal(logLines.at(-1)?.mechanism, 'SCRAM-SHA-256');
  assert.deepEqual((await scram(auth, 'alice@example.org', 'wrong')).step, FAIL);
});

test('SCRAM: an unknown user gets a stable fake salt and the same failure as a wrong password', async () => {
  const { auth, store } = await setup();
  const a = await scram(auth, 'ghost@example.org', 'x');
  const b = await scram(auth, 'ghost@example.org', 'y');
  const c = await scram(auth, 'phantom@example.org', 'x');
  const salt = (s: string) => /,s=([^,]+),i=(\d+)$/.exec(s)!.slice(1);
  assert.deepEqual(a.step, FAIL);
  assert.deepEqual(salt(a.serverFirst), salt(b.serverFirst), 'same salt on every probe, like a real account');
  assert.notDeepEqual(salt(a.serverFirst), salt(c.serverFirst));
  assert.equal(salt(a.serverFirst)[1], '4096');
  assert.equal(Buffer.from(salt(a.serverFirst)[0]!, 'base64').length, 16);
  store.accounts.get('alice@example.org')!.disabled = true;
  assert.deepEqual((await scram(auth, 'alice@example.org', 'alice-pw')).step, FAIL, 'disabled account via SCRAM');
});

test('SCRAM: an unknown user is announced the configured iteration count, as a new account would be', async () => {
  const { auth } = await setup({ scramIterations: 600_000 });
  const a = await scram(auth, 'ghost@example.org', 'x');
  assert.match(a.serverFirst, /,i=600000$/);
});

test('brute force: after 10 failures the IP is throttled without checking passwords; the owner from another IP logs in', async () => {
  const { auth, verified, logLines } = await setup();
  for (let i = 0; i < 10; i++) assert.deepEqual(await plain(auth, 'alice@example.org', `guess${i}`), FAIL);
  verified.length = 0;
  assert.deepEqual(await plain(auth, 'alice@example.org', 'alice-pw'), { kind: 'failure', reason: 'throttled' });
  assert.deepEqual(await auth.checkPassword('alice@example.org', 'alice-pw', { ...TLS, protocol: 'pop3' }), { kind: 'failure', reason: 'throttled' });
  assert.deepEqual((await scram(auth, 'alice@example.org', 'alice-pw')).step, { kind: 'failure', reason: 'throttled' });
  assert.deepEqual(verified, [], 'no password was checked');
  assert.equal(logLines.at(-1)?.reason, 'throttled');
  assert.equal((await plain(auth, 'alice@example.org', 'alice-pw', { ...TLS, remoteAddress: '203.0.113.7', protocol: 'imap' })).kind, 'success');
});

test('a store failure is a temporary failure, not a wrong password', async () => {
  const { auth, store } = await setup();
  store.failing = true;
  assert.deepEqual(await plain(auth, 'alice@example.org', 'alice-pw'), { kind: 'failure', reason: 'temporary' });
  assert.deepEqual((await scram(auth, 'alice@example.org', 'alice-pw')).step, { kind: 'failure', reason: 'temporary' });
});

test('a failed login costs one password check however many app passwords the account has', async () => {
  const { auth, store, alice, verified } = await setup();
  for (const p of ['abcd-efgh-jkmn-pqrs', 'stuv-wxyz-2345-6789', 'app-secret-3']) await store.addApp(alice, p);
  for (const guess of ['wrong', 'zzzz-zzzz-zzzz-zzzz', 'alice-pw-']) {
    verified.length = 0;
    assert.deepEqual(await plain(auth, 'alice@example.org', guess), FAIL);
    assert.equal(verified.length, 1, `${guess}: ${verified.length} checks`);
  }
  verified.length = 0;
  assert.equal((await plain(auth, 'alice@example.org', 'stuv-wxyz-2345-6789')).kind, 'success');
  assert.equal((await plain(auth, 'alice@example.org', 'alice-pw')).kind, 'success');
  assert.equal(verified.length, 2, 'an app password and the account password: one check each');
});

test('an app password made before lookup tags still logs in, and is tagged by that use', async () => {
  const { auth, store, alice, verified } = await setup();
  const old = await store.addApp(alice, 'abcd-efgh-jkmn-pqrs', { legacy: true });
  await store.addApp(alice, 'stuv-wxyz-2345-6789', { legacy: true });
  verified.length = 0;
  assert.deepEqual(await plain(auth, 'alice@example.org', 'not-shaped-like-one'), FAIL);
  assert.equal(verified.length, 1, 'a candidate that cannot be an app password is checked once');
  const step = await plain(auth, 'alice@example.org', 'abcd-efgh-jkmn-pqrs');
  assert.equal(step.kind === 'success' && step.identity.appPasswordId, old.id);
  assert.equal(store.apps.find((a) => a.id === old.id)?.lookupTag, appPasswordTag('abcd-efgh-jkmn-pqrs'));
  verified.length = 0;
  assert.equal((await plain(auth, 'alice@example.org', 'abcd-efgh-jkmn-pqrs')).kind, 'success');
  assert.equal(verified.length, 1, 'once tagged, one check');
});

test('verified cache: a repeated right login skips the hash check; wrong passwords are always checked', async () => {
  const { auth, verified } = await setup({ verifiedCache: new VerifiedCredentialCache({ ttlMs: 60_000 }) });
  assert.equal((await plain(auth, 'alice@example.org', 'alice-pw')).kind, 'success');
  assert.equal((await plain(auth, 'Alice@Example.org', 'alice-pw')).kind, 'success');
  assert.equal((await checkPasswordVia(auth, 'alice@example.org', 'alice-pw')).kind, 'success');
  assert.equal(verified.length, 1, 'one hash check for three logins');
  assert.deepEqual(await plain(auth, 'alice@example.org', 'alice-pw2'), FAIL);
  assert.equal(verified.length, 2, 'a wrong password is checked in full');
});

test('verified cache: a changed password, a disabled account or a removed app password is never let in from the cache', async () => {
  const { auth, store, alice, verified } = await setup({ verifiedCache: new VerifiedCredentialCache({ ttlMs: 60_000 }) });
  const app = await store.addApp(alice, 'abcd-efgh-jkmn-pqrs');
  assert.equal((await plain(auth, 'alice@example.org', 'alice-pw')).kind, 'success');
  assert.equal((await plain(auth, 'alice@example.org', 'abcd-efgh-jkmn-pqrs')).kind, 'success');
  await store.removeAppPassword(alice.id, app.id);
  assert.deepEqual(await plain(auth, 'alice@example.org', 'abcd-efgh-jkmn-pqrs'), FAIL);
  alice.passwordHash = await hashPassword('new-pw', { logN: 10 });
  verified.length = 0;
  assert.deepEqual(await plain(auth, 'alice@example.org', 'alice-pw'), FAIL);
  assert.equal(verified.length, 1, 'checked against the new hash');
  assert.equal((await plain(auth, 'alice@example.org', 'new-pw')).kind, 'success');
  alice.disabled = true;
  assert.deepEqual(await plain(auth, 'alice@example.org', 'new-pw'), FAIL);
});

test('verified cache: entries expire after their time to live; 0 turns the cache off', async () => {
  let now = 1_000_000;
  const cache = new VerifiedCredentialCache({ ttlMs: 1000, now: () => now });
  cache.remember('a@example.org', 'pw', 'HASH');
  assert.equal(cache.has('A@example.org', 'pw', 'HASH'), true);
  assert.equal(cache.has('a@example.org', 'pw', 'OTHER'), false);
  assert.equal(cache.has('a@example.org', 'pw2', 'HASH'), false);
  now += 1000;
  assert.equal(cache.has('a@example.org', 'pw', 'HASH'), false);
  const off = new VerifiedCredentialCache({ ttlMs: 0 });
  off.remember('a@example.org', 'pw', 'HASH');
  assert.equal(off.has('a@example.org', 'pw', 'HASH'), false);
  assert.equal(off.size, 0);
  const small = new VerifiedCredentialCache({ ttlMs: 1000, maxEntries: 2 });
  for (const u of ['a', 'b', 'c']) small.remember(`${u}@example.org`, 'pw', 'HASH');
  assert.equal(small.size, 2);
  assert.equal(small.has('a@example.org', 'pw', 'HASH'), false, 'the oldest went first');
});

async function checkPasswordVia(auth: AuthService, user: string, pass: string): Promise<SaslStep> {
  return auth.checkPassword(user, pass, TLS);
}
