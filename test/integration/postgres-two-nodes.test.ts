// The server on PostgreSQL end to end, and nodes on one database: SMTP to node A is read over IMAP on
// node A and B; a delivery on A raises EXISTS in an IMAP IDLE on B and a JMAP StateChange on C's
// EventSource within 1 s (LISTEN/NOTIFY); APPENDs to one mailbox from both nodes at once get unique,
// ascending UIDs; an alias added and an account removed on A are answered so by B at once (its recipient
// cache follows the change feed, not only its expiry). Each node is a whole server with its own pool, LISTEN connection and data_dir (all in
// this test process).
import { after, before, it } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import type { TestServer } from '../harness/server.ts';
import { startPostgresNodes, type PostgresNodes } from '../harness/postgres-nodes.ts';
import { openEventSource } from '../harness/event-source.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { postgresUnavailable } from '../harness/postgres.ts';
import { until } from './queue-helpers.ts';

const PASSWORD = 'two nodes password 1';
const unavailable = postgresUnavailable();
let shared: PostgresNodes | null = null;
let nodeA: TestServer | null = null;
let nodeB: TestServer | null = null;
let nodeC: TestServer | null = null;

function imapClient(node: TestServer): ImapFlow {
  return new ImapFlow({
    host: '127.0.0.1',
    port: node.ports.imaps,
    secure: true,
    tls: { rejectUnauthorized: false },
    auth: { user: 'alice@example.org', pass: PASSWORD },
    logger: false,
    disableAutoIdle: true,
  });
}

if (unavailable) {
  it(`postgres two nodes: SKIPPED, ${unavailable}`, { skip: unavailable }, () => undefined);
} else {
  before(async () => {
    shared = await startPostgresNodes(3);
    [nodeA, nodeB, nodeC] = shared.nodes as [TestServer, TestServer, TestServer];
    await nodeA.addUser('alice@example.org', PASSWORD);
  });
  after(async () => {
    await shared?.stop();
  });

  it('a message accepted by SMTP on node A is stored in PostgreSQL and read over IMAP on both nodes', { timeout: 180_000 }, async () => {
    const reply = await sendRaw(nodeA!.ports.smtp, { from: 'bob@elsewhere.test', to: ['alice@example.org'], data: 'Subject: via postgres\r\n\r\nhello from node A\r\n' });
    assert.equal(reply.code, 250, reply.text);
    for (const node of [nodeA!, nodeB!]) {
      const imap = imapClient(node);
      await imap.connect();
      try {
        await imap.mailboxOpen('INBOX');
        const msg = await imap.fetchOne('*', { source: true, uid: true });
        const source = msg ? msg.source?.toString() ?? '' : '';
        assert.ok(source.includes('hello from node A'), 'the body as sent');
        assert.match(source, /^Return-Path: <bob@elsewhere.test>/);
      } finally {
        await imap.logout();
      }
    }
  });

  it('a delivery on node A raises EXISTS in an IMAP IDLE on node B and a JMAP push on node C within 1 s', { timeout: 180_000 }, async () => {
    const imap = imapClient(nodeB!);
    await imap.connect();
    const push = await openEventSource(nodeC!, 'types=*&closeafter=no&ping=0', `Basic ${Buffer.from(`alice@example.org:${PASSWORD}`).toString('base64')}`);
    try {
      // imapflow updates the opened mailbox object as EXISTS arrives: the count at SELECT is copied now.
      const existsAtSelect = (await imap.mailboxOpen('INBOX')).exists;
      const events: { count: number; at: number }[] = [];
      imap.on('exists', (e: { count: number }) => events.push({ count: e.count, at: Date.now() }));
      void imap.idle();
      await new Promise((r) => setTimeout(r, 300));
      const reply = await sendRaw(nodeA!.ports.smtp, { from: 'bob@elsewhere.test', to: ['alice@example.org'], data: 'Subject: for the idler\r\n\r\nx\r\n' });
      const acceptedAt = Date.now();
      assert.equal(reply.code, 250, reply.text);
      const exists = await until('EXISTS on node B', () => events.find((e) => e.count === existsAtSelect + 1), 10_000);
      console.log(`SMTP 250 on node A → IDLE EXISTS on node B: ${exists.at - acceptedAt} ms`);
      assert.ok(exists.at - acceptedAt <= 1000, `EXISTS came ${exists.at - acceptedAt} ms after the 250`);
      const state = await until('a StateChange on node C', () => push.events.find((e) => e.event === 'state' && Object.values(e.data.changed as Record<string, Record<string, string>>).some((types) => 'Email' in types)), 10_000);
      console.log(`SMTP 250 on node A → JMAP StateChange on node C: ${state.at - acceptedAt} ms`);
      assert.ok(state.at - acceptedAt <= 1000, `the StateChange came ${state.at - acceptedAt} ms after the 250`);
    } finally {
      push.close();
      await imap.logout().catch(() => undefined);
    }
  });

  it('an alias added on node A is accepted by node B, and an account removed on A refused by B, before B\'s cached answer expires', { timeout: 180_000 }, async () => {
    // Node B caches a recipient's answer for 2 s (RCPT and the commit after it ask alike); a change on
    // node A must reach that cache through the change feed, not through the expiry.
    const CACHED_MS = 2000;
    const send = (to: string) => sendRaw(nodeB!.ports.smtp, { from: 'bob@elsewhere.test', to: [to], data: 'Subject: cache\r\n\r\nx\r\n' });
    const unknown = await send('team@example.org');
    const cachedAt = Date.now();
    assert.equal(unknown.code, 550, unknown.text);
    await nodeA!.addAlias('team@example.org', ['alice@example.org']);
    await until('node B accepting the new alias', async () => (await send('team@example.org')).code === 250, 10_000);
    assert.ok(Date.now() - cachedAt < CACHED_MS, `accepted ${Date.now() - cachedAt} ms after the cached 550`);

    await nodeA!.addUser('carol@example.org', PASSWORD);
    const known = await until('node B accepting carol', async () => {
      const r = await send('carol@example.org');
      return r.code === 250 ? r : null;
    }, 10_000);
    const knownAt = Date.now();
    assert.equal(known.code, 250);
    assert.equal(await nodeA!.server.services.store.removeAccount('carol@example.org'), true);
    await until('node B refusing carol', async () => (await send('carol@example.org')).code === 550, 10_000);
    assert.ok(Date.now() - knownAt < CACHED_MS, `refused ${Date.now() - knownAt} ms after the cached 250`);
  });

  it('APPENDs to one mailbox from both nodes at once get unique UIDs, ascending in each session', { timeout: 120_000 }, async () => {
    const clients = [imapClient(nodeA!), imapClient(nodeB!)];
    await Promise.all(clients.map((c) => c.connect()));
    try {
      const before = (await nodeA!.messages('alice@example.org', 'Archive')).length;
      const perNode = 15;
      const uids = await Promise.all(clients.map(async (c, n) => {
        const got: number[] = [];
        for (let i = 0; i < perNode; i++) {
          const res = await c.append('Archive', `Subject: node ${n} message ${i}\r\n\r\nx\r\n`);
          assert.ok(res && typeof res.uid === 'number', 'APPENDUID (RFC 4315)');
          got.push(res.uid!);
        }
        return got;
      }));
      for (const list of uids) for (let i = 1; i < list.length; i++) assert.ok(list[i]! > list[i - 1]!, `UIDs ascend in one session: ${list.join(',')}`);
      const all = uids.flat().sort((a, b) => a - b);
      assert.equal(new Set(all).size, all.length, `no UID given twice: ${all.join(',')}`);
      const stored = (await nodeB!.messages('alice@example.org', 'Archive')).map((m) => m.uid);
      assert.equal(stored.length, before + 2 * perNode);
      assert.deepEqual(stored.slice(before), all);
    } finally {
      await Promise.all(clients.map((c) => c.logout().catch(() => undefined)));
    }
  });
}
