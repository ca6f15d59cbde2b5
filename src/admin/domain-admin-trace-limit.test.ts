/**
 * A domain admin's trace search finds their domains' messages however many newer messages of other domains
 * the trace holds: who may see what is part of the store's query, so the limit counts only visible messages.
 * A user's own search finds only what they submitted. On SQLite and on PostgreSQL.
 */
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { deriveScram, passwordFunctions } from '../accounts/passwords.ts';
import { defaultConfig } from '../config/schema.ts';
import { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import { openStore, type OpenedStore } from '../store/open.ts';
import type { TraceEventInput } from '../store/types.ts';
import { postgresUnavailable, testPostgres, type TestPostgres } from '../../test/harness/postgres.ts';
import { CLI_PRINCIPAL, type Principal } from './access.ts';
import { adminSettings } from './context.ts';
import { AdminError } from './errors.ts';
import { createAdminService, type AdminService } from './service.ts';

const t0 = Date.parse('2026-12-01T10:00:00Z');

function received(queueId: string, minutes: number, sender: string, recipients: string[], user: string | null): TraceEventInput {
  return {
    at: new Date(t0 + minutes * 60_000), queueId, event: 'received', result: 'accepted', messageId: `${queueId}@test`, sender, recipients,
    data: { role: user ? 'submission' : 'mx', ip: '192.0.2.1', helo: 'client.test', user },
  };
}

async function scenario(store: OpenedStore, dir: string): Promise<void> {
  const admin: AdminService = createAdminService({
    store,
    dkimKeys: new FileDkimKeyStore({ dataDir: dir }),
    passwords: { ...passwordFunctions({ logN: 10 }), deriveScram: (p, o) => deriveScram(p, { iterations: 4096, ...o }) },
    settings: adminSettings(defaultConfig({ cwd: dir })),
  });
  for (const d of ['a.test', 'b.test']) await admin.domains.add(CLI_PRINCIPAL, d);
  const add = async (address: string): Promise<Principal> => ({ kind: 'account', accountId: (await admin.users.add(CLI_PRINCIPAL, { address, password: 'a long password' })).id });
  const boss = await add('boss@a.test');
  const alice = await add('alice@a.test');
  const bob = await add('bob@b.test');
  await admin.domains.addAdmin(CLI_PRINCIPAL, 'a.test', 'boss@a.test');

  // alice sent one message, and a.test received one; then 120 messages of b.test only, all newer.
  const events = [received('ALICE1', 0, 'alice@a.test', ['friend@far.test'], 'alice@a.test'), received('INBOUND1', 1, 'x@far.test', ['alice@a.test'], null)];
  for (let i = 0; i < 120; i++) events.push(received(`BOB${i}`, 10 + i, 'bob@b.test', [`r${i}@far.test`], 'bob@b.test'));
  await store.appendTrace(events);

  const ids = (timelines: { queueId: string }[]) => timelines.map((t) => t.queueId);
  assert.deepEqual(ids(await admin.trace.search(boss, { limit: 50 })), ['INBOUND1', 'ALICE1'], 'the domain admin gets their domain\'s messages, older than 120 of b.test');
  assert.deepEqual(ids(await admin.trace.search(boss, { limit: 1 })), ['INBOUND1'], 'the limit counts only visible messages');
  assert.deepEqual(ids(await admin.trace.search(boss, { sender: 'bob@b.test' })), [], 'never another domain\'s, whatever the query names');
  assert.equal((await admin.trace.search(CLI_PRINCIPAL, { limit: 200 })).length, 122, 'the local operator sees every message');

  assert.deepEqual(ids(await admin.trace.search(boss, { since: new Date(t0) })), ['INBOUND1', 'ALICE1']);
  assert.deepEqual(ids(await admin.trace.sent(alice, { limit: 1 })), ['ALICE1'], 'a user: only what she submitted, not mail to her');
  assert.deepEqual(ids(await admin.trace.sent(alice, { messageId: 'BOB3@test' })), [], 'not another user\'s message by its Message-ID');
  assert.equal((await admin.trace.sent(bob, { limit: 500 })).length, 120);
  await assert.rejects(admin.trace.search(alice, {}), AdminError, 'a user may not read the admin trace');
  await assert.rejects(admin.trace.sent(CLI_PRINCIPAL, {}), AdminError);
}

describe('domain admin trace search and the limit', () => {
  test('sqlite', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'postamt-trace-limit-'));
    const store = await openStore({ dataDir: dir });
    try {
      await scenario(store, dir);
    } finally {
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  const unavailable = postgresUnavailable();
  let cluster: TestPostgres | null = null;
  before(async () => {
    if (!unavailable) cluster = await testPostgres();
  });
  after(async () => {
    await cluster?.stop();
  });
  test('postgres', { skip: unavailable }, async () => {
    const url = await cluster!.createDatabase();
    const dir = mkdtempSync(join(tmpdir(), 'postamt-trace-limit-pg-'));
    const config = defaultConfig({ cwd: dir });
    const store = await openStore({ dataDir: dir, storage: { ...config.storage, backend: 'postgres', url, poolSize: 2 } });
    try {
      await scenario(store, dir);
    } finally {
      await store.close();
      await cluster!.dropDatabase(url);
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
