/**
 * A client that pipelines a FETCH and a STORE (imaptest does, as do clients that mark a message read as they
 * show it) gets the FETCH's answer as soon as it is ready, not once the STORE behind it is durable; the STORE
 * is still answered only after its write completed. Real connection driver, raw client socket; the store's
 * write is held open by the test.
 */
import assert from 'node:assert/strict';
import net from 'node:net';
import { after, before, describe, it } from 'node:test';
import { silentLogger } from '../../src/core/log.ts';
import { ImapSession } from '../../src/protocols/imap/session.ts';
import { MemoryAccount, MemoryBackend } from '../../src/protocols/imap/testing/memory-backend.ts';
import { ConnectionDriver } from '../../src/transport/connection-driver.ts';

let server: net.Server;
let port: number;
let release: (() => void) | null = null;
let storeStarted: (() => void) | null = null;

describe('IMAP answers of pipelined commands', () => {
  before(async () => {
    const backend = new MemoryBackend();
    const alice = backend.addUser('alice@example.org', 'secret');
    alice.deliver('INBOX', 'Subject: one\r\n\r\nbody\r\n');
    // The STORE's write stays open until the test releases it (a slow disk sync).
    const storeFlags = MemoryAccount.prototype.storeFlags;
    alice.storeFlags = async function (this: MemoryAccount, ...args: Parameters<MemoryAccount['storeFlags']>) {
      storeStarted?.();
      await new Promise<void>((resolve) => (release = resolve));
      return storeFlags.apply(this, args);
    };
    server = net.createServer((socket) => {
      const driver = new ConnectionDriver({
        socket,
        context: { sessionId: 'p', remoteAddress: '127.0.0.1', tls: null, push: () => undefined },
        createEngine: (context) => new ImapSession({ backend, sasl: backend.authenticator(), context, allowPlaintextAuth: true }),
        tls: null,
        logger: silentLogger(),
      });
      void driver.start();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    port = (server.address() as net.AddressInfo).port;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('sends the FETCH answer while the STORE pipelined behind it is still being written', () => pipelined('f1 FETCH 1 (FLAGS)', 'f1 OK'));

  it('sends a NOOP\'s answer while the STORE pipelined behind it is still being written', () => pipelined('f1 NOOP', 'f1 OK'));
});

async function pipelined(first: string, answered: string): Promise<void> {
  const socket = net.connect(port, '127.0.0.1');
  let received = '';
  const waiters: { text: string; resolve: () => void }[] = [];
  socket.on('data', (chunk: Buffer) => {
    received += chunk.toString('latin1');
    for (const w of waiters.filter((x) => received.includes(x.text))) w.resolve();
  });
  const seen = (text: string): Promise<void> => (received.includes(text) ? Promise.resolve() : new Promise((resolve) => waiters.push({ text, resolve })));
  try {
    await seen('* OK');
    socket.write('a1 LOGIN alice@example.org secret\r\na2 SELECT INBOX\r\n');
    await seen('a2 OK');
    const storing = new Promise<void>((resolve) => (storeStarted = resolve));
    socket.write(`${first}\r\ns1 STORE 1 +FLAGS (\\Seen)\r\n`);
    await storing;
    const fetchAnswered = await Promise.race([seen(answered).then(() => true), new Promise<boolean>((r) => setTimeout(() => r(false), 10_000).unref())]); // the STORE stays held until release()
    assert.ok(fetchAnswered, `${first} answered while the STORE is in progress; received: ${JSON.stringify(received)}`);
    assert.ok(!received.includes('s1 OK'), 'the STORE is not answered before its write completed');
    release?.();
    await seen('s1 OK');
    assert.ok(received.indexOf(answered) < received.indexOf('s1 OK'));
  } finally {
    socket.destroy();
  }
}
