/**
 * The mailbox most engine tests start from: alice@example.org with two INBOX messages, a plain one
 * (seen) and a multipart one, on a fresh memory backend.
 */
import assert from 'node:assert/strict';
import { MemoryBackend, TestClient, type MemoryAccount } from './memory-backend.ts';

export const SIMPLE = 'From: Bob <bob@example.net>\r\nTo: alice@example.org\r\nSubject: Hello there\r\nDate: Tue, 02 Jan 2024 03:04:05 +0000\r\nMessage-ID: <1@example.net>\r\n\r\nFirst line\r\nSecond line\r\n';
export const MULTI =
  'From: carol@example.com\r\nSubject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?=\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary="b1"\r\n\r\n' +
  'preamble\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nplain part\r\n--b1\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nSGVsbG8gYmluYXJ5\r\n--b1--\r\n';

export interface TwoMessages {
  backend: MemoryBackend;
  alice: MemoryAccount;
  /** A client logged in as alice with INBOX selected (read-write). */
  selected(): Promise<TestClient>;
  /** A client logged in as alice, nothing selected. */
  loggedIn(): Promise<TestClient>;
}

export function twoMessages(): TwoMessages {
  const backend = new MemoryBackend();
  const alice = backend.addUser('alice@example.org', 'secret');
  alice.deliver('INBOX', SIMPLE, { flags: ['\\Seen'] });
  alice.deliver('INBOX', MULTI);
  return {
    backend,
    alice,
    async selected() {
      const c = new TestClient(backend);
      await c.greet();
      await c.login();
      const r = await c.send('s SELECT INBOX\r\n');
      assert.match(r, /s OK \[READ-WRITE\]/);
      return c;
    },
    async loggedIn() {
      const c = new TestClient(backend);
      await c.login();
      return c;
    },
  };
}
