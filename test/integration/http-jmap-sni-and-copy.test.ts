/**
 * Two things a multi-domain server is asked over HTTPS: the https listener picks the certificate by SNI
 * like the mail ports ([tls.sni], one TlsProvider), so each host name gets its own and curl verifies it;
 * and Email/copy and Blob/copy from an account the user cannot access are fromAccountNotFound (another
 * user's account id names nothing for them), from their own account invalidArguments (RFC 8620 §5.4).
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import { join } from 'node:path';
import { curl } from '../harness/curl.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { issueServerCertificate, makeTlsFixture, type ServerCertificate, type TlsFixture } from '../harness/test-ca.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASS = 'sni and copy pass';

describe('HTTPS certificates by SNI, and copies from other accounts', () => {
  let t: TestServer;
  let fixture: TlsFixture;
  let other: ServerCertificate;
  let alice: string;
  let bob: string;

  before(async () => {
    fixture = makeTlsFixture({ dnsNames: ['mail.example.test'], ips: ['127.0.0.1'] });
    other = issueServerCertificate(fixture.ca, { dnsNames: ['mail.other.test'], ips: [] });
    writeFileSync(join(fixture.dir, 'other.crt'), other.cert);
    writeFileSync(join(fixture.dir, 'other.key'), other.key, { mode: 0o600 });
    t = await startTestServer({
      startQueue: false,
      config: { auth: { allowPlaintextOnLoopback: true }, tls: { cert: fixture.certPath, key: fixture.keyPath, sni: { 'mail.other.test': { cert: join(fixture.dir, 'other.crt'), key: join(fixture.dir, 'other.key') } } } } as never,
    });
    alice = `a${await t.addUser(ALICE, PASS)}`;
    bob = `a${await t.addUser(BOB, PASS)}`;
  });
  after(async () => {
    await t?.stop();
    rmSync(fixture.dir, { recursive: true, force: true });
  });

  const peerCertificate = (servername: string) => new Promise<{ fingerprint: string; status: number }>((resolve, reject) => {
    const req = https.get({ host: '127.0.0.1', port: t.ports.https, servername, path: '/healthz', ca: fixture.ca.cert, agent: false }, (res) => {
      const fingerprint = (res.socket as import('node:tls').TLSSocket).getPeerCertificate().fingerprint256;
      res.resume();
      res.on('end', () => resolve({ fingerprint, status: res.statusCode ?? 0 }));
    });
    req.on('error', reject);
  });

  it('each host name gets its own certificate on the https listener, verified by the client', async () => {
    assert.deepEqual(await peerCertificate('mail.other.test'), { fingerprint: other.fingerprint256, status: 200 });
    assert.deepEqual(await peerCertificate('mail.example.test'), { fingerprint: fixture.server.fingerprint256, status: 200 });
    // curl checks the name against the certificate it got: both succeed only if each name got its own.
    for (const name of ['mail.other.test', 'mail.example.test']) {
      const r = await curl(['--cacert', fixture.caPath, '--resolve', `${name}:${t.ports.https}:127.0.0.1`, '-u', `${ALICE}:${PASS}`, `https://${name}:${t.ports.https}/jmap/session`]);
      assert.equal(r.status, 200, name);
      assert.equal(r.json().apiUrl, `https://${name}:${t.ports.https}/jmap/api`);
    }
  });

  it('Email/copy and Blob/copy from an account the user cannot access are fromAccountNotFound, from their own invalidArguments', async () => {
    assert.equal((await sendRaw(t.ports.smtp, { from: 'carol@elsewhere.test', to: [BOB], data: 'From: carol@elsewhere.test\r\nSubject: for Bob\r\n\r\nsecret\r\n' })).code, 250);
    await t.waitForMessages(BOB, 1);
    const call = async (user: string, methodCalls: unknown[]): Promise<[string, any, string][]> => {
      const res = await fetch(`http://127.0.0.1:${t.ports.http}/jmap/api`, {
        method: 'POST',
        headers: { authorization: `Basic ${Buffer.from(`${user}:${PASS}`).toString('base64')}`, 'content-type': 'application/json' },
        body: JSON.stringify({ using: ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'], methodCalls }),
      });
      return ((await res.json()) as { methodResponses: [string, any, string][] }).methodResponses;
    };
    const [[, bobQuery]] = await call(BOB, [['Email/query', { accountId: bob }, 'q']]);
    const [[, bobGet]] = await call(BOB, [['Email/get', { accountId: bob, ids: bobQuery.ids, properties: ['blobId'] }, 'g']]);
    const emailId = bobQuery.ids[0];
    const [[, inbox]] = await call(ALICE, [['Mailbox/query', { accountId: alice, filter: { role: 'inbox' } }, 'm']]);
    const responses = await call(ALICE, [
      ['Email/copy', { fromAccountId: bob, accountId: alice, create: { c1: { id: emailId, mailboxIds: { [inbox.ids[0]]: true } } } }, 'copy'],
      ['Blob/copy', { fromAccountId: bob, accountId: alice, blobIds: [bobGet.list[0].blobId] }, 'blob'],
      ['Email/copy', { fromAccountId: alice, accountId: alice, create: { c2: { id: emailId, mailboxIds: { [inbox.ids[0]]: true } } } }, 'same'],
      ['Email/get', { accountId: bob, ids: [emailId] }, 'get'],
      ['Email/get', { accountId: alice, ids: [emailId] }, 'mine'],
    ]);
    assert.deepEqual(responses.map(([name, args]) => (name === 'error' ? args.type : name)), ['fromAccountNotFound', 'fromAccountNotFound', 'invalidArguments', 'accountNotFound', 'Email/get']);
    assert.deepEqual(responses[4]![1].notFound, [emailId], 'Bob\'s email id names nothing in Alice\'s account');
    assert.equal((await t.messages(ALICE)).length, 0, 'nothing was copied');
  });
});
