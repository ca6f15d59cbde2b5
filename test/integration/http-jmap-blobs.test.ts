// JMAP blobs and Bearer tokens over HTTP with curl: upload (stored durably, limit refused before reading),
// download with name and type, blob ids valid only in the owning account, Blob/copy, an uploaded message
// imported by Email/import and downloaded as a message blob, and Bearer tokens that end with the password.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { caFile, curl } from '../harness/curl.ts';
import { hashPassword } from '../../src/accounts/passwords.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASS = 'correct horse battery staple';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];

describe('JMAP blobs and Bearer tokens over HTTP', () => {
  let t: TestServer;
  let ca: { path: string; remove(): void };
  let base: string;
  let alice: string;
  let bob: string;
  const as = (user: string) => ['--cacert', ca.path, '-u', `${user}:${PASS}`];
  const api = async (user: string, methodCalls: unknown[]) => {
    const r = await curl([...as(user), '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ using: USING, methodCalls }), `${base}/jmap/api`]);
    assert.equal(r.status, 200, r.body);
    return r.json().methodResponses as [string, any, string][];
  };
  const upload = (user: string, account: string, data: string, extra: string[] = []) =>
    curl([...as(user), '-H', 'Content-Type: text/plain; charset=utf-8', '--data-binary', data, ...extra, `${base}/jmap/upload/${account}/`]);

  before(async () => {
    t = await startTestServer({ startQueue: false, config: { http: { maxUploadSize: 1000 } } as any });
    await t.addUser(ALICE, PASS);
    await t.addUser(BOB, PASS);
    ca = caFile(t.ca);
    base = `https://localhost:${t.ports.https}`;
    alice = Object.keys((await curl([...as(ALICE), `${base}/jmap/session`])).json().accounts)[0]!;
    bob = Object.keys((await curl([...as(BOB), `${base}/jmap/session`])).json().accounts)[0]!;
  });
  after(async () => {
    await t?.stop();
    ca?.remove();
  });

  it('uploads a blob and downloads it with the name and type asked for', async () => {
    const up = await upload(ALICE, alice, 'héllo blob');
    assert.equal(up.status, 201, up.body);
    const b = up.json();
    assert.equal(b.accountId, alice);
    assert.equal(b.type, 'text/plain; charset=utf-8');
    assert.equal(b.size, Buffer.byteLength('héllo blob'));
    assert.match(b.blobId, /^[A-Za-z0-9_-]+$/);
    const down = await curl([...as(ALICE), `${base}/jmap/download/${alice}/${b.blobId}/n%C3%B6te.txt?type=text%2Fplain`]);
    assert.equal(down.status, 200);
    assert.equal(down.body, 'héllo blob');
    assert.equal(down.headers['content-type'], 'text/plain');
    assert.match(down.headers['content-disposition']!, /^attachment; filename="n_te.txt"; filename\*=UTF-8''n%C3%B6te\.txt$/);
    assert.match(down.headers['content-security-policy']!, /sandbox/);
  });

  it('keeps blob ids inside their account: another user gets 404 for the blob and for the account', async () => {
    const b = (await upload(ALICE, alice, 'private')).json();
    const viaOwnAccount = await curl([...as(BOB), `${base}/jmap/download/${bob}/${b.blobId}/x?type=text/plain`]);
    assert.equal(viaOwnAccount.status, 404);
    const viaAlicesAccount = await curl([...as(BOB), `${base}/jmap/download/${alice}/${b.blobId}/x?type=text/plain`]);
    assert.equal(viaAlicesAccount.status, 404);
    const uploadThere = await upload(BOB, alice, 'intrusion');
    assert.equal(uploadThere.status, 404);
    // Blob/copy from Alice's account is fromAccountNotFound for Bob; within his own account the id is unknown.
    const [copy] = await api(BOB, [['Blob/copy', { fromAccountId: alice, accountId: bob, blobIds: [b.blobId] }, 'c']]);
    assert.deepEqual(copy, ['error', { type: 'fromAccountNotFound' }, 'c']);
    const [own] = await api(BOB, [['Blob/copy', { fromAccountId: bob, accountId: bob, blobIds: [b.blobId] }, 'c']]);
    assert.equal(own[0], 'Blob/copy');
    assert.equal(own[1].copied, null);
    assert.equal(own[1].notCopied[b.blobId].type, 'notFound');
    const [mine] = await api(ALICE, [['Blob/copy', { fromAccountId: alice, accountId: alice, blobIds: [b.blobId] }, 'c']]);
    assert.deepEqual(mine[1].copied, { [b.blobId]: b.blobId });
  });

  it('refuses an upload over maxSizeUpload with 413 and stores nothing', async () => {
    const big = await upload(ALICE, alice, 'x'.repeat(1001));
    assert.equal(big.status, 413);
    assert.equal(big.json().limit, 'maxSizeUpload');
    const chunked = await upload(ALICE, alice, 'y'.repeat(5000), ['-H', 'Transfer-Encoding: chunked']);
    assert.equal(chunked.status, 413);
  });

  it('imports an uploaded message with Email/import and serves it back as a message blob', async () => {
    const message = `From: Bob <${BOB}>\r\nTo: ${ALICE}\r\nSubject: imported\r\nMessage-ID: <imp1@example.test>\r\n\r\nbody\r\n`;
    const b = (await upload(ALICE, alice, message)).json();
    const [boxes] = await api(ALICE, [['Mailbox/get', { accountId: alice, ids: null, properties: ['name', 'role'] }, 'm']]);
    const inbox = boxes[1].list.find((m: any) => m.role === 'inbox').id;
    const [imported] = await api(ALICE, [['Email/import', { accountId: alice, emails: { k1: { blobId: b.blobId, mailboxIds: { [inbox]: true }, keywords: {} } } }, 'i']]);
    assert.equal(imported[0], 'Email/import', JSON.stringify(imported));
    const email = imported[1].created.k1;
    assert.equal(t.logs.findLast((l) => l.event === 'http.request' && l.path === '/jmap/api')!.calls?.toString(), 'Email/import');
    const down = await curl([...as(ALICE), `${base}/jmap/download/${alice}/${email.blobId}/m.eml?type=message%2Frfc822`]);
    assert.equal(down.status, 200);
    assert.equal(down.body, message);
    const foreign = await curl([...as(BOB), `${base}/jmap/download/${bob}/${email.blobId}/m.eml?type=message%2Frfc822`]);
    assert.equal(foreign.status, 404, 'a message blob of another account');
  });

  it('accepts a Bearer token issued for a login, and stops accepting it when the password changes', async () => {
    const account = (await t.server.services.store.getAccount(ALICE))!;
    const { token } = await t.server.http.tokens.issue({ accountId: account.id, address: ALICE }, 'test session');
    const ok = await curl(['--cacert', ca.path, '-H', `Authorization: Bearer ${token}`, `${base}/jmap/session`]);
    assert.equal(ok.status, 200);
    assert.equal(ok.json().username, ALICE);
    await t.server.services.store.updateAccount(ALICE, { passwordHash: await hashPassword('another password 1', { logN: 10 }) });
    const after = await curl(['--cacert', ca.path, '-H', `Authorization: Bearer ${token}`, `${base}/jmap/session`]);
    assert.equal(after.status, 401);
    assert.match(after.headers['www-authenticate']!, /invalid_token/);
    assert.ok(!JSON.stringify(t.logs).includes(token), 'the token is never logged');
    await t.server.services.store.updateAccount(ALICE, { passwordHash: await hashPassword(PASS, { logN: 10 }) });
  });
});
