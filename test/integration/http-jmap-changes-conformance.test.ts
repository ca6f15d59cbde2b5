/**
 * RFC 8620 §5.2 and §5.6 over HTTP: /changes pages with maxChanges and hasMoreChanges, unknown or future
 * states are cannotCalculateChanges, and /queryChanges results applied to the old query give the new one
 * (Mailbox, Email with a thread keyword condition); EmailSubmission/queryChanges says it cannot.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';

const ALICE = 'alice@example.test';
const PASS = 'changes conformance pass';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', 'urn:ietf:params:jmap:submission'];

/** RFC 8620 §5.6: what a client does with a /queryChanges answer. */
function applyQueryChanges(old: string[], r: { removed: string[]; added: { id: string; index: number }[] }): string[] {
  const out = old.filter((id) => !r.removed.includes(id));
  for (const a of [...r.added].sort((x, y) => x.index - y.index)) out.splice(a.index, 0, a.id);
  return out;
}

describe('JMAP /changes and /queryChanges over HTTP', () => {
  let t: TestServer;
  let accountId: string;
  const call = async (method: string, args: Record<string, unknown>): Promise<[string, any]> => {
    const res = await fetch(`http://127.0.0.1:${t.ports.http}/jmap/api`, {
      method: 'POST',
      headers: { authorization: `Basic ${Buffer.from(`${ALICE}:${PASS}`).toString('base64')}`, 'content-type': 'application/json' },
      body: JSON.stringify({ using: USING, methodCalls: [[method, { accountId, ...args }, 'c']] }),
    });
    assert.equal(res.status, 200);
    const [[name, body]] = ((await res.json()) as { methodResponses: [string, any, string][] }).methodResponses;
    return [name, body];
  };
  const deliver = (subject: string, extra = '') => sendRaw(t.ports.smtp, { from: 'carol@elsewhere.test', to: [ALICE], data: `From: carol@elsewhere.test\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\n${extra}\r\nbody\r\n` });

  before(async () => {
    t = await startTestServer({ startQueue: false, config: { auth: { allowPlaintextOnLoopback: true } } as never });
    accountId = `a${await t.addUser(ALICE, PASS)}`;
  });
  after(async () => {
    await t?.stop();
  });

  it('Mailbox/queryChanges: the old query plus the changes is the new query; bad states and maxChanges are refused', async () => {
    const query = { sort: [{ property: 'name' }], filter: { hasAnyRole: false } };
    const [, before] = await call('Mailbox/query', query);
    assert.equal(before.canCalculateChanges, true);
    const [, set] = await call('Mailbox/set', { create: { a: { name: 'Aardvarks' }, z: { name: 'Zebras' } } });
    assert.equal(Object.keys(set.created).length, 2);
    const [, after] = await call('Mailbox/query', query);
    const [name, changes] = await call('Mailbox/queryChanges', { ...query, sinceQueryState: before.queryState, calculateTotal: true });
    assert.equal(name, 'Mailbox/queryChanges');
    assert.equal(changes.newQueryState, after.queryState);
    assert.equal(changes.total, after.ids.length);
    assert.deepEqual(applyQueryChanges(before.ids, changes), after.ids);
    const [, none] = await call('Mailbox/queryChanges', { ...query, sinceQueryState: after.queryState });
    assert.deepEqual([none.removed, none.added], [[], []]);
    assert.equal((await call('Mailbox/queryChanges', { ...query, sinceQueryState: 'bogus' }))[1].type, 'cannotCalculateChanges');
    assert.equal((await call('Mailbox/queryChanges', { ...query, sinceQueryState: String(Number(after.queryState) + 5) }))[1].type, 'cannotCalculateChanges');
    assert.equal((await call('Mailbox/queryChanges', { ...query, sinceQueryState: before.queryState, maxChanges: 1 }))[1].type, 'tooManyChanges');
  });

  it('Email/changes pages by maxChanges with hasMoreChanges, each page ending at a state the client can resume from', async () => {
    const [, start] = await call('Email/get', { ids: [] });
    for (let i = 0; i < 5; i++) assert.equal((await deliver(`page ${i}`)).code, 250);
    await t.waitForMessages(ALICE, 5);
    const seen: string[] = [];
    let state = start.state;
    for (let round = 0; round < 10; round++) {
      const [, page] = await call('Email/changes', { sinceState: state, maxChanges: 2 });
      assert.ok(page.created.length + page.updated.length + page.destroyed.length <= 2);
      seen.push(...page.created);
      state = page.newState;
      if (!page.hasMoreChanges) break;
    }
    assert.equal(new Set(seen).size, 5);
    assert.equal((await call('Email/changes', { sinceState: 'x1' }))[1].type, 'cannotCalculateChanges');
    assert.equal((await call('Email/changes', { sinceState: state, maxChanges: 0 }))[1].type, 'invalidArguments');
  });

  it('Email/queryChanges with someInThreadHaveKeyword reports the thread member that did not change itself', async () => {
    assert.equal((await deliver('thread root', 'Message-ID: <root@elsewhere.test>\r\n')).code, 250);
    assert.equal((await deliver('Re: thread root', 'Message-ID: <reply@elsewhere.test>\r\nIn-Reply-To: <root@elsewhere.test>\r\n')).code, 250);
    await t.waitForMessages(ALICE, 7);
    const query = { filter: { someInThreadHaveKeyword: '$flagged' } };
    const [, before] = await call('Email/query', query);
    assert.deepEqual(before.ids, []);
    const [, all] = await call('Email/query', { filter: { subject: 'thread root' } });
    const [, got] = await call('Email/get', { ids: all.ids, properties: ['threadId', 'subject'] });
    assert.equal(new Set(got.list.map((e: any) => e.threadId)).size, 1, 'one thread');
    const reply = got.list.find((e: any) => e.subject.startsWith('Re:')).id;
    await call('Email/set', { update: { [reply]: { 'keywords/$flagged': true } } });
    const [, after] = await call('Email/query', query);
    assert.equal(after.ids.length, 2, 'both emails of the thread match now');
    const [, changes] = await call('Email/queryChanges', { ...query, sinceQueryState: before.queryState });
    assert.deepEqual(applyQueryChanges(before.ids, changes), after.ids);
  });

  it('EmailSubmission/queryChanges answers from the stored history, as its query says it can', async () => {
    const [, q] = await call('EmailSubmission/query', {});
    assert.equal(q.canCalculateChanges, true);
    const [name, r] = await call('EmailSubmission/queryChanges', { sinceQueryState: q.queryState });
    assert.deepEqual([name, r.removed, r.added, r.newQueryState], ['EmailSubmission/queryChanges', [], [], q.queryState]);
    assert.equal((await call('EmailSubmission/changes', { sinceState: String(Number(q.queryState) + 7) }))[1].type, 'cannotCalculateChanges', 'a state from the future');
  });
});
