/**
 * Identity and EmailSubmission through the real sending service on a real store: a draft sent over JMAP is
 * delivered to a local recipient without its Bcc field, queued for a remote one, moved to Sent by
 * onSuccessUpdateEmail, and a foreign sender is refused as forbiddenFrom.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { defaultConfig, mergeConfig } from '../config/schema.ts';
import { silentLogger } from '../core/log.ts';
import { DeliveryPlanner } from '../delivery/planner.ts';
import { localMessageChecks } from '../policy/message-checks.ts';
import { SubmissionRateLimiter } from '../policy/submission-rate.ts';
import type { JmapAccount, JmapBackend, JmapIdentity } from '../protocols/jmap/backend.ts';
import { CORE_CAPABILITY, MAIL_CAPABILITY, SUBMISSION_CAPABILITY } from '../protocols/jmap/capabilities.ts';
import { JmapEngine } from '../protocols/jmap/engine.ts';
import { mailAccountCapability, mailAndSubmissionMethods, submissionAccountCapability } from '../protocols/jmap/mail/index.ts';
import type { JmapSubmissionBackend } from '../protocols/jmap/mail/submission-methods.ts';
import type { MethodTable } from '../protocols/jmap/method.ts';
import { CORE_METHODS } from '../protocols/jmap/methods/index.ts';
import { StoreMailAccess } from '../mail/service.ts';
import { openStore, type OpenedStore } from '../store/open.ts';
import { SubmissionService } from '../submission/service.ts';
import { StoreJmapSubmissionBackend, withoutBcc } from './jmap-submission-backend.ts';

let dir: string;
let store: OpenedStore;
let engine: JmapEngine<JmapSubmissionBackend>;
let aliceId: number;
let A: string;

class OneAccount implements JmapBackend {
  constructor(private readonly id: number) {}
  private account(): JmapAccount {
    return { name: 'alice', isPersonal: true, isReadOnly: false, accountCapabilities: { [CORE_CAPABILITY]: {}, [MAIL_CAPABILITY]: mailAccountCapability(), [SUBMISSION_CAPABILITY]: submissionAccountCapability() } };
  }
  async accountsFor() { return { [`a${this.id}`]: this.account() }; }
  async accountFor(_i: JmapIdentity, accountId: string) { return accountId === `a${this.id}` ? this.account() : null; }
  async primaryAccountsFor() { return {}; }
  async sessionState() { return 's'; }
}

async function call(methodCalls: unknown[]): Promise<[string, Record<string, any>, string][]> {
  const identity = { username: 'alice@example.test', accountId: aliceId, address: 'alice@example.test' };
  const result = await engine.handle(identity, { body: JSON.stringify({ using: [CORE_CAPABILITY, MAIL_CAPABILITY, SUBMISSION_CAPABILITY], methodCalls }), contentType: 'application/json' });
  return (JSON.parse(JSON.stringify(result.body)) as Record<string, any>).methodResponses;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postamt-jmap-submit-'));
  store = await openStore({ dataDir: dir });
  await store.addDomain('example.test');
  aliceId = (await store.addAccount({ address: 'alice@example.test', passwordHash: 'x', scram: null })).id;
  await store.addAccount({ address: 'bob@example.test', passwordHash: 'x', scram: null });
  A = `a${aliceId}`;
  const config = mergeConfig(defaultConfig({ cwd: dir }), { hostname: 'mail.example.test' });
  const submission = new SubmissionService({
    config, logger: silentLogger(), store, planner: new DeliveryPlanner({ store, hostname: config.hostname }),
    rate: new SubmissionRateLimiter({ messagesPerHour: 100, recipientsPerHour: 1000 }), queue: { kick: () => undefined }, dkimKeys: null, checks: localMessageChecks, inflight: null,
  });
  const backend = new StoreJmapSubmissionBackend({ mail: new StoreMailAccess({ store, accounts: store, defaultQuotaBytes: 0 }), store, limits: { maxDelayedSend: 3600, maxIdentities: 5, maxSignatureSize: 1000 }, logger: silentLogger(), base: new OneAccount(aliceId), storeAccountId: (id) => (/^a\d+$/.test(id) ? Number(id.slice(1)) : null), submission });
  engine = new JmapEngine<JmapSubmissionBackend>({ backend, methods: { ...(CORE_METHODS as MethodTable<JmapSubmissionBackend>), ...mailAndSubmissionMethods() }, capabilities: { [MAIL_CAPABILITY]: {}, [SUBMISSION_CAPABILITY]: {} }, logger: silentLogger() });
});

after(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('Identity and EmailSubmission (RFC 8621 §6, §7)', () => {
  it('sends a draft through the sending service and moves it to Sent on success', async () => {
    const drafts = (await store.getMailbox(aliceId, 'Drafts'))!;
    const sent = (await store.getMailbox(aliceId, 'Sent'))!;
    const [[, identities]] = await call([['Identity/get', { accountId: A, ids: null }, 'i']]);
    assert.deepEqual(identities.list.map((i: any) => i.email), ['alice@example.test']);
    const identityId = identities.list[0].id;
    const responses = await call([
      ['Email/set', { accountId: A, create: { d: { mailboxIds: { [`M${drafts.id}`]: true }, keywords: { $draft: true }, from: [{ email: 'alice@example.test' }], to: [{ email: 'bob@example.test' }], bcc: [{ email: 'carol@remote.test' }], subject: 'Lunch?', textBody: [{ partId: '1' }], bodyValues: { 1: { value: 'At noon?' } } } } }, 'e'],
      ['EmailSubmission/set', { accountId: A, create: { s: { identityId, emailId: '#d' } }, onSuccessUpdateEmail: { '#s': { [`mailboxIds/M${drafts.id}`]: null, [`mailboxIds/M${sent.id}`]: true, 'keywords/$draft': null } } }, 's'],
    ]);
    const [, submitted] = responses[1]!;
    assert.ok(submitted.created?.s?.id, JSON.stringify(submitted));
    assert.equal(responses[2]![0], 'Email/set', 'the implicit Email/set follows');
    assert.equal(Object.keys(responses[2]![1].updated).length, 1);
    assert.equal((await store.listMessages(drafts.id)).length, 0);
    const [sentCopy] = await store.listMessages(sent.id);
    assert.deepEqual(sentCopy!.flags, []);
    const bob = (await store.getAccount('bob@example.test'))!;
    const bobInbox = (await store.getMailbox(bob.id, 'INBOX'))!;
    const [delivered] = await store.listMessages(bobInbox.id);
    const text = (await store.readMessage(bobInbox.id, delivered!.uid)).toString();
    assert.match(text, /Subject: Lunch\?/);
    assert.doesNotMatch(text, /^Bcc:/im, 'Bcc is not sent');
    assert.deepEqual((await store.listQueue()).flatMap((q) => q.recipients.map((r) => r.address)), ['carol@remote.test']);
    const [[, got]] = await call([['EmailSubmission/get', { accountId: A, ids: [submitted.created.s.id] }, 'g']]);
    assert.equal(got.list[0].undoStatus, 'final');
    assert.deepEqual(Object.fromEntries(Object.entries(got.list[0].deliveryStatus).map(([k, v]: [string, any]) => [k, v.delivered])), { 'bob@example.test': 'yes', 'carol@remote.test': 'queued' });
    for (const q of await store.listQueue()) await store.deleteQueueMessage(q.id);
  });

  it('refuses a foreign envelope sender with forbiddenFrom and a message without recipients with noRecipients', async () => {
    const drafts = (await store.getMailbox(aliceId, 'Drafts'))!;
    const responses = await call([
      ['Email/set', { accountId: A, create: { d: { mailboxIds: { [`M${drafts.id}`]: true }, from: [{ email: 'alice@example.test' }], subject: 'x' } } }, 'e'],
      ['EmailSubmission/set', { accountId: A, create: {
        s1: { identityId: `I${aliceId}`, emailId: '#d', envelope: { mailFrom: { email: 'ceo@bank.test' }, rcptTo: [{ email: 'bob@example.test' }] } },
        s2: { identityId: `I${aliceId}`, emailId: '#d' },
      } }, 's'],
    ]);
    const [, r] = responses[1]!;
    assert.equal(r.notCreated.s1.type, 'forbiddenMailFrom', 'RFC 8621 §7.5: the envelope sender is refused');
    assert.equal(r.notCreated.s2.type, 'noRecipients');
  });

  it('holds a delayed send (HOLDFOR) in the queue, local recipients too, and cancels it while pending', async () => {
    const drafts = (await store.getMailbox(aliceId, 'Drafts'))!;
    const bob = (await store.getAccount('bob@example.test'))!;
    const bobInbox = (await store.getMailbox(bob.id, 'INBOX'))!;
    const before = (await store.listMessages(bobInbox.id)).length;
    const [[, session]] = await call([['EmailSubmission/get', { accountId: A, ids: [] }, 'g']]);
    const responses = await call([
      ['Email/set', { accountId: A, create: { d: { mailboxIds: { [`M${drafts.id}`]: true }, keywords: { $draft: true }, from: [{ email: 'alice@example.test' }], to: [{ email: 'bob@example.test' }], subject: 'Oops', textBody: [{ partId: '1' }], bodyValues: { 1: { value: 'wrong' } } } } }, 'e'],
      ['EmailSubmission/set', { accountId: A, create: { s: { identityId: `I${aliceId}`, emailId: '#d', envelope: { mailFrom: { email: 'alice@example.test', parameters: { HOLDFOR: '600' } }, rcptTo: [{ email: 'bob@example.test' }, { email: 'dave@remote.test' }] } } } }, 's'],
    ]);
    const created = responses[1]![1].created.s;
    assert.equal(created.undoStatus, 'pending', JSON.stringify(responses[1]));
    const sendAt = Date.parse(created.sendAt);
    assert.ok(sendAt > Date.now() + 590_000 && sendAt <= Date.now() + 601_000, 'sendAt is the release time (whole seconds)');
    assert.equal((await store.listMessages(bobInbox.id)).length, before, 'the local recipient has nothing yet');
    const [held] = await store.listQueue();
    assert.deepEqual(held!.recipients.map((r) => r.address), ['bob@example.test', 'dave@remote.test'], 'every recipient waits in the queue');
    assert.equal(held!.holdUntil?.getTime(), sendAt);

    const [[, changes]] = await call([['EmailSubmission/changes', { accountId: A, sinceState: session.state }, 'c']]);
    assert.deepEqual(changes.created, [created.id]);
    const [[, canceled], [, followUp]] = await call([['EmailSubmission/set', { accountId: A, update: { [created.id]: { undoStatus: 'canceled' } }, onSuccessUpdateEmail: { [created.id]: { 'keywords/$draft': true } } }, 'u']]);
    assert.deepEqual(canceled.updated, { [created.id]: null }, JSON.stringify(canceled));
    assert.equal(followUp ? 'Email/set' : '', 'Email/set');
    assert.deepEqual(await store.listQueue(), [], 'taken out of the queue');
    const [[, got]] = await call([['EmailSubmission/get', { accountId: A, ids: [created.id], properties: ['undoStatus'] }, 'g']]);
    assert.deepEqual(got.list, [{ id: created.id, undoStatus: 'canceled' }]);
    const [[, again]] = await call([['EmailSubmission/set', { accountId: A, update: { [created.id]: { sendAt: '2030-01-01T00:00:00Z' } } }, 'u']]);
    assert.equal(again.notUpdated[created.id].type, 'invalidProperties', 'only undoStatus may change');
    const [[, query]] = await call([['EmailSubmission/query', { accountId: A, filter: { undoStatus: 'canceled' }, sort: [{ property: 'sentAt', isAscending: false }] }, 'q']]);
    assert.deepEqual(query.ids, [created.id]);
    const [[, qc]] = await call([['EmailSubmission/queryChanges', { accountId: A, filter: { undoStatus: 'canceled' }, sinceQueryState: session.state }, 'qc']]);
    assert.deepEqual(qc.added, [{ id: created.id, index: 0 }]);
  });

  it('answers cannotUnsend once a submission was sent, and refuses a release later than maxDelayedSend', async () => {
    const drafts = (await store.getMailbox(aliceId, 'Drafts'))!;
    const responses = await call([
      ['Email/set', { accountId: A, create: { d: { mailboxIds: { [`M${drafts.id}`]: true }, from: [{ email: 'alice@example.test' }], to: [{ email: 'bob@example.test' }], subject: 'now' } } }, 'e'],
      ['EmailSubmission/set', { accountId: A, create: { now: { identityId: `I${aliceId}`, emailId: '#d' }, far: { identityId: `I${aliceId}`, emailId: '#d', envelope: { mailFrom: { email: 'alice@example.test', parameters: { HOLDFOR: '7200' } }, rcptTo: [{ email: 'bob@example.test' }] } } } }, 's'],
    ]);
    const set = responses[1]![1];
    assert.equal(set.notCreated.far.type, 'invalidProperties');
    assert.match(set.notCreated.far.description, /^554 5\.3\.4/, 'RFC 4865: past the maximum');
    const id = set.created.now.id;
    const [[, undo]] = await call([['EmailSubmission/set', { accountId: A, update: { [id]: { undoStatus: 'canceled' } } }, 'u']]);
    assert.equal(undo.notUpdated[id].type, 'cannotUnsend');
    const [[, destroyed]] = await call([['EmailSubmission/set', { accountId: A, destroy: [id] }, 'd']]);
    assert.deepEqual(destroyed.destroyed, [id]);
  });

  it('keeps identity names and signatures, creates identities only for addresses the account may send as', async () => {
    await store.addAlias('sales@example.test', ['alice@example.test']);
    const [[, first]] = await call([['Identity/get', { accountId: A }, 'g']]);
    const primary = first.list[0];
    assert.equal(primary.mayDelete, false);
    const [[, set]] = await call([['Identity/set', { accountId: A, ifInState: first.state,
      update: { [primary.id]: { name: 'Alice Liddell', textSignature: '-- \nAlice', replyTo: [{ name: null, email: 'desk@example.test' }] } },
      create: { ok: { email: 'sales@example.test', name: 'Sales' }, foreign: { email: 'ceo@bank.test' } } }, 's']]);
    assert.deepEqual(set.updated, { [primary.id]: null }, JSON.stringify(set));
    assert.equal(set.notCreated.foreign.type, 'forbiddenFrom');
    const sales = set.created.ok;
    assert.equal(sales.mayDelete, true);
    const [[, got]] = await call([['Identity/get', { accountId: A }, 'g']]);
    assert.deepEqual(got.list.map((i: any) => [i.email, i.name, i.textSignature, i.mayDelete]), [['alice@example.test', 'Alice Liddell', '-- \nAlice', false], ['sales@example.test', 'Sales', '', true]]);
    const [[, changes]] = await call([['Identity/changes', { accountId: A, sinceState: first.state }, 'c']]);
    assert.deepEqual({ created: changes.created, updated: changes.updated }, { created: [sales.id], updated: [primary.id] });
    const [[, bad]] = await call([['Identity/set', { accountId: A, update: { [primary.id]: { email: 'x@example.test' } }, destroy: [primary.id] }, 's']]);
    assert.equal(bad.notUpdated[primary.id].type, 'willDestroy');
    assert.equal(bad.notDestroyed[primary.id].type, 'forbidden');
    const [[, gone]] = await call([['Identity/set', { accountId: A, destroy: [sales.id] }, 's']]);
    assert.deepEqual(gone.destroyed, [sales.id]);
  });

  it('removes only Bcc fields from the header', () => {
    const out = withoutBcc(Buffer.from('From: a@x\r\nBcc: b@x,\r\n c@x\r\nTo: d@x\r\n\r\nBcc: body stays\r\n')).toString();
    assert.equal(out, 'From: a@x\r\nTo: d@x\r\n\r\nBcc: body stays\r\n');
  });
});
