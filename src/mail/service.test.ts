/**
 * Account-scoped mail access on a real store: a mailbox of another account is refused by the service
 * itself, whichever method a front end calls; the quota rule; INBOX stays.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../store/open.ts';
import type { MailboxRecord } from '../store/types.ts';
import { MailAccessError, type AccountMail, type AccountMailChange } from './access.ts';
import { StoreMailAccess } from './service.ts';

let dataDir: string;
let store: OpenedStore;
let service: StoreMailAccess;

async function deliver(mailboxId: number, body = 'Subject: x\r\n\r\nbody\r\n', flags: string[] = []): Promise<number> {
  const tx = store.beginDelivery();
  tx.write(Buffer.from(body));
  return (await tx.commit({ mailboxes: [{ mailboxId, flags }] })).messages[0]!.uid;
}

async function collect(it: AsyncIterable<Buffer>): Promise<Buffer> {
  const parts: Buffer[] = [];
  for await (const c of it) parts.push(c);
  return Buffer.concat(parts);
}

function refused(code: MailAccessError['code']) {
  return (err: unknown): boolean => err instanceof MailAccessError && err.code === code;
}

describe('account-scoped mail access', () => {
  let alice: AccountMail;
  let bobId: number;
  let bobInbox: MailboxRecord;
  let aliceInbox: MailboxRecord;

  before(async () => {
    dataDir = mkdtempSync(join(tmpdir(), 'postamt-mail-'));
    store = await openStore({ dataDir });
    service = new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: 10_000 });
    service.start();
    await store.addDomain('example.org');
    const a = await store.addAccount({ address: 'alice@example.org', passwordHash: 'x', scram: null });
    const b = await store.addAccount({ address: 'bob@example.org', passwordHash: 'x', scram: null });
    bobId = b.id;
    aliceInbox = (await store.getMailbox(a.id, 'INBOX'))!;
    bobInbox = (await store.getMailbox(b.id, 'INBOX'))!;
    await deliver(aliceInbox.id, 'Subject: alice\r\n\r\nmine\r\n');
    await deliver(bobInbox.id, 'Subject: bob\r\n\r\nsecret\r\n', ['\\Flagged']);
    alice = await service.open({ accountId: a.id });
  });
  after(async () => {
    service.close();
    await store.close();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it("refuses another account's mailbox id in every read and write, and leaves it untouched", async () => {
    const id = bobInbox.id;
    const calls: [string, () => Promise<unknown>][] = [
      ['mailbox', () => alice.mailbox(id)],
      ['counts', () => alice.counts(id)],
      ['snapshot', () => alice.snapshot(bobInbox)],
      ['summary', () => alice.summary(bobInbox)],
      ['listMessageMeta', () => alice.listMessageMeta(id, { uidFrom: 1, uidTo: 10 })],
      ['listMetaColumns', () => alice.listMetaColumns(id, { uidFrom: 1, uidTo: 10, fields: ['flags'] })],
      ['listMessages', () => alice.listMessages(id)],
      ['getMessage', () => alice.getMessage(id, 1)],
      ['mailboxDelta', () => alice.mailboxDelta(id, 0, { maxChanges: 10 })],
      ['vanishedSince', () => alice.vanishedSince(id, 0)],
      ['readMessage', () => alice.readMessage(id, 1)],
      ['streamMessage', () => collect(alice.streamMessage(id, 1))],
      ['storeFlags', () => alice.storeFlags(id, [1], 'set', ['\\Deleted'])],
      ['expunge', () => alice.expunge(id, [1])],
      ['copy out of it', () => alice.copyMessages(id, [1], aliceInbox.id)],
      ['move out of it', () => alice.copyMessages(id, [1], aliceInbox.id, { move: true })],
      ['copy into it', () => alice.copyMessages(aliceInbox.id, [1], id)],
      ['deleteMailbox', () => alice.deleteMailbox(id)],
      ['renameMailbox', () => alice.renameMailbox(id, 'Stolen')],
      ['append into it', () => {
        const tx = alice.beginAppend();
        tx.write(Buffer.from('Subject: planted\r\n\r\nx\r\n'));
        return alice.commitAppends([{ tx, target: { mailboxId: id } }]);
      }],
    ];
    calls.push(
      ['objectIds', () => alice.objectIds(id, [1])],
      ['listEmailIndex of it', () => alice.listEmailIndex({ mailboxId: id })],
      ['mailboxEmailPage', () => alice.mailboxEmailPage(id, { position: 0, limit: 10 })],
      ['updateEmails into it', async () => {
        const [own] = await alice.listEmailIndex({ mailboxId: aliceInbox.id });
        return alice.updateEmails([{ emailId: own!.id, mailboxIds: [aliceInbox.id, id] }]);
      }],
      ['append into it as a second mailbox', () => {
        const tx = alice.beginAppend();
        tx.write(Buffer.from('Subject: planted\r\n\r\nx\r\n'));
        return alice.commitAppends([{ tx, target: { mailboxId: aliceInbox.id, alsoMailboxIds: [id] } }]);
      }],
    );
    for (const [name, call] of calls) await assert.rejects(call(), refused('NONEXISTENT'), name);
    // A record of another account is refused even when its accountId is made to look like alice's.
    await assert.rejects(alice.snapshot({ ...bobInbox, accountId: alice.accountId }), refused('NONEXISTENT'));
    const messages = await store.listMessages(bobInbox.id);
    assert.deepEqual(messages.map((m) => [m.uid, m.flags]), [[1, ['\\Flagged']]]);
    assert.deepEqual((await store.listMailboxes(bobId)).map((m) => m.name).sort(), ['Archive', 'Drafts', 'INBOX', 'Junk', 'Sent', 'Trash']);
    assert.equal((await store.listMessages(aliceInbox.id)).length, 1, 'nothing of bob reached alice');
  });

  it("another account's email ids read as absent and cannot be changed or destroyed", async () => {
    const [bobEmail] = await store.listEmailIndex(bobId, { mailboxId: bobInbox.id });
    const emailId = bobEmail!.id;
    assert.deepEqual(await alice.getEmails([emailId]), []);
    assert.equal(await alice.emailLocation(emailId), null);
    assert.equal(await alice.readEmail(emailId), null);
    assert.deepEqual(await alice.threadEmails([bobEmail!.threadId]), new Map());
    assert.deepEqual(await alice.updateEmails([{ emailId, flags: { op: 'add', flags: ['\\Deleted'] } }]), { notFound: [emailId] });
    assert.deepEqual(await alice.destroyEmails([emailId]), []);
    assert.ok((await alice.listEmailIndex()).every((row) => row.id !== emailId));
    const [bobAfter] = await store.getEmails(bobId, [emailId]);
    assert.deepEqual(bobAfter!.copies.map((c) => c.flags), [['\\Flagged']]);
  });

  it('an email appended to two mailboxes is one email; its own ids and bytes read back', async () => {
    const archive = (await alice.findMailbox('Archive'))!;
    const tx = alice.beginAppend();
    tx.write(Buffer.from('Subject: both\r\n\r\nboth\r\n'));
    const [stored] = await alice.commitAppends([{ tx, target: { mailboxId: aliceInbox.id, alsoMailboxIds: [archive.id], flags: ['\\Seen'] } }]);
    const [email] = await alice.getEmails([stored!.emailId]);
    assert.deepEqual(email!.copies.map((c) => c.mailboxId).sort((a, b) => a - b), [aliceInbox.id, archive.id].sort((a, b) => a - b));
    assert.equal((await alice.readEmail(stored!.emailId))?.toString(), 'Subject: both\r\n\r\nboth\r\n');
    const archiveUid = (await alice.listMessages(archive.id)).at(-1)!.uid;
    assert.equal((await alice.objectIds(archive.id, [archiveUid])).get(archiveUid)?.emailId, stored!.emailId);
    assert.deepEqual(await alice.destroyEmails([stored!.emailId]), [stored!.emailId]);
  });

  it("names are the account's own: another account's names are not seen", async () => {
    assert.deepEqual((await alice.listMailboxes()).every((m) => m.accountId === alice.accountId), true);
    const bobOnly = await store.createMailbox(bobId, 'BobOnly');
    assert.equal(await alice.findMailbox('BobOnly'), null);
    await assert.rejects(alice.setSubscribed('BobOnly', true), refused('NONEXISTENT'));
    await store.deleteMailbox(bobOnly.id);
  });

  it('lists mailboxes with counts, reads and changes its own messages', async () => {
    const emailCounts = await alice.mailboxEmailCounts();
    assert.equal(emailCounts.get(aliceInbox.id)?.emails, 1);
    assert.equal(emailCounts.has(bobInbox.id), false);
    const boxes = await alice.listMailboxesWithCounts();
    const inbox = boxes.find((b) => b.mailbox.name === 'INBOX')!;
    assert.equal(inbox.counts.messages, 1);
    assert.equal(inbox.counts.unseen, 1);
    assert.equal((await alice.readMessage(aliceInbox.id, 1))?.toString(), 'Subject: alice\r\n\r\nmine\r\n');
    assert.equal(await alice.readMessage(aliceInbox.id, 99), null, 'a message that is gone reads as null');
    const { changed } = await alice.storeFlags(aliceInbox.id, [1], 'add', ['\\Seen']);
    assert.deepEqual(changed.map((m) => m.flags), [['\\Seen']]);
    const trash = (await alice.findMailbox('Trash'))!;
    const copied = await alice.copyMessages(aliceInbox.id, [1], trash.id);
    assert.equal(copied.pairs.length, 1);
    assert.deepEqual(await alice.expunge(trash.id, [copied.pairs[0]![1]]), [copied.pairs[0]![1]]);
  });

  it('INBOX is neither deleted nor renamed; names taken are ALREADYEXISTS', async () => {
    await assert.rejects(alice.deleteMailbox(aliceInbox.id), refused('CANNOT'));
    await assert.rejects(alice.renameMailbox(aliceInbox.id, 'Elsewhere'), refused('CANNOT'));
    await assert.rejects(alice.createMailbox('Sent'), refused('ALREADYEXISTS'));
    const box = await alice.createMailbox('Projects');
    await assert.rejects(alice.renameMailbox(box.id, 'Trash'), refused('ALREADYEXISTS'));
    await alice.renameMailbox(box.id, 'Done');
    assert.equal((await alice.mailbox(box.id)).name, 'Done');
    await alice.deleteMailbox(box.id);
    await assert.rejects(alice.mailbox(box.id), refused('NONEXISTENT'));
  });

  it('appends several messages all or none, within the quota', async () => {
    const drafts = (await alice.findMailbox('Drafts'))!;
    const begin = (text: string) => {
      const tx = alice.beginAppend();
      tx.write(Buffer.from(text));
      return tx;
    };
    const stored = await alice.commitAppends([
      { tx: begin('Subject: a\r\n\r\na\r\n'), target: { mailboxId: drafts.id, flags: ['\\Draft'] } },
      { tx: begin('Subject: b\r\n\r\nb\r\n'), target: { mailboxId: aliceInbox.id } },
    ]);
    assert.deepEqual(stored.map((r) => [r.mailboxId, r.uidValidity]), [[drafts.id, drafts.uidValidity], [aliceInbox.id, aliceInbox.uidValidity]]);
    const big = begin('Subject: big\r\n\r\n' + 'x'.repeat(20_000) + '\r\n');
    await assert.rejects(alice.commitAppends([{ tx: begin('Subject: c\r\n\r\nc\r\n'), target: { mailboxId: drafts.id } }, { tx: big, target: { mailboxId: drafts.id } }]), refused('OVERQUOTA'));
    assert.equal((await alice.listMessages(drafts.id)).length, 1, 'neither of the refused batch was stored');
  });

  it('tells a watcher about its own account only', async () => {
    const seen: AccountMailChange[] = [];
    const off = alice.watch((c) => seen.push(c));
    await deliver(bobInbox.id);
    await deliver(aliceInbox.id);
    off();
    assert.deepEqual(seen.map((c) => (c.kind === 'reset' ? 'reset' : c.kind === 'metadata' ? `metadata:${c.mailbox}` : `${c.kind}:${c.mailboxId}`)), [`append:${aliceInbox.id}`]);
  });

  it('quota: the account limit, else the server default; 0 is unlimited for both', async () => {
    const q = await alice.quota();
    assert.equal(q.limitBytes, 10_000);
    assert.ok(q.usedBytes > 0 && q.messages > 0);
    await store.updateAccount('alice@example.org', { quotaBytes: 0 });
    assert.equal((await alice.quota()).limitBytes, null, 'user add --quota 0 is unlimited');
    const tx = alice.beginAppend();
    tx.write(Buffer.from('Subject: big\r\n\r\n' + 'x'.repeat(20_000) + '\r\n'));
    await alice.commitAppends([{ tx, target: { mailboxId: aliceInbox.id } }]);
    await store.updateAccount('alice@example.org', { quotaBytes: null });
    const unlimited = new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: 0 });
    assert.equal((await (await unlimited.open({ accountId: alice.accountId })).quota()).limitBytes, null);
  });
});
