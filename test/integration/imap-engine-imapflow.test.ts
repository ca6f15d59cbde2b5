// The IMAP engine against a real client (imapflow) over a loopback socket, with a minimal
// socket loop standing in for the connection driver and the in-memory backend standing in for the store.
import { describe, it, before, after } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { ImapFlow } from 'imapflow';
import type { EngineOutput } from '../../src/protocols/engine.ts';
import { ImapSession } from '../../src/protocols/imap/session.ts';
import { MemoryBackend, type MemoryAccount } from '../../src/protocols/imap/testing/memory-backend.ts';

let server: net.Server;
let port: number;
let backend: MemoryBackend;
let alice: MemoryAccount;

async function write(socket: net.Socket, out: EngineOutput): Promise<void> {
  for (const part of out.data) {
    if (typeof part === 'string' || Buffer.isBuffer(part)) socket.write(part);
    else for await (const chunk of part) socket.write(chunk);
  }
  if (out.then === 'close') socket.end();
}

function serve(socket: net.Socket): void {
  let chain = Promise.resolve();
  const session = new ImapSession({
    backend,
    sasl: backend.authenticator(),
    allowPlaintextAuth: true,
    context: {
      sessionId: 'x', remoteAddress: '127.0.0.1', tls: null,
      push: (o) => { chain = chain.then(() => write(socket, o)); },
    },
  });
  chain = chain.then(async () => write(socket, await session.start()));
  socket.on('data', (chunk) => {
    socket.pause();
    chain = chain.then(async () => write(socket, await session.receive(chunk))).finally(() => socket.resume());
  });
  socket.on('close', () => session.closed());
  socket.on('error', () => undefined);
}

const MESSAGE = 'From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: Integration\r\nMessage-ID: <i@example.net>\r\nDate: Wed, 03 Jan 2024 10:00:00 +0000\r\n\r\nHello from the test.\r\n';

function client(): ImapFlow {
  return new ImapFlow({ host: '127.0.0.1', port, secure: false, auth: { user: 'alice@example.org', pass: 'secret' }, logger: false, disableAutoIdle: true, disableCompression: true });
}

describe('IMAP engine with imapflow', () => {
  before(async () => {
    backend = new MemoryBackend();
    alice = backend.addUser('alice@example.org', 'secret');
    alice.deliver('INBOX', MESSAGE);
    server = net.createServer(serve);
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('lists, fetches, flags, appends, moves and searches', async () => {
    const c = client();
    await c.connect();
    const list = await c.list();
    assert.ok(list.some((m) => m.path === 'Sent' && m.specialUse === '\\Sent'));
    const lock = await c.getMailboxLock('INBOX');
    try {
      const msg = await c.fetchOne('1', { envelope: true, source: true, flags: true, bodyStructure: true, uid: true });
      assert.ok(msg);
      assert.equal(msg.envelope?.subject, 'Integration');
      assert.equal(msg.source?.toString(), MESSAGE);
      assert.equal(msg.bodyStructure?.type, 'text/plain');
      await c.messageFlagsAdd('1', ['\\Seen', '$Label']);
      const again = await c.fetchOne('1', { flags: true });
      assert.ok(again && again.flags?.has('$Label'));
      const appended = await c.append('INBOX', 'Subject: second\r\n\r\nbody two\r\n', ['\\Flagged']);
      assert.ok(appended && appended.uid === 2);
      assert.deepEqual(await c.search({ flagged: true }, { uid: true }), [2]);
      assert.deepEqual(await c.search({ subject: 'integration' }), [1]);
      const moved = await c.messageMove('2', 'Trash', { uid: true });
      assert.ok(moved && moved.uidMap?.get(2) === 1);
      const status = await c.status('Trash', { messages: true, uidNext: true });
      assert.equal(status.messages, 1);
    } finally {
      lock.release();
    }
    await c.logout();
  });

  it('receives a new-message notification while idling', async () => {
    const c = client();
    await c.connect();
    await c.mailboxOpen('INBOX');
    const exists = new Promise<number>((resolve) => c.on('exists', (d: { count: number }) => resolve(d.count)));
    const idle = c.idle();
    await new Promise((r) => setTimeout(r, 50));
    alice.deliver('INBOX', 'Subject: pushed\r\n\r\nx\r\n');
    assert.equal(await exists, 2);
    await c.logout();
    await idle.catch(() => undefined);
  });
});
