// JMAP EmailSubmission over real sockets with a real JMAP client (jmap-jam) and curl: a delayed send
// (envelope HOLDFOR, RFC 4865) waits in the queue, held until sendAt, and is delivered then to a local and a
// remote recipient with its delivery status followed; one canceled while pending never arrives; one sent at
// once cannot be unsent; submissions, identities and held messages survive a restart; EmailSubmission
// changes are pushed (EventSource).
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { JamClient } from 'jmap-jam';
import { listQueue } from '../../src/queue/admin.ts';
import { curl } from '../harness/curl.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { jamClient } from '../harness/jmap-jam.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const FAR = 'dave@far.test';
const PASS = 'delayed send pass';
const SUBMISSION = 'urn:ietf:params:jmap:submission';
const USING = ['urn:ietf:params:jmap:core', 'urn:ietf:params:jmap:mail', SUBMISSION];
const BASIC = `Basic ${Buffer.from(`${ALICE}:${PASS}`).toString('base64')}`;

/** One JMAP request with curl. */
async function api(t: TestServer, methodCalls: unknown[]): Promise<[string, Record<string, any>, string][]> {
  const r = await curl(['-H', `Authorization: ${BASIC}`, '-H', 'Content-Type: application/json', '--data-binary', JSON.stringify({ using: USING, methodCalls }), `http://127.0.0.1:${t.ports.http}/jmap/api`]);
  assert.equal(r.status, 200, r.body);
  return r.json().methodResponses;
}

async function until<T>(what: string, probe: () => Promise<T | null | undefined | false>, timeoutMs = 15_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const got = await probe();
    if (got) return got;
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describe('JMAP delayed send and undo (RFC 8621 §7, RFC 4865) with jmap-jam and curl', () => {
  const dataDir = mkdtempSync(join(tmpdir(), 'postamt-delayed-'));
  let sink: SmtpSinkHandle;
  let t: TestServer;
  let jam: JamClient;
  let accountId: string;
  let identityId: string;
  let draftsId: string;
  let sentId: string;

  const start = async (setup?: () => Promise<void>) => {
    t = await startTestServer({ dataDir, config: { auth: { allowPlaintextOnLoopback: true }, submission: { maxDelayedSend: 3_600_000 }, queue: { routes: { 'far.test': { host: '127.0.0.1', port: sink.port } } } } as never });
    await setup?.();
    jam = await jamClient(t, { address: ALICE, password: PASS });
    accountId = await jam.getPrimaryAccount();
  };

  /** A draft to Bob and Dave, submitted with this MAIL FROM parameter (or none); returns the submission as created. */
  async function send(subject: string, parameters: Record<string, string> | null): Promise<Record<string, any>> {
    const responses = await api(t, [
      ['Email/set', { accountId, create: { d: { mailboxIds: { [draftsId]: true }, keywords: { $draft: true }, from: [{ email: ALICE }], to: [{ email: BOB }, { email: FAR }], subject, textBody: [{ partId: 'b', type: 'text/plain' }], bodyValues: { b: { value: 'Hello.' } } } } }, 'e'],
      ['EmailSubmission/set', { accountId, create: { s: { identityId, emailId: '#d', envelope: { mailFrom: { email: ALICE, parameters }, rcptTo: [{ email: BOB, parameters: null }, { email: FAR, parameters: null }] } } },
        onSuccessUpdateEmail: { '#s': { [`mailboxIds/${draftsId}`]: null, [`mailboxIds/${sentId}`]: true, 'keywords/$draft': null } } }, 's'],
    ]);
    const [, set] = responses[1]!;
    assert.ok(set.created?.s, JSON.stringify(set));
    return set.created.s;
  }

  const subjects = async (address: string): Promise<string[]> => {
    const out: string[] = [];
    for (const m of await t.messages(address)) out.push(/^Subject: (.*)$/m.exec((await t.read(address, m.uid)).toString())?.[1] ?? '');
    return out;
  };
  const sinkSubjects = (): string[] => sink.messages.map((m) => /^Subject: (.*)$/m.exec(m.data.toString())?.[1] ?? '');

  before(async () => {
    sink = await startSmtpSink();
    await start(async () => {
      await t.addUser(ALICE, PASS);
      await t.addUser(BOB, PASS);
    });
    const [identities] = await jam.api.Identity.get({ accountId });
    identityId = identities.list[0]!.id;
    const [{ ids: [drafts] }] = await jam.api.Mailbox.query({ accountId, filter: { role: 'drafts' } });
    const [{ ids: [sent] }] = await jam.api.Mailbox.query({ accountId, filter: { role: 'sent' } });
    draftsId = drafts!;
    sentId = sent!;
  });
  after(async () => {
    await t?.stop();
    await sink?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('advertises delayed send: maxDelayedSend and FUTURERELEASE with its limits', async () => {
    const session = await jam.session;
    const capability = (session.accounts[accountId]!.accountCapabilities as Record<string, any>)[SUBMISSION];
    assert.equal(capability.maxDelayedSend, 3600);
    assert.equal(capability.submissionExtensions.FUTURERELEASE[0], '3600');
    assert.ok(Date.parse(capability.submissionExtensions.FUTURERELEASE[1]) > Date.now() + 3_590_000);
  });

  it('holds the message until sendAt (HOLDFOR), shows it held in the queue, then delivers it and follows its delivery status', async () => {
    const created = await send('Held for two seconds', { HOLDFOR: '2' });
    const sendAt = Date.parse(created.sendAt);
    assert.equal(created.undoStatus, 'pending');
    assert.deepEqual(await subjects(BOB), [], 'the local recipient has nothing before sendAt');
    const [queued] = await listQueue(t.server.services.store);
    assert.equal(queued?.holdUntil?.getTime(), sendAt, 'the queue shows it held until sendAt');
    assert.deepEqual(queued?.recipients.map((r) => r.address), [BOB, FAR]);
    await until('Bob receives it', async () => (await subjects(BOB)).includes('Held for two seconds'));
    assert.ok(Date.now() >= sendAt, 'not before sendAt');
    await sink.waitForMessages(1, 10_000);
    assert.deepEqual(sinkSubjects(), ['Held for two seconds']);
    const submission = await until('the delivery status is final', async () => {
      const [got] = await jam.api.EmailSubmission.get({ accountId, ids: [created.id] });
      const s = got.list[0] as Record<string, any>;
      return s.undoStatus === 'final' && s.deliveryStatus[BOB].delivered === 'yes' && s.deliveryStatus[FAR].delivered === 'yes' ? s : null;
    });
    assert.match(submission.deliveryStatus[FAR].smtpReply, /^250 /, 'the remote server\'s reply');
    assert.match(submission.deliveryStatus[BOB].smtpReply, /^250 /);
  });

  it('undo: a submission canceled while pending is taken out of the queue and never arrives; the draft comes back', async () => {
    const before = sink.messages.length;
    const created = await send('Sent by mistake', { HOLDFOR: '2' });
    const [set] = await jam.api.EmailSubmission.set({ accountId, update: { [created.id]: { undoStatus: 'canceled' } },
      onSuccessUpdateEmail: { [created.id]: { [`mailboxIds/${sentId}`]: null, [`mailboxIds/${draftsId}`]: true, 'keywords/$draft': true } } } as never);
    assert.deepEqual((set as any).updated, { [created.id]: null }, JSON.stringify(set));
    assert.deepEqual(await listQueue(t.server.services.store), [], 'nothing left in the queue');
    await new Promise((r) => setTimeout(r, 3000));
    assert.ok(!(await subjects(BOB)).includes('Sent by mistake'), 'Bob never gets it');
    assert.equal(sink.messages.length, before, 'nor does the remote server');
    const [got] = await jam.api.EmailSubmission.get({ accountId, ids: [created.id] });
    assert.equal((got.list[0] as any).undoStatus, 'canceled');
    const [drafts] = await jam.api.Email.query({ accountId, filter: { inMailbox: draftsId } });
    assert.equal(drafts.ids.length, 1, 'the draft is back in Drafts');
  });

  it('a message sent at once cannot be unsent (cannotUnsend); a release past maxDelayedSend is refused', async () => {
    const created = await send('Right away', null);
    assert.equal(created.undoStatus, 'final');
    const [set] = await jam.api.EmailSubmission.set({ accountId, update: { [created.id]: { undoStatus: 'canceled' } } } as never);
    assert.equal((set as any).notUpdated[created.id].type, 'cannotUnsend');
    const responses = await api(t, [['EmailSubmission/set', { accountId, create: { far: { identityId, emailId: (await jam.api.Email.query({ accountId }))[0].ids[0], envelope: { mailFrom: { email: ALICE, parameters: { HOLDUNTIL: new Date(Date.now() + 7_200_000).toISOString() } }, rcptTo: [{ email: BOB, parameters: null }] } } } }, 's']]);
    assert.match(responses[0]![1].notCreated.far.description, /^554 5\.3\.4/);
  });

  it('pushes EmailSubmission changes (EventSource) and answers /changes and /query with filters and sorts', async () => {
    const [[, before]] = await api(t, [['EmailSubmission/get', { accountId, ids: [] }, 'g']]);
    const stream = new Promise<string>((resolve) => {
      const child = spawn('curl', ['-sS', '-N', '--max-time', '10', '-H', `Authorization: ${BASIC}`, '-H', 'Accept: text/event-stream', `http://127.0.0.1:${t.ports.http}/jmap/eventsource?types=EmailSubmission&closeafter=state&ping=0`]);
      let out = '';
      child.stdout.on('data', (c: Buffer) => { out += c.toString(); });
      child.on('close', () => resolve(out));
    });
    await new Promise((r) => setTimeout(r, 500));
    const created = await send('Pushed', { HOLDFOR: '1' });
    const pushed = await stream;
    assert.match(pushed, /"EmailSubmission":"\d+"/, pushed);
    const [[, changes]] = await api(t, [['EmailSubmission/changes', { accountId, sinceState: before.state }, 'c']]);
    assert.deepEqual(changes.created, [created.id]);
    const [[, query]] = await api(t, [['EmailSubmission/query', { accountId, filter: { operator: 'AND', conditions: [{ undoStatus: 'canceled' }, { after: '2000-01-01T00:00:00Z' }] }, sort: [{ property: 'sentAt', isAscending: false }] }, 'q']]);
    assert.equal(query.ids.length, 1, 'the canceled one');
    const [[, all]] = await api(t, [['EmailSubmission/query', { accountId, sort: [{ property: 'emailId', isAscending: true }], calculateTotal: true }, 'q']]);
    assert.equal(all.total, 4);
    await until('Bob gets the pushed one', async () => (await subjects(BOB)).includes('Pushed'));
  });

  it('keeps submissions, identities and held messages across a restart', async () => {
    const [[, identities]] = await api(t, [['Identity/set', { accountId, update: { [identityId]: { name: 'Alice L.', textSignature: '-- \nAlice' } } }, 'i']]);
    assert.deepEqual(identities.updated, { [identityId]: null });
    const created = await send('Across a restart', { HOLDFOR: '3' });
    await t.stop();
    await start();
    const [[, got], [, ids]] = await api(t, [['EmailSubmission/get', { accountId, ids: [created.id] }, 'g'], ['Identity/get', { accountId, ids: [identityId] }, 'i']]);
    assert.equal(got.list[0].undoStatus, 'pending', 'still pending after the restart');
    assert.deepEqual([ids.list[0].name, ids.list[0].textSignature], ['Alice L.', '-- \nAlice']);
    await until('Bob receives the held message after the restart', async () => (await subjects(BOB)).includes('Across a restart'));
    assert.ok(Date.now() >= Date.parse(created.sendAt));
  });

  it('destroying a pending submission removes only its record: the held message is still sent at sendAt (RFC 8621 §7.5)', async () => {
    const created = await send('Record destroyed, still sent', { HOLDFOR: '2' });
    assert.equal(created.undoStatus, 'pending');
    const [[, state]] = await api(t, [['EmailSubmission/get', { accountId, ids: [] }, 'g']]);
    const [set] = await jam.api.EmailSubmission.set({ accountId, destroy: [created.id] } as never);
    assert.deepEqual((set as any).destroyed, [created.id], JSON.stringify(set));
    const [got] = await jam.api.EmailSubmission.get({ accountId, ids: [created.id] });
    assert.deepEqual([got.list, got.notFound], [[], [created.id]], 'the record is gone');
    // An earlier test's held message may still wait in the queue: this one is known by its sendAt.
    const queued = (await listQueue(t.server.services.store)).filter((q) => q.holdUntil?.getTime() === Date.parse(created.sendAt));
    assert.equal(queued.length, 1, 'the held message is still in the queue');
    await until('Bob still receives it', async () => (await subjects(BOB)).includes('Record destroyed, still sent'));
    assert.ok(Date.now() >= Date.parse(created.sendAt), 'not before sendAt');
    await until('and so does the remote recipient', async () => sinkSubjects().includes('Record destroyed, still sent'));
    // The queue's delivery outcome does not bring the destroyed record back.
    const [[, after], [, changes]] = await api(t, [['EmailSubmission/get', { accountId, ids: [created.id] }, 'g'], ['EmailSubmission/changes', { accountId, sinceState: state.state }, 'c']]);
    assert.deepEqual(after.notFound, [created.id]);
    // Earlier tests' submissions may still get their delivery outcome meanwhile: only this one's changes count.
    const mine = (ids: string[]): string[] => ids.filter((id) => id === created.id);
    assert.deepEqual([mine(changes.created), mine(changes.updated), changes.destroyed], [[], [], [created.id]], 'since the send: destroyed, and not updated by the delivery');
  });
});
