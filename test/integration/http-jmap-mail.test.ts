// JMAP Mail over HTTP with a real JMAP client (jmap-jam) on a running server: the session advertises Mail
// and Submission, mail delivered by SMTP is queried and read, a keyword set over JMAP is seen by IMAP
// (imapflow), a draft is sent with EmailSubmission/set and reaches the recipient; another account's ids
// stay invisible.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import type { JamClient } from 'jmap-jam';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { jamClient } from '../harness/jmap-jam.ts';

const HOST = 'mx.postamt.test';
const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const PASS = 'mail over http pass';
const MAIL = 'urn:ietf:params:jmap:mail';
const SUBMISSION = 'urn:ietf:params:jmap:submission';

describe('JMAP Mail over HTTP with jmap-jam', () => {
  let t: TestServer;
  let jam: JamClient;
  let accountId: string;

  before(async () => {
    t = await startTestServer({ hostname: HOST, config: { auth: { allowPlaintextOnLoopback: true } } as never });
    await t.addUser(ALICE, PASS);
    await t.addUser(BOB, PASS);
    jam = await jamClient(t, { address: ALICE, password: PASS });
    accountId = await jam.getPrimaryAccount();
  });
  after(async () => {
    await t?.stop();
  });

  it('advertises Mail and Submission in the session', async () => {
    const session = await jam.session;
    assert.ok(session.capabilities[MAIL]);
    assert.ok(session.capabilities[SUBMISSION]);
    assert.equal(session.primaryAccounts[MAIL], accountId);
    assert.equal((session.accounts[accountId]!.accountCapabilities as Record<string, any>)[MAIL].maxMailboxesPerEmail, null);
  });

  it('reads mail delivered by SMTP; a keyword set over JMAP is an IMAP flag', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.example.net' });
    await transport.sendMail({ envelope: { from: 'carol@example.net', to: [ALICE] }, raw: 'From: Carol <carol@example.net>\r\nTo: alice@example.test\r\nSubject: Hello over HTTP\r\nMessage-ID: <h1@example.net>\r\n\r\nHi Alice.\r\n' });
    await t.waitForMessages(ALICE, 1);
    const [{ ids: [inboxId] }] = await jam.api.Mailbox.query({ accountId, filter: { role: 'inbox' } });
    const [{ emails }] = await jam.requestMany((r) => {
      const query = r.Email.query({ accountId, filter: { inMailbox: inboxId! }, sort: [{ property: 'receivedAt', isAscending: false }], limit: 50 });
      const emails = r.Email.get({ accountId, ids: query.$ref('/ids'), properties: ['id', 'subject', 'from', 'keywords', 'preview', 'blobId', 'threadId'] });
      return { query, emails };
    });
    const email = emails.list[0]!;
    assert.equal(email.subject, 'Hello over HTTP');
    assert.deepEqual(email.from, [{ name: 'Carol', email: 'carol@example.net' }]);
    assert.equal(email.preview, 'Hi Alice.');

    const [set] = await jam.api.Email.set({ accountId, update: { [email.id]: { 'keywords/$flagged': true } } });
    assert.deepEqual(set.updated, { [email.id]: null });
    const imap = new ImapFlow({ host: '127.0.0.1', port: t.ports.imaps, secure: true, tls: { ca: [t.ca], servername: HOST }, auth: { user: ALICE, pass: PASS }, logger: false, disableAutoIdle: true });
    await imap.connect();
    await imap.mailboxOpen('INBOX');
    const fetched = await imap.fetchOne('1', { flags: true });
    assert.ok(fetched && fetched.flags?.has('\\Flagged'), 'IMAP sees the keyword set over JMAP as \\Flagged');
    await imap.logout();

  });

  it('sends a draft with EmailSubmission/set; it reaches the local recipient', async () => {
    const [{ ids: [draftsId] }] = await jam.api.Mailbox.query({ accountId, filter: { role: 'drafts' } });
    const [identities] = await jam.api.Identity.get({ accountId });
    const identityId = identities.list[0]!.id;
    const before = (await t.messages(BOB)).length;
    const [result] = await jam.requestMany((r) => {
      const draft = r.Email.set({ accountId, create: { d: { mailboxIds: { [draftsId!]: true }, keywords: { $draft: true }, from: [{ name: 'Alice', email: ALICE }], to: [{ name: 'Bob', email: BOB }], subject: 'Sent over JMAP', textBody: [{ partId: 'b', type: 'text/plain' }], bodyValues: { b: { value: 'Hello Bob.' } } } as never } });
      const sent = r.EmailSubmission.set({ accountId, create: { s: { identityId, emailId: '#d' } as never }, onSuccessDestroyEmail: ['#s'] });
      return { draft, sent };
    });
    // jmap-jam keeps the last response of a call id: the implicit Email/set that followed the submission.
    const sent = result.sent as unknown as { created?: Record<string, unknown>; destroyed?: string[] };
    assert.ok(sent.created?.s || sent.destroyed?.length === 1, JSON.stringify(result.sent));
    const [delivered] = (await t.waitForMessages(BOB, before + 1)).slice(-1);
    assert.match((await t.read(BOB, delivered!.uid)).toString(), /Subject: Sent over JMAP/);
    assert.equal((await t.messages(ALICE, 'Drafts')).length, 0, 'onSuccessDestroyEmail removed the draft');
  });

  it('never shows another account\'s mail', async () => {
    const bob = await jamClient(t, { address: BOB, password: PASS });
    const bobAccount = await bob.getPrimaryAccount();
    assert.notEqual(bobAccount, accountId);
    const [{ ids }] = await jam.api.Email.query({ accountId });
    const [got] = await bob.api.Email.get({ accountId: bobAccount, ids, properties: ['subject'] });
    assert.deepEqual(got.list, []);
    assert.deepEqual([...got.notFound].sort(), [...ids].sort());
  });
});
