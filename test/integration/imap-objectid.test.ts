// OBJECTID (RFC 8474) over a real socket, checked against JMAP on the same server: the EMAILID and
// THREADID that FETCH gives are the JMAP Email and Thread ids of the same message, the MAILBOXID of
// SELECT, STATUS and CREATE is the JMAP Mailbox id; MOVE keeps the email id, COPY makes a new one;
// SEARCH EMAILID / THREADID find the message, a foreign id finds nothing.
import { after, before, describe, it } from 'node:test';
import assert from 'node:assert/strict';
import nodemailer from 'nodemailer';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { RawImapClient } from '../harness/imap-raw.ts';

const HOST = 'mx.postamt.test';
const USER = 'objectid@example.org';
const PASS = 'object id pass';
const CORE = 'urn:ietf:params:jmap:core';
const MAIL = 'urn:ietf:params:jmap:mail';

describe('OBJECTID: IMAP ids are the JMAP ids', () => {
  let t: TestServer;
  let c: RawImapClient;
  let apiUrl: string;
  let accountId: string;
  const auth = `Basic ${Buffer.from(`${USER}:${PASS}`).toString('base64')}`;

  async function jmap(name: string, args: Record<string, unknown>): Promise<Record<string, any>> {
    const res = await fetch(apiUrl, {
      method: 'POST',
      headers: { authorization: auth, 'content-type': 'application/json' },
      body: JSON.stringify({ using: [CORE, MAIL], methodCalls: [[name, { accountId, ...args }, 'c']] }),
    });
    assert.equal(res.status, 200);
    const [[responseName, response]] = ((await res.json()) as { methodResponses: [string, Record<string, any>][] }).methodResponses;
    assert.notEqual(responseName, 'error', JSON.stringify(response));
    return response;
  }

  before(async () => {
    t = await startTestServer({ hostname: HOST, config: { auth: { allowPlaintextOnLoopback: true } } as never });
    await t.addUser(USER, PASS);
    const session = await (await fetch(`http://127.0.0.1:${t.ports.http}/.well-known/jmap`, { headers: { authorization: auth } })).json() as Record<string, any>;
    apiUrl = new URL(session.apiUrl, `http://127.0.0.1:${t.ports.http}`).toString();
    accountId = session.primaryAccounts[MAIL];
    const transport = nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.example.net' });
    await transport.sendMail({ envelope: { from: 'bob@example.net', to: [USER] }, raw: 'From: Bob <bob@example.net>\r\nTo: objectid@example.org\r\nSubject: Ids\r\nMessage-ID: <i1@example.net>\r\n\r\nOne.\r\n' });
    await transport.sendMail({ envelope: { from: 'bob@example.net', to: [USER] }, raw: 'From: Bob <bob@example.net>\r\nTo: objectid@example.org\r\nSubject: Re: Ids\r\nMessage-ID: <i2@example.net>\r\nIn-Reply-To: <i1@example.net>\r\n\r\nTwo.\r\n' });
    await t.waitForMessages(USER, 2);
    c = await RawImapClient.login({ port: t.ports.imaps, ca: t.ca, servername: HOST, user: USER, password: PASS });
  });
  after(async () => {
    await c?.close();
    await t?.stop();
  });

  it('advertises OBJECTID', async () => {
    assert.ok((await c.ok('CAPABILITY'))[0]!.split(' ').includes('OBJECTID'));
  });

  it('gives the JMAP Mailbox id as MAILBOXID in SELECT, STATUS, LIST-STATUS and CREATE (RFC 8474 §4)', async () => {
    const inbox = (await jmap('Mailbox/query', { filter: { role: 'inbox' } })).ids[0] as string;
    const selected = await c.ok('SELECT INBOX');
    assert.ok(selected.includes(`OK [MAILBOXID (${inbox})] Ok`), selected.join('\n'));
    assert.deepEqual(await c.ok('STATUS INBOX (MAILBOXID MESSAGES)'), [`STATUS "INBOX" (MAILBOXID (${inbox}) MESSAGES 2)`]);
    const listed = await c.ok('LIST "" INBOX RETURN (STATUS (MAILBOXID))');
    assert.ok(listed.includes(`STATUS "INBOX" (MAILBOXID (${inbox}))`), listed.join('\n'));
    const created = await c.command('CREATE Projects');
    const m = /^OK \[MAILBOXID \(([^)\s]+)\)\] /.exec(created.tagged);
    assert.ok(m, created.tagged);
    const names = await jmap('Mailbox/get', { ids: [m[1]], properties: ['name'] });
    assert.deepEqual(names.list.map((x: any) => x.name), ['Projects']);
    // RFC 8474 §4.1: a renamed mailbox keeps its id.
    await c.ok('RENAME Projects Work');
    assert.deepEqual(await c.ok('STATUS Work (MAILBOXID)'), [`STATUS "Work" (MAILBOXID (${m[1]}))`]);
  });

  it('gives the JMAP Email and Thread ids as EMAILID and THREADID (RFC 8474 §5), with and without bodies', async () => {
    const inbox = (await jmap('Mailbox/query', { filter: { role: 'inbox' } })).ids[0] as string;
    const query = await jmap('Email/query', { filter: { inMailbox: inbox } });
    const emails = (await jmap('Email/get', { ids: query.ids, properties: ['subject', 'threadId'] })).list as { id: string; subject: string; threadId: string }[];
    const bySubject = new Map(emails.map((e) => [e.subject, e]));
    const first = bySubject.get('Ids')!;
    const reply = bySubject.get('Re: Ids')!;
    assert.equal(first.threadId, reply.threadId);
    assert.deepEqual(await c.ok('FETCH 1:2 (EMAILID THREADID)'), [
      `1 FETCH (EMAILID (${first.id}) THREADID (${first.threadId}))`,
      `2 FETCH (EMAILID (${reply.id}) THREADID (${reply.threadId}))`,
    ]);
    const withBody = await c.command('UID FETCH 2 (EMAILID BODY.PEEK[HEADER.FIELDS (SUBJECT)])');
    assert.match(withBody.raw, new RegExp(`^\\* 2 FETCH \\(UID 2 EMAILID \\(${reply.id}\\) BODY\\[HEADER\\.FIELDS \\(SUBJECT\\)\\] \\{\\d+\\}\\r\\nSubject: Re: Ids`));
  });

  it('finds messages by EMAILID and THREADID; a foreign id matches nothing (RFC 8474 §6)', async () => {
    const [one] = await c.ok('FETCH 1 (EMAILID THREADID)');
    const [, emailId, threadId] = /EMAILID \(([^)\s]+)\) THREADID \(([^)\s]+)\)/.exec(one!)!;
    assert.deepEqual(await c.ok(`SEARCH EMAILID ${emailId}`), ['SEARCH 1']);
    assert.deepEqual(await c.ok(`UID SEARCH THREADID ${threadId}`), ['SEARCH 1 2']);
    assert.deepEqual(await c.ok('SEARCH EMAILID Mabc'), ['SEARCH']);
    assert.deepEqual(await c.ok(`SEARCH EMAILID ${emailId} SUBJECT Ids`), ['SEARCH 1']);
    assert.match((await c.command('SEARCH EMAILID "a b"')).tagged, /^BAD /);
  });

  it('keeps the email id across MOVE and gives a copy a new one (RFC 8474 §5.1)', async () => {
    const [before] = await c.ok('UID FETCH 1 (EMAILID)');
    const emailId = /EMAILID \(([^)\s]+)\)/.exec(before!)![1]!;
    await c.ok('UID COPY 1 Work');
    await c.ok('UID MOVE 1 Work');
    await c.ok('SELECT Work');
    const ids = (await c.ok('FETCH 1:* (EMAILID)')).map((l) => /EMAILID \(([^)\s]+)\)/.exec(l)![1]);
    assert.equal(ids.length, 2);
    assert.notEqual(ids[0], emailId, 'the copy is a new email');
    assert.equal(ids[1], emailId, 'the moved message keeps its id');
    const moved = await jmap('Email/get', { ids: [emailId], properties: ['mailboxIds'] });
    assert.equal(Object.keys(moved.list[0].mailboxIds).length, 1);
  });
});
