/**
 * What every `ImapBackend` must do, as one suite: run against the in-memory backend the engine's
 * transcript tests use and against the server's backend on the store, so the fake answers as the real one.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { ImapBackendError, type ImapAccount, type ImapBackend, type ImapChange } from '../backend.ts';
import type { AuthIdentity } from '../../sasl/types.ts';
import { UidMap } from '../uid-map.ts';

export interface FreshImapBackend {
  backend: ImapBackend;
  /** An account with INBOX, Sent and Trash (others may exist), no messages, no mailbox named "Projects". */
  identity: AuthIdentity;
  /** A message arriving from outside (SMTP delivery) into a mailbox of the account; returns its UID. */
  deliver(mailbox: string, bytes: string, options?: { flags?: string[] }): Promise<number>;
  /** Sets the account's quota in bytes (null: unlimited). */
  setQuota(limitBytes: number | null): Promise<void>;
  cleanup(): Promise<void>;
}

function code(expected: ImapBackendError['code']) {
  return (err: unknown): boolean => err instanceof ImapBackendError && err.code === expected;
}

async function append(account: ImapAccount, mailbox: string, text: string, options: { flags?: string[]; internalDate?: Date } = {}) {
  const sink = account.beginAppend();
  sink.write(Buffer.from(text));
  return sink.commit({ mailbox, flags: options.flags ?? [], internalDate: options.internalDate ?? null });
}

/** Resolves with the changes seen once `done` accepts them, or rejects after `ms`. */
function watchUntil(account: ImapAccount, done: (seen: ImapChange[]) => boolean, ms = 3000): { seen: Promise<ImapChange[]> } {
  const seen: ImapChange[] = [];
  return {
    seen: new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        off();
        reject(new Error(`changes seen: ${JSON.stringify(seen)}`));
      }, ms);
      const off = account.watch((c) => {
        seen.push(c);
        if (!done(seen)) return;
        clearTimeout(timer);
        off();
        resolve(seen);
      });
    }),
  };
}

export function runImapBackendContract(name: string, openFresh: () => Promise<FreshImapBackend>): void {
  async function withAccount(fn: (account: ImapAccount, fresh: FreshImapBackend) => Promise<void>): Promise<void> {
    const fresh = await openFresh();
    try {
      await fn(await fresh.backend.openAccount(fresh.identity), fresh);
    } finally {
      await fresh.cleanup();
    }
  }

  test(`${name}: mailboxes are created unsubscribed, renamed with their children and deleted`, () =>
    withAccount(async (account) => {
      const names = async () => (await account.listMailboxes()).map((m) => m.name);
      assert.ok((await names()).includes('INBOX'));
      await account.createMailbox('Projects');
      await account.createMailbox('Projects/2024');
      await assert.rejects(account.createMailbox('Projects'), code('ALREADYEXISTS'));
      // RFC 9051 §6.3.4: CREATE does not subscribe.
      assert.equal((await account.listMailboxes()).find((m) => m.name === 'Projects')?.subscribed, false);
      await assert.rejects(account.renameMailbox('Projects', 'Trash'), code('ALREADYEXISTS'));
      await assert.rejects(account.renameMailbox('Nowhere', 'Elsewhere'), code('NONEXISTENT'));
      await account.renameMailbox('Projects', 'Done');
      assert.deepEqual((await names()).filter((n) => n.startsWith('Done') || n.startsWith('Projects')).sort(), ['Done', 'Done/2024']);
      await account.deleteMailbox('Done/2024');
      await assert.rejects(account.deleteMailbox('Done/2024'), code('NONEXISTENT'));
      assert.equal((await names()).includes('Done/2024'), false);
      assert.equal(await account.select('Done/2024'), null);
      assert.equal(await account.status('Done/2024'), null);
    }));

  test(`${name}: a subscription needs the mailbox, and outlives it (RFC 9051 §6.3.8)`, () =>
    withAccount(async (account) => {
      await assert.rejects(account.setSubscribed('Nowhere', true), code('NONEXISTENT'));
      await account.createMailbox('Projects');
      await account.setSubscribed('Projects', true);
      assert.ok((await account.listSubscriptions()).includes('Projects'));
      await account.deleteMailbox('Projects');
      assert.ok((await account.listSubscriptions()).includes('Projects'), 'the name stays subscribed after DELETE');
      await account.setSubscribed('Projects', false);
      assert.equal((await account.listSubscriptions()).includes('Projects'), false);
    }));

  test(`${name}: APPEND stores bytes, flags and date under the next UID; SELECT and STATUS agree`, () =>
    withAccount(async (account) => {
      const before = (await account.select('INBOX'))!;
      const date = new Date('2023-05-06T07:08:09Z');
      const first = await append(account, 'INBOX', 'Subject: one\r\n\r\nfirst\r\n', { flags: ['\\Seen', '$Work'], internalDate: date });
      const second = await append(account, 'INBOX', 'Subject: two\r\n\r\nsecond\r\n');
      assert.equal(first.uidValidity, before.uidValidity);
      assert.ok(first.uid >= before.uidNext && second.uid > first.uid);
      const sel = (await account.select('INBOX'))!;
      assert.deepEqual(sel.uids instanceof UidMap ? sel.uids.slice() : Array.from(sel.uids), [first.uid, second.uid]);
      assert.equal(sel.uidNext, second.uid + 1);
      assert.deepEqual(sel.keywords, ['$Work']);
      assert.equal(sel.unseen, 1);
      assert.equal(sel.firstUnseenSeq, 2);
      const [meta] = await account.messages(sel.id, [first.uid]);
      assert.deepEqual([...meta!.flags].sort(), ['$Work', '\\Seen']);
      assert.equal(meta!.internalDate.getTime(), date.getTime());
      assert.equal(meta!.size, 'Subject: one\r\n\r\nfirst\r\n'.length);
      assert.equal((await account.readMessage(sel.id, first.uid))?.toString(), 'Subject: one\r\n\r\nfirst\r\n');
      assert.equal((await account.readMessage(sel.id, first.uid, { start: 9, end: 12 }))?.toString(), 'one');
      assert.equal(await account.readMessage(sel.id, second.uid + 100), null, 'a message that is not there reads as null');
      const status = (await account.status('INBOX'))!;
      assert.deepEqual([status.messages, status.unseen, status.deleted, status.sizeBytes, status.uidNext], [2, 1, 0, meta!.size + 'Subject: two\r\n\r\nsecond\r\n'.length, second.uid + 1]);
      const quick = (await account.status('INBOX', { counts: false }))!;
      assert.deepEqual([quick.messages, quick.unseen, quick.uidNext, quick.uidValidity], [2, 1, second.uid + 1, before.uidValidity]);
    }));

  test(`${name}: MULTIAPPEND stores all or none; a missing mailbox is NONEXISTENT`, () =>
    withAccount(async (account) => {
      const sink = (text: string) => {
        const s = account.beginAppend();
        s.write(Buffer.from(text));
        return s;
      };
      const stored = await account.commitAppends([
        { sink: sink('Subject: a\r\n\r\na\r\n'), target: { mailbox: 'INBOX', flags: [], internalDate: null } },
        { sink: sink('Subject: b\r\n\r\nb\r\n'), target: { mailbox: 'Sent', flags: ['\\Seen'], internalDate: null } },
      ]);
      assert.equal(stored.length, 2);
      await assert.rejects(account.commitAppends([
        { sink: sink('Subject: c\r\n\r\nc\r\n'), target: { mailbox: 'INBOX', flags: [], internalDate: null } },
        { sink: sink('Subject: d\r\n\r\nd\r\n'), target: { mailbox: 'Nowhere', flags: [], internalDate: null } },
      ]), code('NONEXISTENT'));
      assert.equal((await account.status('INBOX'))!.messages, 1, 'neither message of the refused batch was stored');
    }));

  test(`${name}: metadata by UIDs, as columns, and changes since a modseq`, () =>
    withAccount(async (account, fresh) => {
      const uids = [];
      for (let i = 0; i < 4; i++) uids.push(await fresh.deliver('INBOX', `Subject: ${i}\r\n\r\n${i}\r\n`));
      const sel = (await account.select('INBOX'))!;
      assert.deepEqual((await account.messages(sel.id, [uids[3]!, uids[1]!, uids[3]! + 50])).map((m) => m.uid), [uids[1], uids[3]], 'ascending, missing left out');
      const all = await account.metaColumns(sel.id, { uidFrom: uids[0]!, uidTo: uids[3]! }, ['flags', 'size']);
      assert.equal(all.count, 4);
      assert.equal(all.uids, null, 'every UID of the range is present');
      assert.deepEqual(all.size, [0, 1, 2, 3].map((i) => `Subject: ${i}\r\n\r\n${i}\r\n`.length));
      await account.expunge(sel.id, [uids[1]!]);
      const gap = await account.metaColumns(sel.id, { uidFrom: uids[0]!, uidTo: uids[3]! }, ['modSeq']);
      assert.deepEqual(gap.uids && Array.from(gap.uids), [uids[0], uids[2], uids[3]]);
      assert.equal(gap.modSeq?.length, 3);
      const mark = (await account.status('INBOX'))!.highestModSeq;
      await account.storeFlags(sel.id, [uids[2]!], 'add', ['\\Flagged']);
      assert.deepEqual((await account.changedSince(sel.id, { modSeq: mark })).map((m) => m.uid), [uids[2]]);
      assert.deepEqual((await account.changedSince(sel.id, { uidFrom: uids[3]! })).map((m) => m.uid), [uids[3]]);
    }));

  test(`${name}: flags are added, removed and set with a new modseq; UNCHANGEDSINCE refuses changed messages`, () =>
    withAccount(async (account, fresh) => {
      const a = await fresh.deliver('INBOX', 'Subject: a\r\n\r\na\r\n');
      const b = await fresh.deliver('INBOX', 'Subject: b\r\n\r\nb\r\n');
      const sel = (await account.select('INBOX'))!;
      const added = await account.storeFlags(sel.id, [a, b], 'add', ['\\Seen']);
      assert.deepEqual(added.changed.map((m) => [m.uid, m.flags]), [[a, ['\\Seen']], [b, ['\\Seen']]]);
      assert.ok(added.changed.every((m) => m.modSeq > sel.highestModSeq));
      const removed = await account.storeFlags(sel.id, [a], 'remove', ['\\Seen']);
      assert.deepEqual(removed.changed.map((m) => [m.uid, m.flags]), [[a, []]]);
      const set = await account.storeFlags(sel.id, [b], 'set', ['\\Answered', '$Label']);
      assert.deepEqual(set.changed.map((m) => [m.uid, [...m.flags].sort()]), [[b, ['$Label', '\\Answered']]]);
      const old = added.changed[0]!.modSeq;
      const refused = await account.storeFlags(sel.id, [a, b], 'add', ['\\Flagged'], { unchangedSince: old });
      assert.deepEqual(refused.failedUnchangedSince.sort((x, y) => x - y), [a, b]);
      assert.deepEqual(refused.changed, []);
      const [meta] = await account.messages(sel.id, [a]);
      assert.deepEqual(meta!.flags, [], 'a refused change changes nothing');
    }));

  test(`${name}: EXPUNGE removes, VANISHED remembers, COPY and MOVE report UID pairs`, () =>
    withAccount(async (account, fresh) => {
      const a = await fresh.deliver('INBOX', 'Subject: a\r\n\r\na\r\n', { flags: ['\\Flagged'] });
      const b = await fresh.deliver('INBOX', 'Subject: b\r\n\r\nb\r\n');
      const c = await fresh.deliver('INBOX', 'Subject: c\r\n\r\nc\r\n');
      const inbox = (await account.select('INBOX'))!;
      const trash = (await account.select('Trash'))!;
      const copied = await account.copy(inbox.id, [a], 'Trash', { move: false });
      assert.equal(copied.uidValidity, trash.uidValidity);
      assert.equal(copied.pairs.length, 1);
      assert.equal(copied.pairs[0]![0], a);
      const [copy] = await account.messages(trash.id, [copied.pairs[0]![1]]);
      assert.deepEqual(copy!.flags, ['\\Flagged'], 'a copy keeps its flags');
      assert.equal((await account.readMessage(trash.id, copied.pairs[0]![1]))?.toString(), 'Subject: a\r\n\r\na\r\n');
      const mark = (await account.status('INBOX'))!.highestModSeq;
      const moved = await account.copy(inbox.id, [b], 'Trash', { move: true });
      assert.deepEqual(moved.pairs.map((p) => p[0]), [b]);
      assert.deepEqual((await account.messages(inbox.id, [a, b, c])).map((m) => m.uid), [a, c], 'MOVE takes the message out');
      await assert.rejects(account.copy(inbox.id, [a], 'Nowhere', { move: false }), code('NONEXISTENT'));
      assert.deepEqual(await account.expunge(inbox.id, [c, c + 100]), [c]);
      assert.deepEqual((await account.vanishedSince(inbox.id, mark)).sort((x, y) => x - y), [b, c]);
      assert.equal((await account.status('INBOX'))!.messages, 1);
    }));

  test(`${name}: the quota counts what is stored; over it, APPEND and COPY are OVERQUOTA`, () =>
    withAccount(async (account, fresh) => {
      await fresh.setQuota(null);
      assert.equal((await account.quota()).limitBytes, null);
      const text = 'Subject: q\r\n\r\n' + 'x'.repeat(1000) + '\r\n';
      const first = await append(account, 'INBOX', text);
      const used = (await account.quota()).usedBytes;
      assert.ok(used >= text.length);
      await fresh.setQuota(used + text.length + 10);
      assert.equal((await account.quota()).limitBytes, used + text.length + 10);
      await append(account, 'INBOX', text);
      await assert.rejects(append(account, 'INBOX', text), code('OVERQUOTA'));
      const inbox = (await account.select('INBOX'))!;
      await assert.rejects(account.copy(inbox.id, [first.uid], 'Trash', { move: false }), code('OVERQUOTA'));
      await account.copy(inbox.id, [first.uid], 'Trash', { move: true });
    }));

  test(`${name}: a watcher hears new messages, flag changes and expunges of its account`, () =>
    withAccount(async (account, fresh) => {
      const inbox = (await account.select('INBOX'))!;
      const arrival = watchUntil(account, (seen) => seen.some((c) => c.kind === 'append' && c.mailboxId === inbox.id));
      const uid = await fresh.deliver('INBOX', 'Subject: new\r\n\r\nnew\r\n');
      const appended = (await arrival.seen).find((c) => c.kind === 'append')!;
      if (appended.uids !== undefined) assert.deepEqual(appended.uids, [uid]);
      const flagged = watchUntil(account, (seen) => seen.some((c) => c.kind === 'flags'));
      await account.storeFlags(inbox.id, [uid], 'add', ['\\Seen']);
      assert.equal((await flagged.seen).find((c) => c.kind === 'flags')!.mailboxId, inbox.id);
      const expunged = watchUntil(account, (seen) => seen.some((c) => c.kind === 'expunge'));
      await account.expunge(inbox.id, [uid]);
      assert.equal((await expunged.seen).find((c) => c.kind === 'expunge')!.mailboxId, inbox.id);
    }));
}
