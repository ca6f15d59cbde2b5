// RFC 8621 §2 Mailbox sortOrder is the client's to set, so every device lists mailboxes alike: set on create
// and by update with a real JMAP client (jmap-jam) over a real socket, kept by the store, a Mailbox change
// (/changes), used by Mailbox/query, and kept across a restart; the roles' defaults stay when none is set.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JamClient } from 'jmap-jam';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { first, jamClient } from '../harness/jmap-jam.ts';

const ALICE = 'alice@example.test';

describe('JMAP Mailbox sortOrder set by the client (RFC 8621 §2) with jmap-jam', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'postamt-sortorder-'));
  let t: TestServer;
  let jam: JamClient;
  let accountId: string;
  let mailboxId: string;
  const start = async (setup?: () => Promise<number>): Promise<void> => {
    t = await startTestServer({ dataDir, startQueue: false, config: { auth: { allowPlaintextOnLoopback: true } } as never });
    await setup?.();
    jam = await jamClient(t, { address: ALICE });
    accountId = await jam.getPrimaryAccount();
  };
  const sortOrders = async (): Promise<Record<string, number>> =>
    Object.fromEntries((await first(jam.api.Mailbox.get({ accountId, ids: null, properties: ['name', 'sortOrder'] } as never))).list.map((m: { name: string; sortOrder: number }) => [m.name, m.sortOrder]));

  before(async () => start(() => t.addUser(ALICE, 'sort order pass')));
  after(async () => {
    await t?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('keeps the sortOrder given at create; the others keep their defaults', async () => {
    const set = await first(jam.api.Mailbox.set({ accountId, create: { p: { name: 'Projects', parentId: null, sortOrder: 5 } } } as never));
    mailboxId = set.created.p.id;
    const orders = await sortOrders();
    assert.equal(orders.Projects, 5, JSON.stringify(set));
    assert.equal(orders.INBOX, 0);
    assert.equal(orders.Sent, 10);
  });

  it('an update changes it (a Mailbox change) and Mailbox/query sorts by it', async () => {
    const before = await first(jam.api.Mailbox.get({ accountId, ids: [] } as never));
    const set = await first(jam.api.Mailbox.set({ accountId, update: { [mailboxId]: { sortOrder: 99 } } } as never));
    assert.deepEqual(set.updated, { [mailboxId]: null }, JSON.stringify(set));
    assert.notEqual(set.newState, set.oldState);
    assert.equal((await sortOrders()).Projects, 99);
    const changes = await first(jam.api.Mailbox.changes({ accountId, sinceState: before.state } as never));
    assert.deepEqual(changes.updated, [mailboxId]);
    const query = await first(jam.api.Mailbox.query({ accountId, sort: [{ property: 'sortOrder', isAscending: false }] } as never));
    assert.equal(query.ids[0], mailboxId, 'the largest sortOrder first');
    const bad = await first(jam.api.Mailbox.set({ accountId, update: { [mailboxId]: { sortOrder: -1 } } } as never));
    assert.equal(bad.notUpdated[mailboxId].type, 'invalidProperties');
  });

  it('keeps it across a restart', async () => {
    await t.stop();
    await start();
    assert.equal((await sortOrders()).Projects, 99);
  });
});
