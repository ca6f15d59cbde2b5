/**
 * EmailSubmission and Identity records (RFC 8621 §6, §7) in the storage contract: per-account states that
 * only grow, change history with tombstones, queue outcomes written by queue id, and every write seen by a
 * second store instance (another process or node) and announced on the change feed.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { ChangeSource, Store, StoreChange } from '../types.ts';

type WithStore = (fn: (store: Store, openSecond: () => Promise<Store>) => Promise<void>) => Promise<void>;
type NextChange = (store: Store, accept: (change: StoreChange, source: ChangeSource) => boolean, ms?: number) => Promise<unknown>;

export function runSubmissionStoreContract(name: string, deps: { withStore: WithStore; nextChange: NextChange; account: (store: Store, address?: string) => Promise<{ id: number }> }): void {
  const { withStore, nextChange, account } = deps;
  const fields = { email: 'alice@example.test', name: 'Alice', replyTo: null, bcc: null, textSignature: '', htmlSignature: '' };

  test(`${name}: identities: the primary one is written on first change, others created and destroyed, with states and changes`, () =>
    withStore(async (store, openSecond) => {
      const alice = await account(store);
      const bob = await account(store, 'bob@example.test');
      assert.equal(await store.objectState(alice.id, 'Identity'), 0);
      assert.deepEqual(await store.listIdentities(alice.id), []);
      const heard = nextChange(store, (c) => c.kind === 'account' && c.event === 'identity' && c.accountId === alice.id);
      const primary = await store.updateIdentity(alice.id, 'primary', { ...fields, textSignature: '-- \nAlice', replyTo: [{ name: null, email: 'desk@example.test' }] });
      await heard;
      assert.equal(primary?.primary, true);
      assert.deepEqual(primary?.replyTo, [{ name: null, email: 'desk@example.test' }]);
      assert.equal(await store.objectState(alice.id, 'Identity'), 1);
      const again = await store.updateIdentity(alice.id, 'primary', { ...fields, textSignature: 'A.' });
      assert.equal(again?.id, primary?.id, 'one primary identity per account');
      const other = await store.createIdentity(alice.id, { ...fields, email: 'sales@example.test', name: 'Sales' });
      assert.equal(other.primary, false);
      const second = await openSecond();
      assert.deepEqual((await second.listIdentities(alice.id)).map((i) => [i.email, i.textSignature]), [['alice@example.test', 'A.'], ['sales@example.test', '']], 'durable and seen by another instance');
      assert.equal(await store.objectState(alice.id, 'Identity'), 3);
      assert.deepEqual(await store.listIdentities(bob.id), [], 'per account');
      assert.equal(await store.updateIdentity(bob.id, other.id, fields), null, 'another account\'s identity is not found');
      assert.equal(await store.destroyIdentity(bob.id, other.id), false);
      assert.equal(await store.destroyIdentity(alice.id, primary!.id), false, 'the primary identity is never destroyed');
      assert.equal(await store.destroyIdentity(alice.id, other.id), true);
      assert.equal(await store.destroyIdentity(alice.id, other.id), false);
      const changes = await store.accountObjectChanges(alice.id, 'Identity', 1, 100);
      assert.deepEqual(changes.map((c) => [c.id, c.created, c.destroyed]), [[primary!.id, false, false]], 'created and destroyed since state 1: left out');
      const since2 = await store.accountObjectChanges(alice.id, 'Identity', 3, 100);
      assert.deepEqual(since2.map((c) => [c.id, c.created, c.destroyed]), [[other.id, false, true]], 'destroyed since state 3: a tombstone');
      await store.removeAccount('alice@example.test');
      assert.deepEqual(await store.listIdentities(alice.id), [], 'went with the account');
    }));

  test(`${name}: submissions: kept with their envelope and status, updated by the queue's outcomes, destroyed as tombstones`, () =>
    withStore(async (store, openSecond) => {
      const alice = await account(store);
      const envelope = { mailFrom: { email: 'alice@example.test', parameters: { HOLDFOR: '30' } }, rcptTo: [{ email: 'Bob@Remote.test', parameters: null }, { email: 'carol@remote.test', parameters: null }] };
      const sendAt = new Date(1_800_000_030_000);
      const heard = nextChange(store, (c) => c.kind === 'account' && c.event === 'submission' && c.accountId === alice.id);
      const queued = { smtpReply: '250 2.0.0 held', delivered: 'queued' as const, displayed: 'unknown' as const };
      const s1 = await store.addSubmission({ accountId: alice.id, identityId: `I${alice.id}`, emailId: 7, threadId: 7, envelope, sendAt, undoStatus: 'pending', deliveryStatus: { 'Bob@Remote.test': queued, 'carol@remote.test': queued }, queueId: 'Q1' });
      await heard;
      assert.deepEqual({ ...s1, createdAt: null }, { accountId: alice.id, id: s1.id, identityId: `I${alice.id}`, emailId: 7, threadId: 7, envelope, sendAt, undoStatus: 'pending', deliveryStatus: { 'Bob@Remote.test': queued, 'carol@remote.test': queued }, queueId: 'Q1', createdAt: null });
      const s2 = await store.addSubmission({ ...s1, queueId: 'Q2', undoStatus: 'final' });
      assert.equal(await store.objectState(alice.id, 'EmailSubmission'), 2);
      const second = await openSecond();
      assert.deepEqual((await second.listSubmissions(alice.id)).map((s) => s.id), [s1.id, s2.id], 'seen by another instance');
      assert.deepEqual((await store.listSubmissions(alice.id, [s2.id, 999_999])).map((s) => s.id), [s2.id]);

      await store.recordSubmissionDelivery('Q1', { 'bob@remote.test': { smtpReply: '250 2.0.0 Ok', delivered: 'yes', displayed: 'unknown' }, 'alias-target@remote.test': { smtpReply: '250 ok', delivered: 'yes', displayed: 'unknown' } });
      await store.recordSubmissionDelivery('NO-SUCH', { 'bob@remote.test': queued });
      const [after] = await second.listSubmissions(alice.id, [s1.id]);
      assert.equal(after?.undoStatus, 'final', 'attempted: it cannot be recalled');
      assert.deepEqual(after?.deliveryStatus, { 'Bob@Remote.test': { smtpReply: '250 2.0.0 Ok', delivered: 'yes', displayed: 'unknown' }, 'carol@remote.test': queued }, 'by envelope recipient, any case; others kept');
      assert.equal(await store.objectState(alice.id, 'EmailSubmission'), 3);

      const canceled = await store.updateSubmission(alice.id, s2.id, { undoStatus: 'canceled' });
      assert.equal(canceled?.undoStatus, 'canceled');
      assert.equal(await store.updateSubmission(alice.id, 999_999, { undoStatus: 'canceled' }), null);
      assert.deepEqual(await store.destroySubmissions(alice.id, [s1.id, 999_999]), [s1.id]);
      assert.deepEqual((await store.listSubmissions(alice.id)).map((s) => s.id), [s2.id]);
      const changes = await store.accountObjectChanges(alice.id, 'EmailSubmission', 2, 100);
      assert.deepEqual(changes.map((c) => [c.id, c.created, c.destroyed]), [[s2.id, false, false], [s1.id, false, true]], 'ascending by state');
      assert.deepEqual((await store.accountObjectChanges(alice.id, 'EmailSubmission', 2, 1)).length, 2, 'limit + 1 rows tell the caller more exist');
      assert.equal(await store.objectState(alice.id, 'EmailSubmission'), 5);
    }));
}
