/**
 * The queue runner's local delivery (DSNs and forwards that come back to our own domains) on a real SQLite
 * store: an alias loop bounces (550 5.4.6) instead of vanishing, a forward-only alias is queued onward
 * instead of bounced as "no such user", a disabled user still gets the message.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createLogger } from '../core/log.ts';
import { openStore, type OpenedStore } from '../store/open.ts';
import type { QueueMessageRecord, QueueRecipientRecord } from '../store/types.ts';
import { DeliveryPlanner } from './planner.ts';

let dir: string;
let store: OpenedStore;

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postamt-delivery-planner-'));
  store = await openStore({ dataDir: dir });
  await store.addDomain('example.test');
  await store.addAccount({ address: 'bob@example.test', passwordHash: 'x', scram: null });
  await store.updateAccount('bob@example.test', { disabled: true });
  await store.addAlias('loop1@example.test', ['loop2@example.test']);
  await store.addAlias('loop2@example.test', ['loop1@example.test']);
  await store.addAlias('fwd@example.test', ['someone@remote.test']);
});

after(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

function queued(address: string): { recipient: QueueRecipientRecord; message: QueueMessageRecord } {
  const now = new Date();
  const recipient: QueueRecipientRecord = { id: 1, queueId: 'Q1', address, domain: 'example.test', orcpt: null, notify: null, state: 'queued', attempts: 0, nextAttemptAt: now, lastResult: null, updatedAt: now, retryRequestedAt: null };
  return { recipient, message: { id: 'Q1', sender: 'alice@sender.test', envid: null, ret: null, origin: 'smtp', submitter: null, size: 10, createdAt: now, holdUntil: null, recipients: [recipient] } };
}

const body = Buffer.from('Subject: back home\r\n\r\nhello\r\n');

test('queued mail to a local alias loop bounces with 550 5.4.6, nothing stored', async () => {
  const hook = new DeliveryPlanner({ store }).queueHook({ hostname: 'mx.test', logger: createLogger({ level: 'silent' }) });
  const { recipient, message } = queued('loop1@example.test');
  const reply = await hook.deliver(recipient, message, body);
  assert.deepEqual([reply.code, reply.enhancedCode], [550, '5.4.6']);
  assert.equal((await store.listQueue()).length, 0);
});

test('queued mail to a forward-only local alias goes on to the queue, not back as no such user', async () => {
  const hook = new DeliveryPlanner({ store }).queueHook({ hostname: 'mx.test', logger: createLogger({ level: 'silent' }) });
  const { recipient, message } = queued('fwd@example.test');
  const reply = await hook.deliver(recipient, message, body);
  assert.equal(reply.code, 250);
  const entries = await store.listQueue();
  assert.deepEqual(entries.flatMap((e) => e.recipients.map((r) => r.address)), ['someone@remote.test']);
});

test('queued mail to a disabled user is delivered into the mailbox', async () => {
  const hook = new DeliveryPlanner({ store }).queueHook({ hostname: 'mx.test', logger: createLogger({ level: 'silent' }) });
  const { recipient, message } = queued('bob@example.test');
  assert.equal((await hook.deliver(recipient, message, body)).code, 250);
  const account = await store.getAccount('bob@example.test');
  const inbox = await store.getMailbox(account!.id, 'INBOX');
  assert.equal((await store.listMessages(inbox!.id)).length, 1);
});
