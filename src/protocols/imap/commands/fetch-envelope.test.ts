import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { MemoryBackend, TestClient } from '../testing/memory-backend.ts';

const MESSAGE = (n: number): string => `From: Bob <bob@example.net>\r\nSubject: message ${n}\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\n\r\nbody ${n}\r\n`;

describe('IMAP FETCH ENVELOPE with an envelope cache', () => {
  it('answers from the cache what it parsed before, without reading the message again', async () => {
    const backend = new MemoryBackend();
    const alice = backend.addUser('alice@example.org', 'secret');
    for (let i = 1; i <= 3; i++) alice.deliver('INBOX', MESSAGE(i));
    const plain = new TestClient(backend);
    await plain.login();
    await plain.send('s SELECT INBOX\r\n');
    const uncached = await plain.send('f FETCH 1:* (UID ENVELOPE)\r\n');
    const cache = new Map<string, string>();
    alice.envelopes = { get: (k) => cache.get(k), set: (k, v) => void cache.set(k, v) };
    let reads = 0;
    const read = alice.readMessage.bind(alice);
    alice.readMessage = async (...args) => {
      reads++;
      return read(...args);
    };
    const c = new TestClient(backend);
    await c.login();
    await c.send('s SELECT INBOX\r\n');
    assert.equal(await c.send('f FETCH 1:* (UID ENVELOPE)\r\n'), uncached);
    assert.equal(reads, 3);
    assert.equal(cache.size, 3);
    assert.equal(await c.send('f FETCH 1:* (UID ENVELOPE)\r\n'), uncached);
    assert.equal(reads, 3, 'the second FETCH read no message');
    // Other items that need the message still read it.
    await c.send('g FETCH 1 (ENVELOPE BODY.PEEK[TEXT])\r\n');
    assert.equal(reads, 4);
  });

  it('never answers a re-created mailbox with the envelopes of the one before (UIDVALIDITY is in the key)', async () => {
    const backend = new MemoryBackend();
    const alice = backend.addUser('alice@example.org', 'secret');
    const cache = new Map<string, string>();
    alice.envelopes = { get: (k) => cache.get(k), set: (k, v) => void cache.set(k, v) };
    const c = new TestClient(backend);
    await c.login();
    await c.send('c CREATE Box\r\n');
    alice.deliver('Box', MESSAGE(1));
    await c.send('s SELECT Box\r\n');
    assert.match(await c.send('f FETCH 1 ENVELOPE\r\n'), /"message 1"/);
    await c.send('u UNSELECT\r\n');
    await c.send('d DELETE Box\r\n');
    await c.send('c CREATE Box\r\n');
    alice.deliver('Box', MESSAGE(2));
    await c.send('s SELECT Box\r\n');
    assert.match(await c.send('f FETCH 1 ENVELOPE\r\n'), /"message 2"/);
  });
});
