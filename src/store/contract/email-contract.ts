/**
 * The contract of the JMAP object model every backend must pass (docs/decisions/0008): email ids kept on
 * move and new on copy, threads from references at delivery, and /changes history on the account modseq.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { Store } from '../types.ts';
import type { FreshStore } from './store-contract.ts';

export function runEmailStoreContract(name: string, openFresh: () => Promise<FreshStore>): void {
  async function withStore(fn: (store: Store) => Promise<void>): Promise<void> {
    const { store, cleanup } = await openFresh();
    try {
      await fn(store);
    } finally {
      await store.close();
      await cleanup();
    }
  }

  async function setup(store: Store) {
    await store.addDomain('example.test');
    const acct = await store.addAccount({ address: 'alice@example.test', passwordHash: 'x', scram: null });
    const inbox = (await store.getMailbox(acct.id, 'INBOX'))!;
    const archive = (await store.getMailbox(acct.id, 'Archive'))!;
    const deliver = async (header: string, mailboxIds = [inbox.id], oneEmail = false) => {
      const tx = store.beginDelivery();
      tx.write(Buffer.from(`${header}\r\n\r\nbody\r\n`));
      return (await tx.commit({ mailboxes: mailboxIds.map((mailboxId) => ({ mailboxId })), oneEmail })).messages;
    };
    return { acct, inbox, archive, deliver };
  }

  test(`${name}: an email keeps its id when moved (IMAP MOVE); a copy gets a new id in the same thread`, () =>
    withStore(async (store) => {
      const { acct, inbox, archive, deliver } = await setup(store);
      const [m] = await deliver('Message-ID: <a@x>\r\nSubject: one');
      const copy = await store.copyMessages(inbox.id, [m!.uid], archive.id);
      const copied = await store.objectIds(archive.id, [copy.pairs[0]![1]]);
      assert.notEqual(copied.get(copy.pairs[0]![1])!.emailId, m!.emailId);
      assert.equal(copied.get(copy.pairs[0]![1])!.threadId, m!.threadId);
      const moved = await store.copyMessages(inbox.id, [m!.uid], archive.id, { move: true });
      const ids = await store.objectIds(archive.id, [moved.pairs[0]![1]]);
      assert.equal(ids.get(moved.pairs[0]![1])!.emailId, m!.emailId);
      const [email] = await store.getEmails(acct.id, [m!.emailId]);
      assert.deepEqual(email!.copies.map((c) => c.mailboxId), [archive.id]);
      // IMAP FETCH EMAILID THREADID of many messages reads them as columns: the same ids.
      const uids = [copy.pairs[0]![1], moved.pairs[0]![1]];
      const cols = await store.listMetaColumns(archive.id, { uidFrom: uids[0]!, uidTo: uids[1]!, fields: ['emailId', 'threadId'] });
      assert.deepEqual(cols.emailId, [copied.get(uids[0]!)!.emailId, m!.emailId]);
      assert.deepEqual(cols.threadId, [m!.threadId, m!.threadId]);
    }));

  test(`${name}: replies join their parent's thread by In-Reply-To, References or a reply subject`, () =>
    withStore(async (store) => {
      const { acct, deliver } = await setup(store);
      const [root] = await deliver('Message-ID: <root@x>\r\nSubject: Plans');
      const [reply] = await deliver('Message-ID: <r1@x>\r\nIn-Reply-To: <root@x>\r\nSubject: Re: Plans');
      const [deep] = await deliver('Message-ID: <r2@x>\r\nReferences: <root@x> <r1@x>\r\nSubject: Re: Re: Plans');
      const [bySubject] = await deliver('Message-ID: <r3@y>\r\nSubject: RE: [list] Plans');
      const [other] = await deliver('Message-ID: <o@x>\r\nSubject: Plans');
      assert.equal(reply!.threadId, root!.threadId);
      assert.equal(deep!.threadId, root!.threadId);
      assert.equal(bySubject!.threadId, root!.threadId);
      assert.notEqual(other!.threadId, root!.threadId, 'the same subject without a reply prefix starts a new thread');
      const threads = await store.threadEmails(acct.id, [root!.threadId]);
      assert.deepEqual(threads.get(root!.threadId), [root!.emailId, reply!.emailId, deep!.emailId, bySubject!.emailId]);
      // A child that arrives before its parent: the parent joins the child's thread.
      const [child] = await deliver('Message-ID: <c@x>\r\nIn-Reply-To: <late@x>\r\nSubject: Re: late');
      const [parent] = await deliver('Message-ID: <late@x>\r\nSubject: late');
      assert.equal(parent!.threadId, child!.threadId);
      // SMTP keeps the message header in the trace prefix and spools only the body: the header is read there.
      const tx = store.beginDelivery();
      tx.write(Buffer.from('body\r\n'));
      const [viaSmtp] = (await tx.commit({ traceHeader: Buffer.from('Received: by x\r\nMessage-ID: <smtp@x>\r\nIn-Reply-To: <root@x>\r\nSubject: Re: Plans\r\n\r\n'), mailboxes: [{ mailboxId: (await store.getMailbox(acct.id, 'INBOX'))!.id }] })).messages;
      assert.equal(viaSmtp!.threadId, root!.threadId);
    }));

  test(`${name}: changes since a modseq: created, updated and destroyed emails, threads and mailboxes`, () =>
    withStore(async (store) => {
      const { acct, inbox, archive, deliver } = await setup(store);
      const [a] = await deliver('Message-ID: <a@x>\r\nSubject: a');
      const [b] = await deliver('Message-ID: <b@x>\r\nSubject: b');
      const s0 = await store.accountModSeq(acct.id);
      const [c] = await deliver('Message-ID: <c@x>\r\nSubject: c');
      await store.storeFlags(inbox.id, [a!.uid], 'add', ['\\Seen']);
      await store.expunge(inbox.id, [b!.uid]);
      const s1 = await store.accountModSeq(acct.id);
      assert.ok(s1 > s0);
      const mailbox = (await store.getMailboxById(inbox.id))!;
      assert.ok(mailbox.highestModSeq <= s1 && mailbox.highestModSeq > s0, 'IMAP HIGHESTMODSEQ is drawn from the account modseq');
      const emails = await store.objectChanges(acct.id, 'Email', s0, 100);
      const summary = (list: typeof emails) => list.map((e) => `${e.id}:${e.created ? 'c' : e.destroyed ? 'd' : 'u'}`).sort();
      assert.deepEqual(summary(emails), [`${a!.emailId}:u`, `${b!.emailId}:d`, `${c!.emailId}:c`].sort());
      const threads = await store.objectChanges(acct.id, 'Thread', s0, 100);
      assert.deepEqual(summary(threads), [`${b!.threadId}:d`, `${c!.threadId}:c`].sort(), 'a flag change is not a thread change');
      const mailboxes = await store.objectChanges(acct.id, 'Mailbox', s0, 100);
      assert.deepEqual(mailboxes.map((m) => m.id), [inbox.id], 'counts changed');
      // Nothing after the newest state; a page is cut at `limit` + 1.
      assert.deepEqual(await store.objectChanges(acct.id, 'Email', s1, 100), []);
      assert.equal((await store.objectChanges(acct.id, 'Email', 0, 1)).length, 2);
      // Rename, subscription and removal of mailboxes.
      const s2 = await store.accountModSeq(acct.id);
      await store.setSubscribed(acct.id, 'Archive', false);
      const made = await store.createMailbox(acct.id, 'Projects');
      await store.deleteMailbox(archive.id);
      const mb = await store.objectChanges(acct.id, 'Mailbox', s2, 100);
      assert.deepEqual(mb.map((m) => `${m.id}:${m.created ? 'c' : m.destroyed ? 'd' : 'u'}`).sort(), [`${archive.id}:d`, `${made.id}:c`].sort());
      // A JMAP sortOrder is kept on the mailbox (null: the default) and is a Mailbox change; only the owner's.
      assert.equal((await store.getMailboxById(made.id))!.sortOrder, null);
      const s3 = await store.accountModSeq(acct.id);
      assert.equal(await store.setMailboxSortOrder(acct.id, made.id, 42), true);
      assert.equal(await store.setMailboxSortOrder(acct.id + 1000, made.id, 7), false, 'another account\'s mailbox');
      assert.equal((await store.getMailboxById(made.id))!.sortOrder, 42);
      assert.equal((await store.listMailboxes(acct.id)).find((m) => m.id === made.id)!.sortOrder, 42);
      assert.deepEqual((await store.objectChanges(acct.id, 'Mailbox', s3, 100)).map((m) => `${m.id}:${m.created ? 'c' : m.destroyed ? 'd' : 'u'}`), [`${made.id}:u`]);
      await store.setMailboxSortOrder(acct.id, made.id, null);
      assert.equal((await store.getMailbox(acct.id, 'Projects'))!.sortOrder, null);
    }));

  test(`${name}: thread changes: a lone email's thread, a second email joining it, the last one leaving`, () =>
    withStore(async (store) => {
      const { acct, inbox, archive, deliver } = await setup(store);
      const summary = (list: { id: number; created: boolean; destroyed: boolean }[]) => list.map((e) => `${e.id}:${e.created ? 'c' : e.destroyed ? 'd' : 'u'}`).sort();
      const [old] = await deliver('Message-ID: <old@x>\r\nSubject: old');
      const [lone] = await deliver('Message-ID: <lone@x>\r\nSubject: lone');
      const s0 = await store.accountModSeq(acct.id);
      const [fresh] = await deliver('Message-ID: <fresh@x>\r\nSubject: fresh');
      assert.deepEqual(summary(await store.objectChanges(acct.id, 'Thread', s0, 100)), [`${fresh!.threadId}:c`]);
      assert.deepEqual(summary(await store.objectChanges(acct.id, 'Thread', 0, 100)), [`${old!.threadId}:c`, `${lone!.threadId}:c`, `${fresh!.threadId}:c`].sort());
      // A reply joins a thread created before the state: updated; one created after: still created.
      const s1 = await store.accountModSeq(acct.id);
      const [reply] = await deliver('Message-ID: <re@x>\r\nIn-Reply-To: <old@x>\r\nSubject: Re: old');
      await deliver('Message-ID: <re2@x>\r\nIn-Reply-To: <fresh@x>\r\nSubject: Re: fresh');
      assert.equal(reply!.threadId, old!.threadId);
      assert.deepEqual(summary(await store.objectChanges(acct.id, 'Thread', s1, 100)), [`${old!.threadId}:u`, `${fresh!.threadId}:u`].sort());
      assert.deepEqual(summary(await store.objectChanges(acct.id, 'Thread', s0, 100)), [`${old!.threadId}:u`, `${fresh!.threadId}:c`].sort());
      // Each thread is listed once, in modseq order, and a page is cut at limit + 1.
      const all = await store.objectChanges(acct.id, 'Thread', 0, 100);
      assert.deepEqual(all.map((c) => c.modSeq), [...all.map((c) => c.modSeq)].sort((a, b) => a - b));
      assert.equal((await store.objectChanges(acct.id, 'Thread', 0, 1)).length, 2);
      // A copy is a second email of the thread; a flag change is no thread change.
      const s2 = await store.accountModSeq(acct.id);
      await store.storeFlags(inbox.id, [lone!.uid], 'add', ['\\Seen']);
      assert.deepEqual(await store.objectChanges(acct.id, 'Thread', s2, 100), []);
      const copy = await store.copyMessages(inbox.id, [lone!.uid], archive.id);
      assert.deepEqual(summary(await store.objectChanges(acct.id, 'Thread', s2, 100)), [`${lone!.threadId}:u`]);
      // The thread goes with its last email, whether it ever had a second one or not.
      const s3 = await store.accountModSeq(acct.id);
      await store.expunge(inbox.id, [lone!.uid]);
      assert.deepEqual(summary(await store.objectChanges(acct.id, 'Thread', s3, 100)), [`${lone!.threadId}:u`]);
      await store.expunge(archive.id, [copy.pairs[0]![1]]);
      const [single] = await deliver('Message-ID: <single@x>\r\nSubject: single');
      const s4 = await store.accountModSeq(acct.id);
      await store.expunge(inbox.id, [single!.uid]);
      assert.deepEqual(summary(await store.objectChanges(acct.id, 'Thread', s3, 100)), [`${lone!.threadId}:d`, `${single!.threadId}:d`].sort());
      assert.deepEqual(summary(await store.objectChanges(acct.id, 'Thread', s4, 100)), [`${single!.threadId}:d`]);
      // A message naming a thread whose emails are all gone starts its own.
      const [late] = await deliver('Message-ID: <late@x>\r\nIn-Reply-To: <single@x>\r\nSubject: Re: single');
      assert.equal(late!.threadId, late!.emailId);
      const threads = await store.threadEmails(acct.id, [old!.threadId, single!.threadId, late!.threadId]);
      assert.deepEqual(threads.get(old!.threadId), [old!.emailId, reply!.emailId]);
      assert.deepEqual(threads.get(late!.threadId), [late!.emailId]);
    }));

  test(`${name}: updateEmails moves between mailboxes keeping the id and sets flags on every copy`, () =>
    withStore(async (store) => {
      const { acct, inbox, archive, deliver } = await setup(store);
      const [m] = await deliver('Subject: x', [inbox.id, archive.id], true);
      const [again] = await store.getEmails(acct.id, [m!.emailId]);
      assert.deepEqual(again!.copies.map((c) => c.mailboxId), [inbox.id, archive.id], 'one email in two mailboxes');
      const result = await store.updateEmails(acct.id, [{ emailId: m!.emailId, mailboxIds: [archive.id], flags: { op: 'add', flags: ['\\Flagged'] } }, { emailId: 424242 }]);
      assert.deepEqual(result.notFound, [424242]);
      const [after] = await store.getEmails(acct.id, [m!.emailId]);
      assert.deepEqual(after!.copies.map((c) => [c.mailboxId, c.flags]), [[archive.id, ['\\Flagged']]]);
      assert.deepEqual(await store.listMessages(inbox.id), [], 'IMAP sees the message gone from INBOX');
      assert.deepEqual(await store.destroyEmails(acct.id, [m!.emailId]), [m!.emailId]);
      assert.deepEqual(await store.getEmails(acct.id, [m!.emailId]), []);
    }));

  test(`${name}: the newest page of a mailbox and the email index`, () =>
    withStore(async (store) => {
      const { acct, inbox, deliver } = await setup(store);
      const ids: number[] = [];
      for (let i = 0; i < 5; i++) {
        const tx = store.beginDelivery();
        tx.write(Buffer.from(`From: Person ${i} <p${i}@x>\r\nSubject: Re: s${i}\r\nDate: Mon, 1 Jan 2024 00:0${i}:00 +0000\r\n\r\nb\r\n`));
        ids.push((await tx.commit({ mailboxes: [{ mailboxId: inbox.id, internalDate: new Date(Date.UTC(2024, 0, 1, 0, i)) }] })).messages[0]!.emailId);
      }
      await deliver('Subject: old', [inbox.id]).then(() => undefined);
      const page = await store.mailboxEmailPage(inbox.id, { position: 0, limit: 2 });
      assert.equal(page.total, 6);
      assert.equal(page.ids.length, 2);
      const index = await store.listEmailIndex(acct.id, { mailboxId: inbox.id });
      const row = index.find((r) => r.id === ids[3])!;
      assert.equal(row.baseSubject, 's3');
      assert.equal(row.fromSort, 'person 3');
      assert.equal(row.sentAt, Date.UTC(2024, 0, 1, 0, 3));
      assert.deepEqual(row.mailboxIds, [inbox.id]);
    }));
}
