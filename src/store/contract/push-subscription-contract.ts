/**
 * The push subscription part of the store contract (RFC 8620 §7.2): stored and read back field for field,
 * updated, removed when expired, and removed with their app password and their account.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { AccountRecord, PushSubscriptionRecord, Store } from '../types.ts';

export function runPushSubscriptionStoreContract(name: string, deps: {
  withStore: (fn: (store: Store, openSecond: () => Promise<Store>) => Promise<void>) => Promise<void>;
  account: (store: Store, address?: string) => Promise<AccountRecord>;
}): void {
  const { withStore, account } = deps;
  const record = (over: Partial<PushSubscriptionRecord> & Pick<PushSubscriptionRecord, 'id' | 'accountId'>): PushSubscriptionRecord => ({
    appPasswordId: null, credential: 'stamp', accessToken: null, deviceClientId: 'phone', url: 'https://push.example.net/s/1', keys: null, verificationCode: 'code',
    verified: false, expires: new Date(2_000_000_000_000), types: null, createdAt: new Date(1_700_000_000_000), ...over,
  });

  test(`${name}: push subscriptions are stored, updated, expired and removed with their app password and account`, () =>
    withStore(async (store, openSecond) => {
      const alice = await account(store);
      const app = await store.addAppPassword({ accountId: alice.id, label: 'phone', passwordHash: 'x', scram: null });
      const a = record({ id: 'Pa', accountId: alice.id, accessToken: 'tokenhash', keys: { p256dh: 'BPk', auth: 'au' }, types: ['Email', 'Mailbox'] });
      const b = record({ id: 'Pb', accountId: alice.id, appPasswordId: app.id, credential: null, createdAt: new Date(1_700_000_000_001) });
      const old = record({ id: 'Pc', accountId: alice.id, expires: new Date(1_000), createdAt: new Date(1_700_000_000_002) });
      for (const r of [a, b, old]) await store.addPushSubscription(r);
      assert.deepEqual(await (await openSecond()).listPushSubscriptions(alice.id), [a, b, old], 'durable, field for field');
      assert.equal(await store.updatePushSubscription('Pa', { verified: true, types: null }), true);
      assert.equal(await store.updatePushSubscription('nope', { verified: true }), false);
      assert.deepEqual((await store.listAllPushSubscriptions())[0], { ...a, verified: true, types: null });
      assert.deepEqual(await store.removeExpiredPushSubscriptions(new Date(2_000)), ['Pc']);
      await store.removeAppPassword(alice.id, app.id);
      assert.deepEqual((await store.listPushSubscriptions(alice.id)).map((r) => r.id), ['Pa'], 'went with the app password');
      assert.equal(await store.removePushSubscription('Pa'), true);
      assert.equal(await store.removePushSubscription('Pa'), false);
      await store.addPushSubscription(a);
      await store.removeAccount('alice@example.test');
      assert.deepEqual(await store.listAllPushSubscriptions(), [], 'went with the account');
    }));
}
