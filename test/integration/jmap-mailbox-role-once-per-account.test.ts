// RFC 8621 §2: at most one mailbox of an account has a given role. Creating a second mailbox with a role
// already taken (over JMAP with curl) is refused with invalidProperties on role, and nothing is created.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { caFile, curl } from '../harness/curl.ts';

const ALICE = 'alice@example.test';
const PASS = 'correct horse battery staple';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail'];

describe('JMAP Mailbox roles are unique in an account', () => {
  let t: TestServer;
  let ca: { path: string; remove(): void };
  let base: string;
  let account: string;
  const api = async (methodCalls: unknown[]) => {
    const r = await curl(['--cacert', ca.path, '-u', `${ALICE}:${PASS}`, '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ using: USING, methodCalls }), `${base}/jmap/api`]);
    assert.equal(r.status, 200, r.body);
    return r.json().methodResponses as [string, any, string][];
  };

  before(async () => {
    t = await startTestServer({ startQueue: false });
    await t.addUser(ALICE, PASS);
    ca = caFile(t.ca);
    base = `https://localhost:${t.ports.https}`;
    account = Object.keys((await curl(['--cacert', ca.path, '-u', `${ALICE}:${PASS}`, `${base}/jmap/session`])).json().accounts)[0]!;
  });
  after(async () => {
    await t?.stop();
    ca?.remove();
  });

  it('refuses a second mailbox with the trash role with invalidProperties on role', async () => {
    const [before] = await api([['Mailbox/get', { accountId: account, ids: null, properties: ['name', 'role'] }, 'g']]);
    const roles = before[1].list.map((m: any) => m.role).filter((r: string | null) => r !== null);
    assert.ok(roles.includes('trash'), `the account starts with a trash mailbox: ${roles.join(', ')}`);
    const [set] = await api([['Mailbox/set', { accountId: account, create: { again: { name: 'Second trash', role: 'trash' } } }, 's']]);
    assert.equal(set[0], 'Mailbox/set');
    assert.equal(set[1].created, null, JSON.stringify(set[1]));
    assert.equal(set[1].notCreated.again.type, 'invalidProperties');
    assert.deepEqual(set[1].notCreated.again.properties, ['role']);
    const [after] = await api([['Mailbox/get', { accountId: account, ids: null, properties: ['name', 'role'] }, 'g']]);
    assert.equal(after[1].list.filter((m: any) => m.role === 'trash').length, 1);
    assert.ok(!after[1].list.some((m: any) => m.name === 'Second trash'));
  });
});
