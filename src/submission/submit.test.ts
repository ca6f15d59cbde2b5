/**
 * The sending service called directly, as JMAP and the webmail will call it (no SMTP session anywhere), on a
 * real SQLite store: it refuses foreign senders, counts the hourly limits, adds Message-ID and Date, signs
 * with the domain's DKIM key, stores local copies and queues remote recipients before it answers.
 */
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { authenticate } from 'mailauth';
import { defaultConfig, mergeConfig } from '../config/schema.ts';
import { silentLogger } from '../core/log.ts';
import { DeliveryPlanner } from '../delivery/planner.ts';
import { FileDkimKeyStore } from '../dkim/file-key-store.ts';
import { SigningKeys } from '../dkim/signing-keys.ts';
import { dkimRecordText, generateDkimKey } from '../policy/dkim-sign.ts';
import { localMessageChecks } from '../policy/message-checks.ts';
import { SubmissionRateLimiter } from '../policy/submission-rate.ts';
import type { AuthIdentity } from '../protocols/sasl/types.ts';
import { openStore, type OpenedStore } from '../store/open.ts';
import { SubmissionService, type SubmissionEnvelope } from './service.ts';

const ALICE = 'alice@example.test';
const BOB = 'bob@example.test';
const ORIGIN = { remoteAddress: '192.0.2.7', protocol: 'HTTPS' };

let dir: string;
let store: OpenedStore;
let alice: AuthIdentity;
const dnsRecords: Record<string, string> = {};
let kicks = 0;

/** A service on the store, as the composition root builds it, with its own rate limits. */
function service(limits: { messagesPerHour?: number; recipientsPerHour?: number } = {}): SubmissionService {
  const config = mergeConfig(defaultConfig({ cwd: dir }), { hostname: 'mail.example.test' });
  const logger = silentLogger();
  const noDns = { txt: async (): Promise<string[][]> => { throw Object.assign(new Error('no DNS in this test'), { code: 'ENOTFOUND' }); } };
  return new SubmissionService({
    config,
    logger,
    store,
    planner: new DeliveryPlanner({ store, hostname: config.hostname }),
    rate: new SubmissionRateLimiter({ messagesPerHour: limits.messagesPerHour ?? 100, recipientsPerHour: limits.recipientsPerHour ?? 1000 }),
    queue: { kick: () => { kicks++; } },
    dkimKeys: new SigningKeys({ keys: new FileDkimKeyStore({ dataDir: dir }), resolver: noDns as never, logger }),
    checks: localMessageChecks,
    inflight: null,
  });
}

function message(from: string, to: string, subject: string, extra = ''): Buffer {
  return Buffer.from(`From: ${from}\r\nTo: ${to}\r\nSubject: ${subject}\r\n${extra}\r\nHello from the service.\r\n`);
}

function envelope(sender: string, ...recipients: string[]): SubmissionEnvelope {
  return { sender, recipients: recipients.map((address) => ({ address })) };
}

/** The newest message in an account's INBOX, as stored. */
async function newestInInbox(address: string): Promise<string | null> {
  const account = await store.getAccount(address);
  const inbox = await store.getMailbox(account!.id, 'INBOX');
  const messages = await store.listMessages(inbox!.id);
  const last = messages.at(-1);
  return last ? (await store.readMessage(inbox!.id, last.uid)).toString('latin1') : null;
}

async function inboxCount(address: string): Promise<number> {
  const account = await store.getAccount(address);
  return (await store.listMessages((await store.getMailbox(account!.id, 'INBOX'))!.id)).length;
}

before(async () => {
  dir = mkdtempSync(join(tmpdir(), 'postamt-submit-'));
  store = await openStore({ dataDir: dir });
  await store.addDomain('example.test');
  const a = await store.addAccount({ address: ALICE, passwordHash: 'x', scram: null });
  await store.addAccount({ address: BOB, passwordHash: 'x', scram: null });
  alice = { accountId: a.id, address: ALICE };
  const keys = new FileDkimKeyStore({ dataDir: dir });
  const key = generateDkimKey('ed25519');
  await keys.addKey('example.test', 's1', 'ed25519', key.privateKeyPem, key.publicKeyB64);
  dnsRecords['s1._domainkey.example.test'] = dkimRecordText(key);
});

after(async () => {
  await store?.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('the sending service, called without SMTP', () => {
  it('delivers to a local recipient with Message-ID and Date added and a DKIM signature that verifies', async () => {
    const result = await service().submit(alice, envelope(ALICE, BOB), message(ALICE, BOB, 'fixed up'), { origin: ORIGIN });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.ok(result.ok && result.delivered.includes(`${BOB}/INBOX`));
    // Acknowledged only after the commit: the copy is readable as soon as the result is in.
    const stored = await newestInInbox(BOB);
    assert.ok(stored, 'stored before the result');
    const head = stored.slice(0, stored.indexOf('\r\n\r\n'));
    // RFC 6409 §8.2 / §8.3.
    assert.match(head, /^Message-ID: <[0-9a-f]+@mail\.example\.test>$/m);
    assert.match(head, /^Date: \w{3}, \d+ \w{3} \d{4} \d\d:\d\d:\d\d \+0000$/m);
    assert.match(head, /^Received: from unknown \(\[192\.0\.2\.7\]\)\r\n\tby mail\.example\.test \(Postamt\)\r\n\twith HTTPS/m);
    assert.match(head, /^Return-Path: <alice@example\.test>/);
    const resolver = async (name: string, rrtype: string): Promise<unknown> => {
      const txt = dnsRecords[name.toLowerCase()];
      if (rrtype === 'TXT' && txt) return [[txt]];
      throw Object.assign(new Error(`${rrtype} ${name}: ENOTFOUND`), { code: 'ENOTFOUND' });
    };
    const auth = await authenticate(Buffer.from(stored, 'latin1'), { ip: '192.0.2.7', helo: 'client', sender: ALICE, mta: 'verifier.test', resolver: resolver as never, disableBimi: true, disableArc: true });
    assert.deepEqual(auth.dkim.results.map((r) => `${r.status.result} ${r.signingDomain}`), ['pass example.test']);
  });

  it('keeps a Message-ID and a Date the message already has', async () => {
    const result = await service().submit(alice, envelope(ALICE, BOB), message(ALICE, BOB, 'complete', 'Message-ID: <draft-1@client.example>\r\nDate: Sat, 5 Dec 2026 10:00:00 +0000\r\n'), { origin: ORIGIN });
    assert.equal(result.ok, true, JSON.stringify(result));
    const stored = (await newestInInbox(BOB))!;
    assert.equal((stored.match(/^Message-ID:/gim) ?? []).length, 1);
    assert.match(stored, /^Message-ID: <draft-1@client\.example>$/m);
    assert.equal((stored.match(/^Date:/gim) ?? []).length, 1);
  });

  it('refuses an envelope sender the user does not own (553 5.7.1), storing nothing', async () => {
    const before = await inboxCount(BOB);
    const result = await service().submit(alice, envelope('mallory@example.test', BOB), message(ALICE, BOB, 'forged envelope'), { origin: ORIGIN });
    assert.deepEqual(result.ok ? null : [result.code, result.enhancedCode, result.rule], [553, '5.7.1', 'sender_not_owned']);
    assert.equal(await inboxCount(BOB), before);
  });

  it('refuses a From: address the user does not own (RFC 6409 §6.1), storing nothing', async () => {
    const before = await inboxCount(BOB);
    const result = await service().submit(alice, envelope(ALICE, BOB), message(`"Alice" <${ALICE}>, ${BOB}`, BOB, 'forged From'), { origin: ORIGIN });
    assert.deepEqual(result.ok ? null : [result.code, result.enhancedCode, result.rule], [553, '5.7.1', 'header_sender_not_owned']);
    assert.equal(await inboxCount(BOB), before);
  });

  it('refuses a login whose account was disabled since (530 5.7.0)', async () => {
    const carol = await store.addAccount({ address: 'carol@example.test', passwordHash: 'x', scram: null });
    await store.updateAccount('carol@example.test', { disabled: true });
    const result = await service().submit({ accountId: carol.id, address: carol.address }, envelope(carol.address, BOB), message(carol.address, BOB, 'disabled'), { origin: ORIGIN });
    assert.deepEqual(result.ok ? null : [result.code, result.enhancedCode, result.rule], [530, '5.7.0', 'account_disabled']);
  });

  it('refuses an unknown local recipient (550 5.1.1) and names it', async () => {
    const result = await service().submit(alice, envelope(ALICE, BOB, 'nobody@example.test'), message(ALICE, BOB, 'unknown'), { origin: ORIGIN });
    assert.deepEqual(result.ok ? null : [result.code, result.enhancedCode, result.rule, result.recipient], [550, '5.1.1', 'unknown_user', 'nobody@example.test']);
  });

  it('counts messages per hour: past the limit 451 4.7.1, and a refused message does not count', async () => {
    const limited = service({ messagesPerHour: 2 });
    const send = (...recipients: string[]): ReturnType<SubmissionService['submit']> => limited.submit(alice, envelope(ALICE, ...recipients), message(ALICE, BOB, 'rate'), { origin: ORIGIN });
    assert.equal((await send(BOB)).ok, true);
    assert.equal((await send(BOB, 'nobody@example.test')).ok, false, 'refused after one recipient was counted: all of it is given back');
    assert.equal((await send(BOB)).ok, true);
    const third = await send(BOB);
    assert.deepEqual(third.ok ? null : [third.code, third.enhancedCode, third.rule], [451, '4.7.1', 'submission_rate']);
  });

  it('counts recipients per hour across messages', async () => {
    const limited = service({ recipientsPerHour: 3 });
    assert.equal((await limited.submit(alice, envelope(ALICE, BOB, ALICE), message(ALICE, BOB, 'two'), { origin: ORIGIN })).ok, true);
    const over = await limited.submit(alice, envelope(ALICE, BOB, ALICE), message(ALICE, BOB, 'two more'), { origin: ORIGIN });
    assert.deepEqual(over.ok ? null : [over.code, over.rule], [451, 'submission_rate']);
  });

  it('queues a remote recipient durably with the submitter recorded, and wakes the queue', async () => {
    const kicked = kicks;
    const result = await service().submit(alice, { sender: ALICE, recipients: [{ address: 'carol@far.example', notify: ['FAILURE'] }], envid: 'env-1' }, message(ALICE, 'carol@far.example', 'off-site'), { origin: ORIGIN });
    assert.ok(result.ok, JSON.stringify(result));
    assert.deepEqual(result.queued, ['carol@far.example']);
    const queued = await store.getQueueMessage(result.queueId);
    assert.equal(queued?.submitter, ALICE);
    assert.equal(queued?.envid, 'env-1');
    assert.deepEqual(queued?.recipients.map((r) => [r.address, r.notify]), [['carol@far.example', ['FAILURE']]]);
    assert.equal(kicks, kicked + 1);
  });

  it('takes the message as a stream of chunks (a draft read from the store)', async () => {
    const bytes = message(ALICE, BOB, 'streamed');
    async function* chunks(): AsyncGenerator<Uint8Array> {
      for (let i = 0; i < bytes.length; i += 7) yield new Uint8Array(bytes.subarray(i, i + 7));
    }
    const result = await service().submit(alice, envelope(ALICE, BOB), chunks(), { origin: ORIGIN });
    assert.equal(result.ok, true, JSON.stringify(result));
    assert.match((await newestInInbox(BOB))!, /^Subject: streamed\r$/m);
  });

  it('refuses a header section over limits.header_lines (552 5.3.4)', async () => {
    const bomb = Buffer.from(`From: ${ALICE}\r\n${'X-Filler: x\r\n'.repeat(20_000)}\r\nbody\r\n`);
    const result = await service().submit(alice, envelope(ALICE, BOB), bomb, { origin: ORIGIN });
    assert.deepEqual(result.ok ? null : [result.code, result.enhancedCode], [552, '5.3.4']);
  });
});
