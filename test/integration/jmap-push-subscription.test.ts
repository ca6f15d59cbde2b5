// JMAP PushSubscription (RFC 8620 §7.2) over real sockets: curl makes the JMAP calls, a real HTTPS endpoint
// on loopback (certificate from the test CA) receives the PushVerification, then a StateChange within 1 s of
// an SMTP delivery once verified (none before); with keys the body is decrypted here by RFC 8291 with Node's
// crypto; the types filter; expires shortened; other credentials see nothing; refused URLs; revocation.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createECDH, createDecipheriv, hkdfSync, randomBytes } from 'node:crypto';
import https from 'node:https';
import type { AddressInfo } from 'node:net';
import nodemailer from 'nodemailer';
import { AccessTokens } from '../../src/accounts/access-tokens.ts';
import { deriveScram, hashPassword } from '../../src/accounts/passwords.ts';
import { caFile, curl } from '../harness/curl.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { createTestCa, issueServerCertificate } from '../harness/test-ca.ts';

const ALICE = 'alice@example.test';
const PASS = 'correct horse battery staple';
const APP_PASS = 'abcd-efgh-jkmn-pqrs';

interface Received { path: string; headers: Record<string, string | string[] | undefined>; body: Buffer; at: number }

/** RFC 8291 §3.4 and RFC 8188 §2: decrypts one aes128gcm push with the user agent's keys. */
function decrypt(body: Buffer, ua: ReturnType<typeof createECDH>, auth: Buffer): any {
  const salt = body.subarray(0, 16);
  const idlen = body[20]!;
  const asPublic = body.subarray(21, 21 + idlen);
  const ciphertext = body.subarray(21 + idlen);
  const ecdhSecret = ua.computeSecret(asPublic);
  const keyInfo = Buffer.concat([Buffer.from('WebPush: info\0'), ua.getPublicKey(), asPublic]);
  const ikm = Buffer.from(hkdfSync('sha256', ecdhSecret, auth, keyInfo, 32));
  const cek = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: aes128gcm\0'), 16));
  const nonce = Buffer.from(hkdfSync('sha256', ikm, salt, Buffer.from('Content-Encoding: nonce\0'), 12));
  const decipher = createDecipheriv('aes-128-gcm', cek, nonce);
  decipher.setAuthTag(ciphertext.subarray(ciphertext.length - 16));
  const padded = Buffer.concat([decipher.update(ciphertext.subarray(0, ciphertext.length - 16)), decipher.final()]);
  let end = padded.length - 1;
  while (padded[end] === 0) end--;
  assert.equal(padded[end], 2, 'RFC 8188 §2: the last record ends with the delimiter 2');
  return JSON.parse(padded.subarray(0, end).toString('utf8'));
}

describe('JMAP PushSubscription', () => {
  let t: TestServer;
  let accountId: string;
  let storeAccountId: number;
  let endpoint: https.Server;
  let endpointUrl: string;
  const received: Received[] = [];
  const testCa = createTestCa();
  const caPath = caFile(testCa.cert);
  let serverCa: { path: string; remove(): void };

  const jmap = async (calls: unknown[][], user = `${ALICE}:${PASS}`): Promise<any[]> => {
    const auth = user.startsWith('Bearer ') ? ['-H', `Authorization: ${user}`] : ['-u', user];
    const res = await curl(['--cacert', serverCa.path, ...auth, '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:vacationresponse'], methodCalls: calls }), `https://localhost:${t.ports.https}/jmap/api`]);
    assert.equal(res.status, 200, res.body);
    return res.json().methodResponses;
  };
  const waitFor = async (path: string, count: number, timeoutMs = 5000): Promise<Received[]> => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const got = received.filter((r) => r.path === path);
      if (got.length >= count) return got;
      if (Date.now() > deadline) throw new Error(`${path}: ${got.length} of ${count} pushes in ${timeoutMs} ms`);
      await new Promise((r) => setTimeout(r, 20));
    }
  };
  const deliver = async (subject: string): Promise<number> => {
    const smtp = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.example.net' });
    await smtp.sendMail({ envelope: { from: 'bob@example.net', to: [ALICE] }, raw: `From: bob@example.net\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\n\r\nhi\r\n` });
    smtp.close();
    return Date.now();
  };
  const create = async (props: Record<string, unknown>, user?: string): Promise<any> => (await jmap([['PushSubscription/set', { create: { k: { deviceClientId: 'phone', ...props } } }, '0']], user))[0]![1];

  before(async () => {
    const cert = issueServerCertificate(testCa, { dnsNames: ['localhost'] });
    endpoint = https.createServer({ cert: cert.cert, key: cert.key }, (req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ path: req.url!, headers: req.headers, body: Buffer.concat(chunks), at: Date.now() });
        res.statusCode = 201;
        res.end();
      });
    });
    await new Promise<void>((r) => endpoint.listen(0, '127.0.0.1', r));
    endpointUrl = `https://localhost:${(endpoint.address() as AddressInfo).port}`;
    t = await startTestServer({ startQueue: false, config: { outboundTls: { caFile: caPath.path }, http: { pushAllowedNetworks: ['127.0.0.0/8', '::1'] } } as never });
    serverCa = caFile(t.ca);
    storeAccountId = await t.addUser(ALICE, PASS);
    const store = t.server.services.store;
    const account = (await store.getAccount(ALICE))!;
    await store.addAppPassword({ accountId: account.id, label: 'phone', passwordHash: await hashPassword(APP_PASS, { logN: 10 }), scram: await deriveScram(APP_PASS, { salt: account.scram!.salt, iterations: account.scram!.iterations }) });
    const session = await curl(['--cacert', serverCa.path, '-u', `${ALICE}:${PASS}`, `https://localhost:${t.ports.https}/jmap/session`]);
    accountId = Object.keys(session.json().accounts)[0]!;
  });

  after(async () => {
    await t.stop();
    endpoint.close();
    caPath.remove();
    serverCa.remove();
  });

  it('posts a PushVerification, nothing before the code is set back, then a StateChange within 1 s of an SMTP delivery', async () => {
    const made = await create({ url: `${endpointUrl}/plain` });
    const id = made.created.k.id as string;
    assert.ok(id);
    const [verification] = await waitFor('/plain', 1);
    assert.equal(verification!.headers['content-type'], 'application/json');
    assert.ok(Number(verification!.headers.ttl) > 0, 'RFC 8030 §5.2: a TTL header');
    const body = JSON.parse(verification!.body.toString());
    assert.deepEqual(Object.keys(body).sort(), ['@type', 'pushSubscriptionId', 'verificationCode']);
    assert.equal(body['@type'], 'PushVerification');
    assert.equal(body.pushSubscriptionId, id);

    // RFC 8620 §7.2.2: unverified, a change is not pushed.
    await deliver('before verification');
    await new Promise((r) => setTimeout(r, 700));
    assert.equal(received.filter((r) => r.path === '/plain').length, 1);

    const wrong = (await jmap([['PushSubscription/set', { update: { [id]: { verificationCode: 'nope' } } }, '0']]))[0]![1];
    assert.equal(wrong.notUpdated[id].type, 'invalidProperties');
    const set = (await jmap([['PushSubscription/set', { update: { [id]: { verificationCode: body.verificationCode } } }, '0']]))[0]![1];
    assert.ok(id in set.updated, JSON.stringify(set));
    const got = (await jmap([['PushSubscription/get', { ids: null }, '0']]))[0]![1];
    assert.deepEqual(got.list.map((s: any) => [s.id, s.verificationCode, s.deviceClientId, 'url' in s, 'keys' in s]), [[id, body.verificationCode, 'phone', false, false]]);

    const sent = await deliver('after verification');
    const pushes = await waitFor('/plain', 2);
    const change = JSON.parse(pushes[1]!.body.toString());
    assert.equal(change['@type'], 'StateChange');
    assert.ok(change.changed[accountId].Email, JSON.stringify(change));
    assert.ok(pushes[1]!.at - sent < 1000, `pushed ${pushes[1]!.at - sent} ms after the 250`);
    const states = (await jmap([['Email/get', { accountId, ids: [] }, '0']]))[0]![1];
    await new Promise((r) => setTimeout(r, 200));
    const last = JSON.parse(received.filter((r) => r.path === '/plain').at(-1)!.body.toString());
    assert.equal(last.changed[accountId].Email, states.state, 'the last push names the current Email state');
  });

  it('encrypts with RFC 8291 (aes128gcm) when keys are given', async () => {
    const ua = createECDH('prime256v1');
    ua.generateKeys();
    const auth = randomBytes(16);
    const made = await create({ url: `${endpointUrl}/keys`, keys: { p256dh: ua.getPublicKey().toString('base64url'), auth: auth.toString('base64url') } });
    const id = made.created.k.id as string;
    const [verification] = await waitFor('/keys', 1);
    assert.equal(verification!.headers['content-encoding'], 'aes128gcm');
    assert.ok(!verification!.body.toString('latin1').includes('PushVerification'));
    const body = decrypt(verification!.body, ua, auth);
    assert.equal(body['@type'], 'PushVerification');
    await jmap([['PushSubscription/set', { update: { [id]: { verificationCode: body.verificationCode } } }, '0']]);
    await deliver('encrypted');
    const pushes = await waitFor('/keys', 2);
    const change = decrypt(pushes[1]!.body, ua, auth);
    assert.equal(change['@type'], 'StateChange');
    assert.ok(change.changed[accountId].Email);
    await jmap([['PushSubscription/set', { destroy: [id] }, '0']]);
  });

  it('pushes only the types asked for', async () => {
    const made = await create({ url: `${endpointUrl}/types`, types: ['VacationResponse'] });
    const id = made.created.k.id as string;
    const [verification] = await waitFor('/types', 1);
    await jmap([['PushSubscription/set', { update: { [id]: { verificationCode: JSON.parse(verification!.body.toString()).verificationCode } } }, '0']]);
    await deliver('not a vacation change');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(received.filter((r) => r.path === '/types').length, 1, 'an Email change is not pushed');
    await jmap([['VacationResponse/set', { accountId, update: { singleton: { isEnabled: true, textBody: 'away' } } }, '0']]);
    const pushes = await waitFor('/types', 2);
    assert.deepEqual(Object.keys(JSON.parse(pushes[1]!.body.toString()).changed[accountId]), ['VacationResponse']);
    await jmap([['PushSubscription/set', { destroy: [id] }, '0']]);
  });

  it('shortens expires to the configured maximum and tells the client', async () => {
    const made = await create({ url: `${endpointUrl}/expires`, expires: '2100-01-01T00:00:00Z' });
    const expires = Date.parse(made.created.k.expires);
    assert.ok(expires <= Date.now() + 7 * 86_400_000 + 1000 && expires > Date.now() + 7 * 86_400_000 - 60_000, made.created.k.expires);
    const past = await create({ url: `${endpointUrl}/expires`, expires: '2000-01-01T00:00:00Z' });
    assert.deepEqual(past.notCreated.k.properties, ['expires']);
    await jmap([['PushSubscription/set', { destroy: [made.created.k.id] }, '0']]);
  });

  it('refuses http URLs, internal addresses, url/keys in get and changes to the url', async () => {
    for (const url of ['http://localhost/x', 'https://10.0.0.1/x', 'https://[fe80::1]/x', 'https://169.254.169.254/latest']) {
      const res = await create({ url });
      assert.equal(res.notCreated.k.type, 'invalidProperties', url);
      assert.deepEqual(res.notCreated.k.properties, ['url'], url);
    }
    const forbidden = (await jmap([['PushSubscription/get', { ids: null, properties: ['id', 'url'] }, '0']]))[0]!;
    assert.deepEqual([forbidden[0], forbidden[1].type], ['error', 'forbidden']);
    const made = await create({ url: `${endpointUrl}/immutable` });
    const id = made.created.k.id as string;
    const res = (await jmap([['PushSubscription/set', { update: { [id]: { url: `${endpointUrl}/other` } } }, '0']]))[0]![1];
    assert.deepEqual(res.notUpdated[id].properties, ['url']);
    await jmap([['PushSubscription/set', { destroy: [id] }, '0']]);
  });

  it('is seen only by the credential that made it, and goes with a revoked app password', async () => {
    const made = await create({ url: `${endpointUrl}/app` }, `${ALICE}:${APP_PASS}`);
    const id = made.created.k.id as string;
    assert.ok(id, JSON.stringify(made));
    const mine = (await jmap([['PushSubscription/get', { ids: null }, '0']], `${ALICE}:${APP_PASS}`))[0]![1];
    assert.deepEqual(mine.list.map((s: any) => s.id), [id]);
    const theirs = (await jmap([['PushSubscription/get', { ids: [id] }, '0'], ['PushSubscription/set', { destroy: [id] }, '1']]));
    assert.deepEqual(theirs[0]![1].notFound, [id]);
    assert.equal(theirs[1]![1].notDestroyed[id].type, 'notFound');
    const store = t.server.services.store;
    const app = (await store.listAppPasswords(storeAccountId))[0]!;
    await store.removeAppPassword(storeAccountId, app.id);
    assert.ok(!(await store.listPushSubscriptions(storeAccountId)).some((s) => s.id === id));
  });

  it('goes with the login session (Bearer token) that made it, and with a password change', async () => {
    const store = t.server.services.store;
    const tokens = new AccessTokens({ store, lifetimeMs: 3_600_000 });
    const { token } = await tokens.issue({ accountId: storeAccountId, address: ALICE }, 'test session');
    const made = await create({ url: `${endpointUrl}/session` }, `Bearer ${token}`);
    const id = made.created.k.id as string;
    assert.ok(id, JSON.stringify(made));
    assert.ok(!(await jmap([['PushSubscription/get', { ids: null }, '0']]))[0]![1].list.some((x: any) => x.id === id), 'a Basic login does not see the session\'s');
    const [verification] = await waitFor('/session', 1);
    await jmap([['PushSubscription/set', { update: { [id]: { verificationCode: JSON.parse(verification!.body.toString()).verificationCode } } }, '0']], `Bearer ${token}`);
    assert.equal(await tokens.revoke(storeAccountId, token), true);
    await deliver('after logout');
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(received.filter((r) => r.path === '/session').length, 1, 'nothing pushed after the session ended');
    assert.ok(!(await store.listPushSubscriptions(storeAccountId)).some((s) => s.id === id), 'removed with the session');

    const kept = await create({ url: `${endpointUrl}/password` });
    assert.ok(kept.created.k.id);
    await store.updateAccount(ALICE, { passwordHash: await hashPassword('a new password entirely', { logN: 10 }) });
    const deadline = Date.now() + 3000;
    while ((await store.listPushSubscriptions(storeAccountId)).some((s) => s.id === kept.created.k.id)) {
      assert.ok(Date.now() < deadline, 'removed after the password change');
      await new Promise((r) => setTimeout(r, 25));
    }
  });
});
