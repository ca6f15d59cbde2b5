import { describe, it, beforeEach, afterEach } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openStore, type OpenedStore } from '../store/open.ts';
import type { MailboxRecord } from '../store/types.ts';
import type { EngineContext } from '../protocols/engine.ts';
import { outputText as text } from '../protocols/imap/testing/memory-backend.ts';
import type { SaslAuthenticator } from '../protocols/sasl/types.ts';
import { ImapSession } from '../protocols/imap/session.ts';
import { MailImapBackend } from './imap-backend.ts';
import { StoreMailAccess } from './service.ts';
import { MailboxSnapshots } from './mailbox-snapshots.ts';

let dataDir: string;
/** The server's connection, and a second one standing for another process writing to the same database. */
let store: OpenedStore;
let other: OpenedStore;
let accountId: number;

beforeEach(async () => {
  dataDir = mkdtempSync(join(tmpdir(), 'postamt-snapshots-'));
  store = await openStore({ dataDir });
  await store.addDomain('example.org');
  accountId = (await store.addAccount({ address: 'u@example.org', passwordHash: 'x', scram: null })).id;
  other = await openStore({ dataDir });
});

afterEach(async () => {
  await other.close();
  await store.close();
  rmSync(dataDir, { recursive: true, force: true });
});

async function mailbox(name = 'INBOX'): Promise<MailboxRecord> {
  return (await store.getMailbox(accountId, name))!;
}

async function deliver(s: OpenedStore, mailboxId: number, flags: string[] = []): Promise<number> {
  const tx = s.beginDelivery();
  tx.write(Buffer.from('Subject: x\r\n\r\nx\r\n'));
  return (await tx.commit({ mailboxes: [{ mailboxId, flags }] })).messages[0]!.uid;
}

/** What a SELECT must report, read from the database without any cache. */
async function truth(mailboxId: number) {
  const s = (await store.selectState(mailboxId))!;
  return {
    uidNext: s.mailbox.uidNext,
    highestModSeq: s.mailbox.highestModSeq,
    uids: [...s.uids],
    unseen: s.unseenUids.length,
    firstUnseenUid: s.unseenUids[0] ?? 0,
    keywords: s.keywords,
  };
}

async function cached(snapshots: MailboxSnapshots, mailboxId: number) {
  const mb = (await store.getMailboxById(mailboxId))!;
  const s = (await snapshots.snapshot(mb))!;
  return { uidNext: s.uidNext, highestModSeq: s.highestModSeq, uids: s.uids.slice(), unseen: s.unseen, firstUnseenUid: s.firstUnseenUid, keywords: s.keywords };
}

/** A small deterministic PRNG, so a failure can be replayed. */
function prng(seed: number): (n: number) => number {
  let x = seed;
  return (n) => {
    x = (x * 1103515245 + 12345) & 0x7fffffff;
    return x % n;
  };
}

describe('SELECT snapshots kept between SELECTs', () => {
  for (const options of [{ label: 'brought forward by deltas', maxDelta: 10_000 }, { label: 'rebuilt after big deltas', maxDelta: 3 }, { label: 'too big to keep', maxDelta: 10_000, maxBytes: 64 }]) {
    it(`match the database after every kind of change, from this process or another (${options.label})`, async () => {
      const snapshots = new MailboxSnapshots({ store, maxDelta: options.maxDelta, ...(options.maxBytes ? { maxBytes: options.maxBytes } : {}) });
      const inbox = (await mailbox()).id;
      const trash = (await mailbox('Trash')).id;
      const rand = prng(42);
      const keywordsEver = new Set<string>();
      for (let i = 0; i < 20; i++) await deliver(store, inbox, i % 4 === 0 ? ['\\Seen'] : []);
      for (let step = 0; step < 150; step++) {
        const s = rand(2) === 0 ? store : other;
        const present = [...(await truth(inbox)).uids];
        const pick = (): number[] => present.filter(() => rand(4) === 0);
        switch (rand(7)) {
          case 0:
            await deliver(s, inbox, rand(2) === 0 ? ['\\Seen'] : rand(2) === 0 ? ['$Work'] : []);
            break;
          case 1:
            await s.storeFlags(inbox, pick(), 'add', ['\\Seen']);
            break;
          case 2:
            await s.storeFlags(inbox, pick(), 'remove', ['\\Seen', '$Work']);
            break;
          case 3: {
            const kw = `$K${rand(5)}`;
            keywordsEver.add(kw);
            await s.storeFlags(inbox, pick(), rand(2) === 0 ? 'add' : 'set', [kw]);
            break;
          }
          case 4:
            await s.expunge(inbox, pick());
            break;
          case 5:
            await s.copyMessages(trash, (await s.listMessages(trash)).map((m) => m.uid).slice(0, 3), inbox, { move: rand(2) === 0 });
            break;
          case 6:
            await s.copyMessages(inbox, pick().slice(0, 5), trash, { move: true });
            break;
        }
        if (rand(3) === 0) continue; // several changes between two SELECTs
        const want = await truth(inbox);
        if (step % 2 === 0) {
          // STATUS's summary, which may itself bring the entry forward before the SELECT below.
          const { uidNext, highestModSeq, messages, unseen } = (await snapshots.summary((await store.getMailboxById(inbox))!))!;
          assert.deepEqual({ uidNext, highestModSeq, messages, unseen }, { uidNext: want.uidNext, highestModSeq: want.highestModSeq, messages: want.uids.length, unseen: want.unseen }, `step ${step}: summary`);
        }
        const got = await cached(snapshots, inbox);
        const { keywords, ...rest } = got;
        const { keywords: wantKeywords, ...wantRest } = want;
        assert.deepEqual(rest, wantRest, `step ${step}`);
        // Keywords may stay listed after the last message carrying one lost it (until a rebuild).
        for (const k of wantKeywords) assert.ok(keywords.includes(k), `step ${step}: ${k} listed`);
        for (const k of keywords) assert.ok(keywordsEver.has(k) || k === '$Work', `step ${step}: ${k} was used`);
        assert.deepEqual(keywords, [...keywords].sort());
      }
      if (options.maxBytes) assert.equal(snapshots.size, 0, 'nothing kept beyond the budget');
    });
  }

  it('stay right when SELECTs of the same mailbox run at the same time as changes', async () => {
    const snapshots = new MailboxSnapshots({ store });
    const inbox = (await mailbox()).id;
    for (let i = 0; i < 10; i++) await deliver(store, inbox);
    await cached(snapshots, inbox);
    for (let round = 0; round < 5; round++) {
      const results = await Promise.all([
        cached(snapshots, inbox),
        store.storeFlags(inbox, [round + 1], 'add', ['\\Seen']).then(() => cached(snapshots, inbox)),
        deliver(other, inbox).then(() => cached(snapshots, inbox)),
        other.expunge(inbox, [10 - round]).then(() => cached(snapshots, inbox)),
        cached(snapshots, inbox),
      ]);
      // Each answer is one consistent state: its UIDNEXT and HIGHESTMODSEQ go with its UIDs.
      for (const r of results) assert.ok(r.uids.every((u) => u < r.uidNext));
      const { keywords: _k, ...want } = await truth(inbox);
      const { keywords: _g, ...got } = await cached(snapshots, inbox);
      assert.deepEqual(got, want, `round ${round}`);
    }
  });

  it('give each caller its own UID map', async () => {
    const snapshots = new MailboxSnapshots({ store });
    const inbox = await mailbox();
    for (let i = 0; i < 5; i++) await deliver(store, inbox.id);
    const a = (await snapshots.snapshot(await mailbox()))!;
    a.uids.remove([1, 2]);
    const b = (await snapshots.snapshot(await mailbox()))!;
    assert.deepEqual(b.uids.slice(), [1, 2, 3, 4, 5]);
  });
});

describe('SELECT through the IMAP backend with a shared snapshot cache', () => {
  function client(backend: MailImapBackend) {
    const context: EngineContext = { sessionId: 's', remoteAddress: '127.0.0.1', tls: null, push: () => undefined };
    const sasl: SaslAuthenticator = {
      mechanisms: () => [],
      start: () => null,
      checkPassword: async (u) => ({ kind: 'success', identity: { accountId, address: u } }),
    };
    const session = new ImapSession({ backend, sasl, context, allowPlaintextAuth: true });
    return { send: async (s: string) => text(await session.receive(Buffer.from(s))) };
  }

  it('a new SELECT sees flags, expunges and appends made by another session and by another process', async () => {
    const backend = new MailImapBackend({ mail: new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: 0 }), changes: store });
    const a = client(backend);
    const b = client(backend);
    await a.send('l LOGIN u@example.org pw\r\n');
    await b.send('l LOGIN u@example.org pw\r\n');
    const inbox = await mailbox();
    for (let i = 0; i < 6; i++) await deliver(store, inbox.id);
    const first = await a.send('s SELECT INBOX\r\n');
    assert.match(first, /\* 6 EXISTS\r\n/);
    assert.match(first, /\[UNSEEN 1\]/);
    // Another session: \Seen on 1-2, a keyword on 3, 4 expunged, one APPEND.
    await b.send('s SELECT INBOX\r\n');
    await b.send('f STORE 1:2 +FLAGS (\\Seen)\r\n');
    await b.send('k STORE 3 +FLAGS ($Later)\r\n');
    await b.send('d STORE 4 +FLAGS.SILENT (\\Deleted)\r\n');
    await b.send('e EXPUNGE\r\n');
    assert.match(await b.send('p APPEND INBOX (\\Seen) {9+}\r\nX: y\r\n\r\nz\r\n'), /APPENDUID \d+ 7/);
    // b leaves INBOX: its STATUS answers below are then not joined by reports of the other process's changes.
    await b.send('x UNSELECT\r\n');
    const second = await a.send('t SELECT INBOX\r\n');
    const mb = await mailbox();
    assert.match(second, /\* 6 EXISTS\r\n/);
    assert.match(second, /\* FLAGS \(\\Answered \\Flagged \\Deleted \\Seen \\Draft \$Later\)\r\n/);
    assert.match(second, /\[UNSEEN 3\]/);
    assert.match(second, /\[UIDNEXT 8\]/);
    assert.match(second, new RegExp(`\\[HIGHESTMODSEQ ${mb.highestModSeq}\\]`));
    assert.equal(await a.send('u UID SEARCH ALL\r\n'), '* SEARCH 1 2 3 5 6 7\r\nu OK UID SEARCH completed\r\n');
    // Another process: its changes reach this server only through the database.
    await other.storeFlags(inbox.id, [3, 5, 6], 'add', ['\\Seen']);
    await other.expunge(inbox.id, [1]);
    await deliver(other, inbox.id);
    const third = await a.send('v SELECT INBOX\r\n');
    assert.match(third, /\* 6 EXISTS\r\n/);
    assert.match(third, /\[UNSEEN 6\]/, 'only the new message (UID 8, sequence 6) is unseen');
    assert.match(third, /\[UIDNEXT 9\]/);
    assert.equal(await a.send('w UID SEARCH UNSEEN\r\n'), '* SEARCH 8\r\nw OK UID SEARCH completed\r\n');
    // STATUS without DELETED or SIZE answers from the same snapshots.
    assert.equal(await b.send('st STATUS INBOX (MESSAGES UNSEEN UIDNEXT)\r\n'), '* STATUS "INBOX" (MESSAGES 6 UNSEEN 1 UIDNEXT 9)\r\nst OK STATUS completed\r\n');
    await other.storeFlags(inbox.id, [8], 'add', ['\\Seen', '\\Deleted']);
    assert.equal(await b.send('st STATUS INBOX (MESSAGES UNSEEN)\r\n'), '* STATUS "INBOX" (MESSAGES 6 UNSEEN 0)\r\nst OK STATUS completed\r\n');
    assert.match(await b.send('st STATUS INBOX (UNSEEN DELETED SIZE)\r\n'), /\* STATUS "INBOX" \(UNSEEN 0 DELETED 1 SIZE \d+\)\r\n/);
    // A deleted and re-created mailbox is a new mailbox (new UIDVALIDITY), not the cached one.
    // The same goes for the envelopes kept for FETCH ENVELOPE.
    await b.send('c CREATE Box\r\n');
    await b.send('p APPEND Box {18+}\r\nSubject: one\r\n\r\nz\r\n');
    assert.match(await a.send('x SELECT Box\r\n'), /\* 1 EXISTS/);
    assert.match(await a.send('e FETCH 1 ENVELOPE\r\n'), /"one"/);
    await a.send('u UNSELECT\r\n');
    await b.send('r DELETE Box\r\n');
    await b.send('c CREATE Box\r\n');
    assert.match(await a.send('y SELECT Box\r\n'), /\* 0 EXISTS/);
    await b.send('p APPEND Box {18+}\r\nSubject: two\r\n\r\nz\r\n');
    assert.match(await a.send('z SELECT Box\r\n'), /\* 1 EXISTS/);
    assert.match(await a.send('e FETCH 1 ENVELOPE\r\n'), /"two"/);
  });
});
