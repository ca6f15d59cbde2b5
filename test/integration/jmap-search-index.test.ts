// Text search over JMAP (jmap-jam) on a running server while the search index lags, after a restart, after
// an expunge and with mail stored by another process: mail delivered by SMTP is found at once, whether the
// background indexer has reached it or not, and the indexer catches up at start and follows the change feed.
import { after, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { JamClient } from 'jmap-jam';
import nodemailer from 'nodemailer';
import { openStore } from '../../src/store/open.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { jamClient } from '../harness/jmap-jam.ts';
import { until } from './queue-helpers.ts';

const HOST = 'mx.postamt.test';
const ALICE = 'alice@example.test';
const PASS = 'search index pass 1';

async function send(t: TestServer, from: string, subject: string, body: string): Promise<void> {
  const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.example.net' });
  await transport.sendMail({ envelope: { from, to: [ALICE] }, raw: `From: ${from}\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\n\r\n${body}\r\n` });
}

async function search(jam: JamClient, accountId: string, filter: Record<string, unknown>): Promise<string[]> {
  const [{ emails }] = await jam.requestMany((r) => {
    const query = r.Email.query({ accountId, filter, sort: [{ property: 'receivedAt', isAscending: false }] });
    const emails = r.Email.get({ accountId, ids: query.$ref('/ids'), properties: ['subject'] });
    return { query, emails };
  });
  return emails.list.map((e) => e.subject!).sort();
}

describe('JMAP text search with a lagging, restarted and cross-process search index', () => {
  let t: TestServer | null = null;
  let dataDir = '';
  after(async () => {
    await t?.stop();
    if (dataDir) rmSync(dataDir, { recursive: true, force: true });
  });

  it('finds fresh deliveries at once while the indexer lags, and the same after it caught up at restart', { timeout: 120_000 }, async () => {
    // An indexer that waits an hour after new mail: everything delivered below stays unindexed.
    t = await startTestServer({ hostname: HOST, keepDataDir: true, config: { auth: { allowPlaintextOnLoopback: true }, search: { indexDelay: 3_600_000 } } as never });
    dataDir = t.dataDir;
    await t.addUser(ALICE, PASS);
    await send(t, 'carol@example.net', 'Quarterly report', 'The numbers are in.');
    await send(t, 'dave@example.org', 'Lunch on Friday?', 'Pizza or the quarterly sushi place.');
    await send(t, 'erin@example.net', 'Holiday photos', 'No reports here.');
    await t.waitForMessages(ALICE, 3);
    const store = t.server.services.store;
    assert.equal((await store.unindexedEmails({ afterEmailId: 0, limit: 10 })).length, 3, 'nothing indexed yet');

    let jam = await jamClient(t, { address: ALICE, password: PASS });
    let accountId = await jam.getPrimaryAccount();
    const expectations: [Record<string, unknown>, string[]][] = [
      [{ subject: 'QUARTERLY' }, ['Quarterly report']],
      [{ text: 'quarterly' }, ['Lunch on Friday?', 'Quarterly report']],
      [{ body: 'report' }, ['Holiday photos']],
      [{ from: 'example.org' }, ['Lunch on Friday?']],
      [{ operator: 'NOT', conditions: [{ text: 'quarterly' }] }, ['Holiday photos']],
      [{ header: ['Subject', 'photos'] }, ['Holiday photos']],
    ];
    for (const [filter, subjects] of expectations) assert.deepEqual(await search(jam, accountId, filter), subjects, `lagging: ${JSON.stringify(filter)}`);

    // Restart: the indexer catches up at start, and the answers stay the same.
    await t.stop();
    t = await startTestServer({ hostname: HOST, dataDir, keepDataDir: true, config: { auth: { allowPlaintextOnLoopback: true } } as never });
    await t.server.services.searchIndexer!.idle();
    assert.deepEqual(await t.server.services.store.unindexedEmails({ afterEmailId: 0, limit: 10 }), [], 'caught up at start');
    jam = await jamClient(t, { address: ALICE, password: PASS });
    accountId = await jam.getPrimaryAccount();
    for (const [filter, subjects] of expectations) assert.deepEqual(await search(jam, accountId, filter), subjects, `indexed: ${JSON.stringify(filter)}`);

    // New mail is found at once and indexed soon after (the indexer follows the change feed).
    await send(t, 'frank@example.net', 'Quarterly review', 'Agenda attached.');
    await t.waitForMessages(ALICE, 4);
    assert.deepEqual(await search(jam, accountId, { subject: 'quarterly' }), ['Quarterly report', 'Quarterly review']);
    await until('the new message indexed', async () => (await t!.server.services.store.unindexedEmails({ afterEmailId: 0, limit: 10 })).length === 0, 10_000);
    assert.deepEqual(await search(jam, accountId, { subject: 'quarterly' }), ['Quarterly report', 'Quarterly review']);
  });

  it('an expunged message is no longer found; mail stored by another process is found and indexed', { timeout: 180_000 }, async () => {
    const jam = await jamClient(t!, { address: ALICE, password: PASS });
    const accountId = await jam.getPrimaryAccount();
    const [{ ids }] = await jam.api.Email.query({ accountId, filter: { subject: 'quarterly review' } });
    assert.equal(ids.length, 1);
    await jam.api.Email.set({ accountId, destroy: ids });
    assert.deepEqual(await search(jam, accountId, { subject: 'quarterly' }), ['Quarterly report']);

    // Another process (a second store on the same data dir, as the CLI would be) stores a message.
    const other = await openStore({ dataDir });
    try {
      const account = (await other.getAccount(ALICE))!;
      const inbox = (await other.getMailbox(account.id, 'INBOX'))!;
      const tx = other.beginDelivery();
      tx.write(Buffer.from('From: grace@example.net\r\nSubject: Quarterly forecast\r\n\r\nfrom elsewhere\r\n'));
      await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
    } finally {
      await other.close();
    }
    assert.deepEqual(await search(jam, accountId, { text: 'QUARTERLY' }), ['Lunch on Friday?', 'Quarterly forecast', 'Quarterly report']);
    await until('the other process\'s message indexed', async () => (await t!.server.services.store.unindexedEmails({ afterEmailId: 0, limit: 10 })).length === 0, 10_000);
    assert.deepEqual(await search(jam, accountId, { text: 'QUARTERLY' }), ['Lunch on Friday?', 'Quarterly forecast', 'Quarterly report']);
  });
});
