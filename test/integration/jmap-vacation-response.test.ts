/**
 * VacationResponse end to end (RFC 8621 §8, RFC 3834): a real JMAP client (jmap-jam) turns the vacation
 * response on, an outside sender sends two messages by SMTP to the MX port, and an SMTP sink on loopback
 * (the sender's MX) receives exactly one auto-reply, DKIM-signed, with a null envelope sender and the
 * RFC 3834 header fields; list mail gets none, and a restart does not answer the same sender again.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import type { JamClient } from 'jmap-jam';
import { FileDkimKeyStore } from '../../src/dkim/file-key-store.ts';
import { generateDkimKey } from '../../src/policy/dkim-sign.ts';
import { sendRaw } from '../harness/smtp-raw.ts';
import { startSmtpSink, type SmtpSinkHandle } from '../harness/smtp-sink.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { jamClient } from '../harness/jmap-jam.ts';
import { until } from './queue-helpers.ts';

const ALICE = 'alice@example.test';
const CAROL = 'carol@far.test';

function message(subject: string, extra = ''): string {
  return `From: Carol <${CAROL}>\r\nTo: Alice <${ALICE}>\r\nSubject: ${subject}\r\nMessage-ID: <${subject.replace(/\W/g, '')}@far.test>\r\nDate: Sun, 06 Dec 2026 08:00:00 +0000\r\n${extra}\r\nHello Alice.\r\n`;
}

describe('a vacation response answers once per sender, never list mail', () => {
  let sink: SmtpSinkHandle;
  let t: TestServer;
  let jam: JamClient;
  let accountId: string;
  let dataDir: string;
  const config = { auth: { allowPlaintextOnLoopback: true }, queue: { routes: { 'far.test': { host: '127.0.0.1', port: 0 } } } } as any;

  before(async () => {
    sink = await startSmtpSink();
    config.queue.routes['far.test'].port = sink.port;
    t = await startTestServer({ config, keepDataDir: true });
    dataDir = t.dataDir;
    await t.addUser(ALICE, 'correct horse battery staple');
    const k = generateDkimKey('ed25519');
    await new FileDkimKeyStore({ dataDir }).addKey('example.test', 'v1', 'ed25519', k.privateKeyPem, k.publicKeyB64);
    jam = await jamClient(t, { address: ALICE });
    accountId = (await jam.session).primaryAccounts['urn:ietf:params:jmap:vacationresponse']!;
  });
  after(async () => {
    await t?.stop();
    await sink?.stop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  it('the session advertises the capability, and the singleton starts disabled', async () => {
    const session = await jam.session;
    assert.deepEqual(session.capabilities['urn:ietf:params:jmap:vacationresponse'], {});
    assert.ok(session.accounts[accountId]!.accountCapabilities['urn:ietf:params:jmap:vacationresponse']);
    const [got] = await jam.request(['VacationResponse/get', { accountId, ids: null }] as any);
    assert.deepEqual((got as any).list, [{ id: 'singleton', isEnabled: false, fromDate: null, toDate: null, subject: null, textBody: null, htmlBody: null }]);
  });

  it('set: singleton errors for create/destroy, invalidProperties for bad values, stateMismatch for a stale ifInState', async () => {
    const [set] = await jam.request(['VacationResponse/set', { accountId, create: { x: { isEnabled: true } }, update: { singleton: { fromDate: 'tomorrow' }, other: { isEnabled: true } }, destroy: ['singleton'] }] as any);
    const s = set as any;
    assert.equal(s.notCreated.x.type, 'singleton');
    assert.equal(s.notDestroyed.singleton.type, 'singleton');
    assert.deepEqual(s.notUpdated.singleton, { type: 'invalidProperties', properties: ['fromDate'] });
    assert.equal(s.notUpdated.other.type, 'notFound');
    await assert.rejects(jam.request(['VacationResponse/set', { accountId, ifInState: '99', update: { singleton: { isEnabled: true } } }] as any), (e: any) => e.type === 'stateMismatch');
  });

  it('turned on over JMAP, two messages from one sender get exactly one reply; list mail gets none', async () => {
    const [before] = await jam.request(['VacationResponse/get', { accountId }] as any);
    const [set] = await jam.request(['VacationResponse/set', { accountId, ifInState: (before as any).state, update: { singleton: { isEnabled: true, fromDate: '2020-01-01T00:00:00Z', textBody: 'I am away until Monday.' } } }] as any);
    assert.deepEqual((set as any).updated, { singleton: null });
    assert.notEqual((set as any).newState, (before as any).state);
    const [after] = await jam.request(['VacationResponse/get', { accountId, ids: ['singleton'], properties: ['isEnabled', 'textBody'] }] as any);
    assert.deepEqual((after as any).list, [{ id: 'singleton', isEnabled: true, textBody: 'I am away until Monday.' }]);

    for (const [subject, extra] of [['Lunch on Friday', ''], ['Lunch again', ''], ['Weekly digest', 'List-Id: <digest.far.test>\r\n'], ['Bulk news', 'Precedence: bulk\r\n']] as const) {
      const reply = await sendRaw(t.ports.smtp, { from: extra ? 'news@far.test' : CAROL, to: [ALICE], data: message(subject, extra) });
      assert.equal(reply.code, 250, reply.text);
    }
    await t.waitForMessages(ALICE, 4);
    const [got] = await sink.waitForMessages(1, 10_000);
    await until('every message considered', () => t.logs.filter((l) => l.event === 'vacation.skipped' || l.event === 'vacation.reply').length >= 4 || null);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.messages.length, 1, 'exactly one auto-reply');
    assert.equal(got!.reversePath, '', 'RFC 3834 §3.3: null envelope sender');
    assert.deepEqual(got!.recipients, [CAROL]);
    const text = got!.data.toString('utf8');
    const head = text.slice(0, text.indexOf('\r\n\r\n')).replace(/\r\n[ \t]+/g, ' ');
    assert.match(head, /^Auto-Submitted: auto-replied$/m);
    assert.match(head, /^Subject: Re: Lunch on Friday$/m);
    assert.match(head, /^In-Reply-To: <LunchonFriday@far\.test>$/m);
    assert.match(head, /^References: <LunchonFriday@far\.test>$/m);
    assert.match(head, /^From: <alice@example\.test>$/m);
    assert.match(head, /^To: <carol@far\.test>$/m);
    assert.match(head, /^DKIM-Signature: .*d=example\.test/m, 'signed like any mail Alice sends');
    assert.match(text, /I am away until Monday\./);
    const skipped = t.logs.filter((l) => l.event === 'vacation.skipped').map((l) => l.reason).sort();
    assert.deepEqual(skipped, ['answered_recently', 'bulk_precedence', 'list_mail']);
  });

  it('after a restart the sender already answered is not answered again; another sender is', async () => {
    await t.stop();
    t = await startTestServer({ config, dataDir, keepDataDir: false });
    assert.equal((await sendRaw(t.ports.smtp, { from: CAROL, to: [ALICE], data: message('After restart') })).code, 250);
    assert.equal((await sendRaw(t.ports.smtp, { from: 'dave@far.test', to: [ALICE], data: message('From Dave').replace(`From: Carol <${CAROL}>`, 'From: dave@far.test') })).code, 250);
    const replies = await sink.waitForMessages(2, 10_000);
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(sink.messages.length, 2);
    assert.deepEqual(replies[1]!.recipients, ['dave@far.test']);
  });
});
