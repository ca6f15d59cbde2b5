import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { MemoryBackend, TestClient } from './testing/memory-backend.ts';

const WORDS = ['FETCH', 'UID', 'STORE', 'SEARCH', 'SELECT', 'LIST', '1:*', '*', '$', '(', ')', '[', ']', '"', '\\', 'BODY[', 'BODY.PEEK[1.2.HEADER.FIELDS', '<0.5>', 'INBOX', 'OR', 'NOT', '+FLAGS', '\\Seen', 'RETURN', 'CHARSET', 'IDLE', 'DONE', 'AUTHENTICATE', 'APPEND', 'ENABLE', 'QRESYNC', ' ', '  ', '\t', 'é', '\x00'];

async function selected(): Promise<TestClient> {
  const backend = new MemoryBackend();
  const a = backend.addUser('alice@example.org', 'secret');
  a.deliver('INBOX', 'Subject: a\r\nContent-Type: multipart/mixed; boundary=x\r\n\r\n--x\r\n\r\none\r\n--x--\r\n');
  a.deliver('INBOX', 'Subject: b\r\n\r\ntwo\r\n');
  const c = new TestClient(backend);
  await c.login();
  await c.send('s SELECT INBOX\r\n');
  return c;
}

describe('IMAP session fuzzing', () => {
  it('answers any token soup with well-formed responses and keeps serving', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.array(fc.constantFrom(...WORDS), { maxLength: 12 }), { minLength: 1, maxLength: 6 }), async (lines) => {
        const c = await selected();
        const text = lines.map((l) => `t ${l.join('')}`).join('\r\n') + '\r\n';
        const out = await c.send(text);
        for (const line of out.split('\r\n').filter((l) => l !== '')) assert.match(line, /^(\*|\+|t|L1|s|[^ ]*) /s);
        // Leave IDLE / AUTHENTICATE if the soup entered them, then check the session still answers.
        await c.send('DONE\r\n*\r\n');
        const noop = await c.send('z NOOP\r\n');
        assert.match(noop, /z (OK|BAD)/);
      }),
      { numRuns: 200 },
    );
  });

  it('never throws on arbitrary bytes', async () => {
    await fc.assert(
      fc.asyncProperty(fc.uint8Array({ maxLength: 300 }), async (bytes) => {
        const c = await selected();
        await c.send(Buffer.from(bytes));
        await c.send(Buffer.from('\r\n'));
      }),
      { numRuns: 300 },
    );
  });
});
