// One truth for JMAP and IMAP on a running server: mail delivered by SMTP is seen by JMAP with its thread,
// a keyword set over JMAP reaches an IMAP IDLE session as FETCH FLAGS, an IMAP STORE and MOVE are JMAP
// changes (same email id after the move), and the JMAP state advances with the IMAP MODSEQ.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { ImapFlow } from 'imapflow';
import nodemailer from 'nodemailer';
import { StoreJmapMailBackend } from '../../src/app/jmap-mail-backend.ts';
import { silentLogger } from '../../src/core/log.ts';
import type { JmapAccount, JmapBackend, JmapIdentity } from '../../src/protocols/jmap/backend.ts';
import { CORE_CAPABILITY, MAIL_CAPABILITY } from '../../src/protocols/jmap/capabilities.ts';
import { JmapEngine } from '../../src/protocols/jmap/engine.ts';
import type { JmapMailBackend } from '../../src/protocols/jmap/mail/backend.ts';
import { mailAccountCapability, mailMethods } from '../../src/protocols/jmap/mail/index.ts';
import type { MethodTable } from '../../src/protocols/jmap/method.ts';
import { CORE_METHODS } from '../../src/protocols/jmap/methods/index.ts';
import { startTestServer, type TestServer } from '../harness/server.ts';

const HOST = 'mx.postamt.test';
const USER = 'truth@example.org';
const PASS = 'one truth pass';

describe('JMAP and IMAP see one mailbox', () => {
  let t: TestServer;
  let engine: JmapEngine<JmapMailBackend>;
  let A: string;

  before(async () => {
    t = await startTestServer({ hostname: HOST });
    const accountId = await t.addUser(USER, PASS);
    A = `a${accountId}`;
    const account: JmapAccount = { name: USER, isPersonal: true, isReadOnly: false, accountCapabilities: { [CORE_CAPABILITY]: {}, [MAIL_CAPABILITY]: mailAccountCapability() } };
    const base: JmapBackend = {
      accountsFor: async () => ({ [A]: account }),
      accountFor: async (_i: JmapIdentity, id: string) => (id === A ? account : null),
      primaryAccountsFor: async () => ({ [MAIL_CAPABILITY]: A }),
      sessionState: async () => 's',
    };
    const backend = new StoreJmapMailBackend({ mail: t.server.services.mail, base, storeAccountId: (id) => (id === A ? accountId : null) });
    engine = new JmapEngine<JmapMailBackend>({ backend, methods: { ...(CORE_METHODS as MethodTable<JmapMailBackend>), ...mailMethods() }, capabilities: { [MAIL_CAPABILITY]: {} }, logger: silentLogger() });
  });
  after(async () => {
    await t?.stop();
  });

  async function jmap(name: string, args: Record<string, unknown>): Promise<Record<string, any>> {
    const result = await engine.handle({ username: USER }, { body: JSON.stringify({ using: [CORE_CAPABILITY, MAIL_CAPABILITY], methodCalls: [[name, { accountId: A, ...args }, 'c']] }), contentType: 'application/json' });
    const [[responseName, response]] = (result.body as unknown as { methodResponses: [string, Record<string, any>][] }).methodResponses;
    assert.notEqual(responseName, 'error', JSON.stringify(response));
    return JSON.parse(JSON.stringify(response)) as Record<string, any>;
  }

  function imap(): ImapFlow {
    return new ImapFlow({ host: '127.0.0.1', port: t.ports.imaps, secure: true, tls: { ca: [t.ca], servername: HOST }, auth: { user: USER, pass: PASS }, logger: false, disableAutoIdle: true });
  }

  it('delivered by SMTP, seen by JMAP in one thread; $seen over JMAP arrives as FETCH in IMAP IDLE', async () => {
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.example.net' });
    await transport.sendMail({ envelope: { from: 'bob@example.net', to: [USER] }, raw: 'From: Bob <bob@example.net>\r\nTo: truth@example.org\r\nSubject: Dinner\r\nMessage-ID: <d1@example.net>\r\n\r\nSeven?\r\n' });
    await transport.sendMail({ envelope: { from: 'bob@example.net', to: [USER] }, raw: 'From: Bob <bob@example.net>\r\nTo: truth@example.org\r\nSubject: Re: Dinner\r\nMessage-ID: <d2@example.net>\r\nIn-Reply-To: <d1@example.net>\r\n\r\nOr eight.\r\n' });
    await t.waitForMessages(USER, 2);
    const inbox = (await jmap('Mailbox/query', { filter: { role: 'inbox' } })).ids[0];
    const query = await jmap('Email/query', { filter: { inMailbox: inbox }, sort: [{ property: 'receivedAt', isAscending: false }] });
    assert.equal(query.ids.length, 2);
    const emails = await jmap('Email/get', { ids: query.ids, properties: ['subject', 'threadId', 'keywords'] });
    assert.deepEqual(emails.list.map((e: any) => e.subject).sort(), ['Dinner', 'Re: Dinner']);
    assert.equal(emails.list[0].threadId, emails.list[1].threadId, 'the reply is in its parent\'s thread');

    const client = imap();
    await client.connect();
    await client.mailboxOpen('INBOX');
    const flagged = new Promise<{ uid?: number; flags: Set<string> }>((resolve) => client.on('flags', (d: { uid?: number; flags: Set<string> }) => resolve(d)));
    const idle = client.idle();
    await new Promise((r) => setTimeout(r, 100));
    const stateBefore = emails.state;
    const target = emails.list.find((e: any) => e.subject === 'Dinner').id;
    await jmap('Email/set', { update: { [target]: { 'keywords/$seen': true } } });
    const seen = await Promise.race([flagged, new Promise<never>((_, reject) => setTimeout(() => reject(new Error('no FETCH within 10 s')), 10_000).unref())]);
    assert.ok(seen.flags.has('\\Seen'), 'IDLE reported the flag set over JMAP');

    // An IMAP STORE is a JMAP change, and the state is the IMAP MODSEQ (the next command ends the IDLE).
    const status = await client.status('INBOX', { highestModseq: true });
    await idle.catch(() => undefined);
    const modSeqBefore = Number(status.highestModseq);
    await client.messageFlagsAdd({ uid: '1:*' }, ['\\Flagged'], { uid: true });
    const after = await jmap('Email/changes', { sinceState: stateBefore });
    assert.deepEqual(after.updated.sort(), [...query.ids].sort());
    const modSeqAfter = Number((await client.status('INBOX', { highestModseq: true })).highestModseq);
    assert.ok(modSeqAfter > modSeqBefore);
    assert.equal(after.newState, String(modSeqAfter), 'the JMAP state is the IMAP HIGHESTMODSEQ after the last change');
    const keywords = await jmap('Email/get', { ids: [target], properties: ['keywords'] });
    assert.deepEqual(keywords.list[0].keywords, { $seen: true, $flagged: true });

    // IMAP MOVE keeps the email id.
    await client.messageMove({ uid: '1:*' }, 'Archive', { uid: true });
    const moved = await jmap('Email/get', { ids: [target], properties: ['mailboxIds'] });
    const archive = (await jmap('Mailbox/query', { filter: { role: 'archive' } })).ids[0];
    assert.deepEqual(moved.list[0].mailboxIds, { [archive]: true });
    await client.logout();
  });
});
