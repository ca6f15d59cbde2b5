import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JmapEngine } from '../protocols/jmap/engine.ts';
import type { JmapMailBackend } from '../protocols/jmap/mail/backend.ts';
import type { OpenedStore } from '../store/open.ts';
import { openJmapMailFixture, type JmapMailFixture } from '../../test/harness/jmap-mail-fixture.ts';

let fixture: JmapMailFixture;
let store: OpenedStore;
let engine: JmapEngine<JmapMailBackend>;
let acct: number;
let A: string;
let inbox: number;
let uploads: Map<string, Buffer>;

async function deliver(text: string, mailboxId = inbox, date?: Date) {
  return fixture.deliver(text, { mailboxId, ...(date ? { internalDate: date } : {}) });
}

async function call(methodCalls: unknown[]): Promise<[string, Record<string, any>, string][]> {
  return fixture.request(engine, methodCalls);
}

async function one(name: string, args: Record<string, unknown>): Promise<Record<string, any>> {
  const [[responseName, response]] = await call([[name, { accountId: A, ...args }, 'c']]);
  assert.notEqual(responseName, 'error', JSON.stringify(response));
  return response!;
}

const MIXED = `From: "Bob Example" <bob@example.org>
To: alice@example.test, Team: carol@example.org, dave@example.org;
Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and plans
Date: Tue, 2 Jan 2024 10:00:00 +0100
Message-ID: <plan-1@example.org>
List-Post: <mailto:list@example.org>
X-Custom:   spaced value
MIME-Version: 1.0
Content-Type: multipart/mixed; boundary="b1"

--b1
Content-Type: multipart/alternative; boundary="b2"

--b2
Content-Type: text/plain; charset=utf-8
Content-Transfer-Encoding: quoted-printable

Hello Alice, the plan is ready. Gr=C3=BC=C3=9Fe
--b2
Content-Type: text/html; charset=utf-8

<p>Hello <b>Alice</b>, the plan is ready.</p>
--b2--
--b1
Content-Type: application/pdf; name="plan.pdf"
Content-Disposition: attachment; filename="plan.pdf"
Content-Transfer-Encoding: base64

JVBERi0xLjQK
--b1--
`;

before(async () => {
  uploads = new Map();
  fixture = await openJmapMailFixture({ uploadedBlob: async (_a, blobId) => uploads.get(blobId) ?? null });
  ({ store, acct, accountId: A, inbox } = fixture);
  engine = fixture.engine();
});

after(async () => {
  await fixture.close();
});

describe('Mailbox (RFC 8621 §2)', () => {
  it('lists the mailboxes with roles, counts, rights and subscription', async () => {
    await deliver('Subject: one\n\nx\n');
    const r = await one('Mailbox/get', { ids: null });
    const byName = Object.fromEntries(r.list.map((m: any) => [m.name, m]));
    assert.equal(byName.INBOX.role, 'inbox');
    assert.equal(byName.Sent.role, 'sent');
    assert.equal(byName.Trash.role, 'trash');
    assert.equal(byName.INBOX.totalEmails, 1);
    assert.equal(byName.INBOX.unreadEmails, 1);
    assert.equal(byName.INBOX.totalThreads, 1);
    assert.equal(byName.INBOX.myRights.mayDelete, false);
    assert.equal(byName.INBOX.isSubscribed, true);
    assert.equal(r.state, String(await store.accountModSeq(acct)));
  });

  it('creates a child mailbox, renames it, subscribes it as IMAP sees it, and destroys it', async () => {
    const before = (await one('Mailbox/get', { ids: [], properties: ['id'] })).state;
    const [[, set], [, got]] = await call([
      ['Mailbox/set', { accountId: A, create: { p: { name: 'Projects' }, c: { name: 'Postamt', parentId: '#p', isSubscribed: true } } }, 's'],
      ['Mailbox/get', { accountId: A, ids: ['#c'], properties: ['name', 'parentId', 'isSubscribed'] }, 'g'],
    ]);
    assert.ok(set.created.p.id && set.created.c.id, JSON.stringify(set));
    assert.deepEqual(got.list[0], { id: set.created.c.id, name: 'Postamt', parentId: set.created.p.id, isSubscribed: true });
    assert.ok((await store.getMailbox(acct, 'Projects/Postamt')) !== null, 'IMAP sees Projects/Postamt');
    assert.ok((await store.listSubscriptions(acct)).includes('Projects/Postamt'));
    const changes = await one('Mailbox/changes', { sinceState: before });
    assert.deepEqual(changes.created.sort(), [set.created.p.id, set.created.c.id].sort());
    const renamed = await one('Mailbox/set', { update: { [set.created.p.id]: { name: 'Work' } } });
    assert.deepEqual(renamed.updated, { [set.created.p.id]: null });
    assert.ok((await store.getMailbox(acct, 'Work/Postamt')) !== null, 'children move with their parent');
    const refused = await one('Mailbox/set', { destroy: [set.created.p.id] });
    assert.equal(refused.notDestroyed[set.created.p.id].type, 'mailboxHasChild');
    const inboxId = `M${inbox}`;
    const inboxGone = await one('Mailbox/set', { destroy: [inboxId] });
    assert.equal(inboxGone.notDestroyed[inboxId].type, 'forbidden');
    const gone = await one('Mailbox/set', { destroy: [set.created.c.id, set.created.p.id] });
    assert.deepEqual(gone.destroyed, [set.created.c.id, set.created.p.id]);
  });

  it('queries by role and sorts as a tree', async () => {
    const r = await one('Mailbox/query', { filter: { role: 'inbox' } });
    assert.deepEqual(r.ids, [`M${inbox}`]);
    const tree = await one('Mailbox/query', { sortAsTree: true, sort: [{ property: 'sortOrder' }, { property: 'name' }] });
    assert.equal(tree.ids[0], `M${inbox}`);
  });
});

describe('Email/get (RFC 8621 §4.2)', () => {
  it('returns header properties in every form, body parts, body values and a preview', async () => {
    const m = await deliver(MIXED);
    const id = `E${m.emailId}`;
    const r = await one('Email/get', {
      ids: [id],
      properties: ['subject', 'from', 'to', 'sentAt', 'messageId', 'header:X-Custom', 'header:X-Custom:asText', 'header:To:asGroupedAddresses', 'header:List-Post:asURLs', 'header:Subject:asText:all',
        'textBody', 'htmlBody', 'attachments', 'bodyValues', 'preview', 'hasAttachment', 'threadId', 'mailboxIds', 'keywords', 'size', 'receivedAt', 'blobId'],
      fetchTextBodyValues: true, fetchHTMLBodyValues: true, maxBodyValueBytes: 20,
    });
    const e = r.list[0];
    assert.equal(e.subject, 'Grüße and plans');
    assert.deepEqual(e.from, [{ name: 'Bob Example', email: 'bob@example.org' }]);
    assert.deepEqual(e.to.map((a: any) => a.email), ['alice@example.test', 'carol@example.org', 'dave@example.org']);
    assert.equal(e.sentAt, '2024-01-02T09:00:00Z');
    assert.deepEqual(e.messageId, ['plan-1@example.org']);
    assert.equal(e['header:X-Custom'], '   spaced value');
    assert.equal(e['header:X-Custom:asText'], 'spaced value');
    assert.deepEqual(e['header:To:asGroupedAddresses'].map((g: any) => [g.name, g.addresses.length]), [[null, 1], ['Team', 2]]);
    assert.deepEqual(e['header:List-Post:asURLs'], ['mailto:list@example.org']);
    assert.deepEqual(e['header:Subject:asText:all'], ['Grüße and plans']);
    assert.deepEqual(e.textBody.map((p: any) => p.type), ['text/plain']);
    assert.deepEqual(e.htmlBody.map((p: any) => p.type), ['text/html']);
    assert.deepEqual(e.attachments.map((p: any) => [p.type, p.name, p.size]), [['application/pdf', 'plan.pdf', 9]]);
    const text = e.bodyValues[e.textBody[0].partId];
    assert.equal(text.isTruncated, true);
    assert.ok(Buffer.byteLength(text.value) <= 20);
    assert.equal(e.preview, 'Hello Alice, the plan is ready. Grüße');
    assert.equal(e.hasAttachment, true);
    assert.deepEqual(e.mailboxIds, { [`M${inbox}`]: true });
    assert.deepEqual(e.keywords, {});
    assert.equal(e.threadId, `T${m.threadId}`);
    const parsed = await one('Email/parse', { blobIds: [e.attachments[0].blobId, e.blobId], properties: ['subject'] });
    assert.equal(parsed.parsed[e.blobId].subject, 'Grüße and plans');
  });

  it('answers an unknown property or a header form the field does not allow with invalidArguments', async () => {
    const [[name, args]] = await call([['Email/get', { accountId: A, ids: [], properties: ['header:From:asDate'] }, 'c']]);
    assert.equal(name, 'error');
    assert.equal(args.type, 'invalidArguments');
  });
});

describe('Email/set keywords and mailboxes are IMAP flags and mailboxes (RFC 8621 §4.1.1, §4.6)', () => {
  it('sets $seen as \\Seen and moves keeping the id; the change is on the IMAP change feed', async () => {
    const m = await deliver('Subject: move me\n\nx\n');
    const archive = (await store.getMailbox(acct, 'Archive'))!;
    const heard: string[] = [];
    const off = store.subscribe((c) => {
      if ('mailboxId' in c) heard.push(`${c.kind}:${c.mailboxId}`);
    });
    const r = await one('Email/set', { update: { [`E${m.emailId}`]: { 'keywords/$seen': true, 'keywords/$flagged': true, mailboxIds: { [`M${archive.id}`]: true } } } });
    off();
    assert.deepEqual(r.updated, { [`E${m.emailId}`]: null });
    const [row] = await store.listMessages(archive.id);
    assert.deepEqual(row!.flags.sort(), ['\\Flagged', '\\Seen']);
    assert.ok(heard.includes(`flags:${archive.id}`) && heard.includes(`expunge:${inbox}`));
    const got = await one('Email/get', { ids: [`E${m.emailId}`], properties: ['keywords', 'mailboxIds'] });
    assert.deepEqual(got.list[0], { id: `E${m.emailId}`, keywords: { $seen: true, $flagged: true }, mailboxIds: { [`M${archive.id}`]: true } });
    await store.storeFlags(archive.id, [row!.uid], 'remove', ['\\Flagged']);
    const again = await one('Email/get', { ids: [`E${m.emailId}`], properties: ['keywords'] });
    assert.deepEqual(again.list[0].keywords, { $seen: true }, 'an IMAP STORE is seen by JMAP');
  });

  it('creates a draft from textBody/bodyValues and an attachment blob, and imports a blob', async () => {
    const drafts = (await store.getMailbox(acct, 'Drafts'))!;
    uploads.set('up1', Buffer.from('attachment bytes'));
    const r = await one('Email/set', {
      create: {
        d: {
          mailboxIds: { [`M${drafts.id}`]: true }, keywords: { $draft: true }, from: [{ name: 'Alice', email: 'alice@example.test' }], to: [{ name: null, email: 'bob@example.org' }],
          subject: 'Entwurf über', textBody: [{ partId: 't', type: 'text/plain' }], bodyValues: { t: { value: 'Hi Bob\nsee attached' } },
          attachments: [{ blobId: 'up1', type: 'text/plain', name: 'notes.txt' }],
        },
      },
    });
    assert.ok(r.created?.d?.id, JSON.stringify(r));
    const got = await one('Email/get', { ids: [r.created.d.id], properties: ['subject', 'keywords', 'textBody', 'attachments', 'bodyValues'], fetchTextBodyValues: true });
    assert.equal(got.list[0].subject, 'Entwurf über');
    assert.deepEqual(got.list[0].keywords, { $draft: true });
    assert.equal(got.list[0].bodyValues[got.list[0].textBody[0].partId].value.replace(/\r\n/g, '\n'), 'Hi Bob\nsee attached');
    assert.deepEqual(got.list[0].attachments.map((a: any) => a.name), ['notes.txt']);
    const [imapRow] = await store.listMessages(drafts.id);
    assert.deepEqual(imapRow!.flags, ['\\Draft']);
    uploads.set('raw1', Buffer.from('Subject: imported\r\nMessage-ID: <imp@x>\r\n\r\nbody\r\n'));
    const imp = await one('Email/import', { emails: { i: { blobId: 'raw1', mailboxIds: { [`M${inbox}`]: true }, keywords: { $seen: true }, receivedAt: '2024-05-01T00:00:00Z' } } });
    assert.ok(imp.created.i.id);
    const missing = await one('Email/import', { emails: { j: { blobId: 'nope', mailboxIds: { [`M${inbox}`]: true } } } });
    // RFC 8621 §4.8: a blobId that is not found is invalidProperties.
    assert.deepEqual([missing.notCreated.j.type, missing.notCreated.j.properties], ['invalidProperties', ['blobId']]);
    const bad = await one('Email/set', { create: { x: { mailboxIds: {}, subject: 'no mailbox' } } });
    assert.equal(bad.notCreated.x.type, 'invalidProperties');
    // The account's quota holds for JMAP as for IMAP APPEND (one rule, in the mail service).
    await store.updateAccount('alice@example.test', { quotaBytes: 10 });
    const full = await one('Email/import', { emails: { q: { blobId: 'raw1', mailboxIds: { [`M${inbox}`]: true } } } });
    await store.updateAccount('alice@example.test', { quotaBytes: null });
    assert.equal(full.notCreated.q.type, 'overQuota');
  });
});

describe('Email/query, Thread, changes (RFC 8621 §3, §4.3-§4.5)', () => {
  it('filters, sorts, collapses threads, and follows changes', async () => {
    const box = (await store.createMailbox(acct, 'Q')).id;
    const t = (min: number) => new Date(Date.UTC(2024, 1, 1, 0, min));
    const a = await deliver('Message-ID: <q1@x>\nFrom: zed@x\nSubject: Quarterly numbers\n\nrevenue up\n', box, t(1));
    const b = await deliver('Message-ID: <q2@x>\nIn-Reply-To: <q1@x>\nFrom: amy@x\nSubject: Re: Quarterly numbers\n\nthanks\n', box, t(2));
    const c = await deliver('Message-ID: <q3@x>\nFrom: bea@x\nSubject: Lunch\n\nrevenue of the canteen\n', box, t(3));
    const inBox = { inMailbox: `M${box}` };
    const newest = await one('Email/query', { filter: inBox, sort: [{ property: 'receivedAt', isAscending: false }], calculateTotal: true });
    assert.deepEqual(newest.ids, [c, b, a].map((m) => `E${m.emailId}`));
    assert.equal(newest.total, 3);
    const collapsed = await one('Email/query', { filter: inBox, collapseThreads: true });
    assert.deepEqual(collapsed.ids, [c, b].map((m) => `E${m.emailId}`));
    const byFrom = await one('Email/query', { filter: inBox, sort: [{ property: 'from', isAscending: true }] });
    assert.deepEqual(byFrom.ids, [b, c, a].map((m) => `E${m.emailId}`));
    const text = await one('Email/query', { filter: { operator: 'AND', conditions: [inBox, { text: 'revenue' }, { operator: 'NOT', conditions: [{ subject: 'lunch' }] }] } });
    assert.deepEqual(text.ids, [`E${a.emailId}`]);
    const thread = await one('Thread/get', { ids: [`T${a.threadId}`] });
    assert.deepEqual(thread.list[0].emailIds, [`E${a.emailId}`, `E${b.emailId}`]);
    const snippet = await one('SearchSnippet/get', { filter: { text: 'revenue' }, emailIds: [`E${c.emailId}`] });
    assert.match(snippet.list[0].preview, /<mark>revenue<\/mark> of the canteen/);

    const state = newest.queryState;
    await one('Email/set', { update: { [`E${a.emailId}`]: { keywords: { $seen: true } } }, destroy: [`E${c.emailId}`] });
    const changes = await one('Email/changes', { sinceState: state });
    assert.deepEqual(changes.updated, [`E${a.emailId}`]);
    assert.deepEqual(changes.destroyed, [`E${c.emailId}`]);
    const threadChanges = await one('Thread/changes', { sinceState: state });
    assert.deepEqual(threadChanges.destroyed, [`T${c.threadId}`]);
    assert.deepEqual(threadChanges.updated, [], 'a keyword change is no thread change');
    const qc = await one('Email/queryChanges', { filter: inBox, sort: [{ property: 'receivedAt', isAscending: false }], sinceQueryState: state });
    assert.ok(qc.removed.includes(`E${c.emailId}`));
    assert.deepEqual(qc.added, [{ id: `E${a.emailId}`, index: 1 }]);
    const stale = await call([['Email/changes', { accountId: A, sinceState: '999999999' }, 'c']]);
    assert.equal(stale[0]![1].type, 'cannotCalculateChanges');
    const paged = await one('Email/changes', { sinceState: '0', maxChanges: 2 });
    assert.equal(paged.hasMoreChanges, true);
    assert.ok(paged.created.length + paged.updated.length <= 2);
  });

  it('never shows another account\'s email or mailbox', async () => {
    const bob = await store.addAccount({ address: 'bob@example.test', passwordHash: 'x', scram: null });
    const bobInbox = (await store.getMailbox(bob.id, 'INBOX'))!;
    const m = await deliver('Subject: private\n\nsecret\n', bobInbox.id);
    const got = await one('Email/get', { ids: [`E${m.emailId}`], properties: ['subject'] });
    assert.deepEqual(got.notFound, [`E${m.emailId}`]);
    const q = await one('Email/query', { filter: { inMailbox: `M${bobInbox.id}` } });
    assert.deepEqual(q.ids, []);
    const set = await one('Email/set', { update: { [`E${m.emailId}`]: { keywords: { $seen: true } } }, destroy: [`E${m.emailId}`] });
    assert.equal(set.notUpdated[`E${m.emailId}`]?.type ?? set.notDestroyed[`E${m.emailId}`]?.type, 'willDestroy');
    assert.equal(set.notDestroyed[`E${m.emailId}`].type, 'notFound');
    const move = await one('Email/set', { update: { [`E${(await deliver('Subject: mine\n\nx\n')).emailId}`]: { mailboxIds: { [`M${bobInbox.id}`]: true } } } });
    assert.equal(Object.values(move.notUpdated as object)[0].type, 'invalidProperties');
  });
});
