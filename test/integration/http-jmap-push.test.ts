// JMAP push over real sockets: EventSource (RFC 8620 §7.3) and WebSocket (RFC 8887) deliver a StateChange
// within 1 s of the 250 of an SMTP delivery, also for a change made by the CLI in another process; the
// types filter, closeafter=state and ping; JMAP requests over the WebSocket; the refusals of the upgrade.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import https from 'node:https';
import nodemailer from 'nodemailer';
import WebSocket from 'ws';
import { startTestServer, type TestServer } from '../harness/server.ts';
import { openEventSource } from '../harness/event-source.ts';

const ALICE = 'alice@example.test';
const PASS = 'correct horse battery staple';
const AUTH = `Basic ${Buffer.from(`${ALICE}:${PASS}`).toString('base64')}`;

describe('JMAP push: EventSource and WebSocket', () => {
  let t: TestServer;
  let accountId: string;
  const smtp = () => nodemailer.createTransport({ host: '127.0.0.1', port: t.ports.smtp, secure: false, ignoreTLS: true, name: 'client.example.net' });
  const deliver = async (subject: string): Promise<number> => {
    await smtp().sendMail({ envelope: { from: 'bob@example.net', to: [ALICE] }, raw: `From: bob@example.net\r\nTo: ${ALICE}\r\nSubject: ${subject}\r\n\r\nhi\r\n` });
    return Date.now();
  };

  before(async () => {
    t = await startTestServer({ startQueue: false });
    await t.addUser(ALICE, PASS);
    const session = await new Promise<any>((resolve, reject) => {
      https.get({ host: '127.0.0.1', port: t.ports.https, servername: 'localhost', ca: t.ca, path: '/jmap/session', headers: { Authorization: AUTH } }, (res) => {
        let body = '';
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve(JSON.parse(body)));
      }).on('error', reject);
    });
    accountId = Object.keys(session.accounts)[0]!;
    assert.equal(session.capabilities['urn:ietf:params:jmap:websocket'].url, `wss://127.0.0.1:${t.ports.https}/jmap/ws`);
    assert.equal(session.capabilities['urn:ietf:params:jmap:websocket'].supportsPush, true);
  });
  after(async () => {
    await t?.stop();
  });

  it('EventSource: an SMTP delivery arrives as a StateChange within 1 s of the 250', async () => {
    const es = await openEventSource(t, 'types=*&closeafter=no&ping=0', AUTH);
    try {
      const acknowledged = await deliver('push one');
      const change = await es.next((e) => e.event === 'state');
      assert.equal(change.data['@type'], 'StateChange');
      assert.deepEqual(Object.keys(change.data.changed), [accountId]);
      assert.ok(change.data.changed[accountId].Email, 'the Email state moved');
      assert.ok(change.at - acknowledged < 1000, `StateChange ${change.at - acknowledged} ms after the 250`);
      console.log(`# EventSource StateChange ${change.at - acknowledged} ms after SMTP 250`);
    } finally {
      es.close();
    }
  });

  it('EventSource: only the types asked for, closeafter=state ends the stream, ping carries the interval', async () => {
    const none = await openEventSource(t, 'types=EmailSubmission&closeafter=no&ping=1', AUTH);
    const once = await openEventSource(t, 'types=Mailbox,Email&closeafter=state&ping=0', AUTH);
    try {
      await deliver('push two');
      const change = await once.next((e) => e.event === 'state');
      assert.deepEqual(Object.keys(change.data.changed[accountId]).sort(), ['Email', 'Mailbox']);
      await once.ended;
      const ping = await none.next((e) => e.event === 'ping', 3000);
      assert.deepEqual(ping.data, { interval: 1 });
      assert.equal(none.events.filter((e) => e.event === 'state').length, 0, 'no state event for types not asked for');
    } finally {
      none.close();
      once.close();
    }
  });

  it('EventSource: a message appended by the CLI in another process arrives within 1 s', async () => {
    const es = await openEventSource(t, 'types=Email&closeafter=no&ping=0', AUTH);
    try {
      // Another process's write reaches this server through the store's change log.
      const { openStore } = await import('../../src/store/open.ts');
      const other = await openStore({ dataDir: t.dataDir });
      try {
        const account = (await other.getAccount(ALICE))!;
        const inbox = (await other.getMailbox(account.id, 'INBOX'))!;
        const tx = other.beginDelivery();
        tx.write(Buffer.from('From: cli@example.test\r\nSubject: appended\r\n\r\nx\r\n'));
        await tx.commit({ mailboxes: [{ mailboxId: inbox.id }] });
        const committed = Date.now();
        const change = await es.next((e) => e.event === 'state');
        assert.ok(change.data.changed[accountId].Email);
        assert.ok(change.at - committed < 1000, `StateChange ${change.at - committed} ms after the other process's commit`);
      } finally {
        await other.close();
      }
    } finally {
      es.close();
    }
  });

  it('WebSocket: requests with ids, push after WebSocketPushEnable, pushState catch-up', async () => {
    const ws = new WebSocket(`wss://localhost:${t.ports.https}/jmap/ws`, 'jmap', { ca: t.ca, headers: { Authorization: AUTH } });
    const messages: any[] = [];
    const waiters: (() => void)[] = [];
    ws.on('message', (d) => {
      messages.push({ ...JSON.parse(d.toString()), at: Date.now() });
      for (const w of waiters.splice(0)) w();
    });
    const next = async (predicate: (m: any) => boolean) => {
      const deadline = Date.now() + 5000;
      for (;;) {
        const i = messages.findIndex(predicate);
        if (i >= 0) return messages.splice(i, 1)[0];
        if (Date.now() > deadline) throw new Error(`no message (have ${JSON.stringify(messages)})`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 100);
        });
      }
    };
    await new Promise<void>((r, j) => {
      ws.once('open', () => r());
      ws.once('error', j);
    });
    try {
      assert.equal(ws.protocol, 'jmap');
      ws.send(JSON.stringify({ '@type': 'Request', id: 'r1', using: ['urn:ietf:params:jmap:core'], methodCalls: [['Core/echo', { x: 1 }, 'c1']] }));
      const response = await next((m) => m['@type'] === 'Response');
      assert.equal(response.requestId, 'r1');
      assert.deepEqual(response.methodResponses, [['Core/echo', { x: 1 }, 'c1']]);
      ws.send('{not json');
      assert.match((await next((m) => m['@type'] === 'RequestError')).type, /notJSON$/);
      ws.send(JSON.stringify({ '@type': 'Request', id: 'r2', using: ['urn:example:nope'], methodCalls: [] }));
      const refused = await next((m) => m['@type'] === 'RequestError');
      assert.equal(refused.requestId, 'r2');
      assert.match(refused.type, /unknownCapability$/);

      ws.send(JSON.stringify({ '@type': 'WebSocketPushEnable', dataTypes: ['Email'] }));
      await new Promise((r) => setTimeout(r, 200));
      const acknowledged = await deliver('ws push');
      const change = await next((m) => m['@type'] === 'StateChange');
      assert.ok(change.changed[accountId].Email);
      assert.deepEqual(Object.keys(change.changed[accountId]), ['Email']);
      assert.ok(change.at - acknowledged < 1000, `StateChange ${change.at - acknowledged} ms after the 250`);
      console.log(`# WebSocket StateChange ${change.at - acknowledged} ms after SMTP 250`);
      assert.equal(typeof change.pushState, 'string');

      // Push off; a delivery happens; push on again with the last pushState: the missed change comes at once.
      ws.send(JSON.stringify({ '@type': 'WebSocketPushDisable' }));
      await new Promise((r) => setTimeout(r, 100));
      await deliver('missed');
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(messages.filter((m) => m['@type'] === 'StateChange').length, 0, 'nothing pushed while disabled');
      ws.send(JSON.stringify({ '@type': 'WebSocketPushEnable', dataTypes: ['Email'], pushState: change.pushState }));
      const caughtUp = await next((m) => m['@type'] === 'StateChange');
      assert.notEqual(caughtUp.changed[accountId].Email, change.changed[accountId].Email);
    } finally {
      ws.close();
    }
  });

  it('WebSocket upgrade: refused without credentials (401), without the jmap subprotocol (400), from a foreign origin (403)', async () => {
    const status = (protocols: string | undefined, headers: Record<string, string>) =>
      new Promise<number>((resolve) => {
        const ws = new WebSocket(`wss://localhost:${t.ports.https}/jmap/ws`, protocols, { ca: t.ca, headers });
        ws.on('unexpected-response', (_req, res) => {
          resolve(res.statusCode ?? 0);
          ws.terminate();
        });
        ws.on('open', () => {
          resolve(101);
          ws.close();
        });
        ws.on('error', () => undefined);
      });
    assert.equal(await status('jmap', {}), 401);
    assert.equal(await status(undefined, { Authorization: AUTH }), 400);
    assert.equal(await status('jmap', { Authorization: AUTH, Origin: 'https://evil.example' }), 403);
    assert.equal(await status('jmap', { Authorization: AUTH, Origin: `https://localhost:${t.ports.https}` }), 101);
  });
});
